// Leak checks for tests (what uber-go/goleak gives Go users): no goroutine
// started inside a scope may outlive it.

/// Goroutines started inside a ``GoRuntime/checkingLeaks(grace:_:)`` scope
/// that were still alive after it, with what each waits for and where it was
/// started.
public struct GoroutineLeak: Error, Sendable, CustomStringConvertible {
    public let goroutines: [GoroutineInfo]

    public var description: String {
        "\(goroutines.count) goroutine\(goroutines.count == 1 ? "" : "s") leaked:\n\n\(GoroutineDump(goroutines: goroutines))"
    }
}

extension GoRuntime {
    /// Runs `body` and then checks that every goroutine started inside it
    /// (by `body`, or by the goroutines and tasks it started, at any depth)
    /// has ended, allowing `grace` for goroutines that are finishing (and
    /// more, up to two minutes, while any of them is still running or
    /// queued to run: it is not stuck).
    ///
    ///     @Test func pipelineStopsCleanly() async throws {
    ///         try await GoRuntime.checkingLeaks {
    ///             let numbers = generator(...)
    ///             _ = try await numbers.receive()
    ///         }   // throws GoroutineLeak if the generator's goroutine lives on
    ///     }
    ///
    /// Goroutines started outside the scope, even while it runs, are not
    /// counted, so checks in tests that run in parallel do not see each other.
    ///
    /// - Throws: ``GoroutineLeak`` listing those still alive, or what `body`
    ///   throws.
    public static func checkingLeaks<T>(
        grace: Duration = .seconds(2),
        _ body: () async throws -> T
    ) async throws -> T {
        let scope = GoroutineScope(parent: GoroutineScope.current)
        let result = try await GoroutineScope.$current.withValue(scope) {
            try await body()
        }
        let clock = ContinuousClock()
        var deadline = clock.now + grace
        // A goroutine still running, or queued to run, is finishing, not
        // stuck: while one is, the grace starts again, up to this bound, so
        // that a machine too loaded to have run it yet (a sanitizer's run,
        // every suite at once) does not make it a leak. One that spins for
        // ever is reported at the bound.
        let bound = clock.now + grace + .seconds(120)
        while true {
            let alive = GoroutineRegistry.all().filter { scope.contains($0.scope) }
            if alive.isEmpty { return result }
            if clock.now >= deadline {
                let places = TaskPlaces.now()
                let now = Monotonic.coarseNow()
                let leaked = alive.map {
                    GoroutineInfo($0, wait: $0.waitingFor, places: places, now: now)
                }
                let finishing = leaked.contains { $0.state == .running || $0.state == .runnable }
                if !finishing || clock.now >= bound {
                    throw GoroutineLeak(goroutines: leaked)
                }
                deadline = clock.now + grace
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
