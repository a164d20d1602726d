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
    /// has ended, allowing `grace` for goroutines that are finishing.
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
        let deadline = clock.now + grace
        while true {
            let alive = GoroutineRegistry.shared.all().filter { scope.contains($0.scope) }
            if alive.isEmpty { return result }
            if clock.now >= deadline {
                let places = TaskPlaces.now()
                let now = Monotonic.coarseNow()
                throw GoroutineLeak(goroutines: alive.map {
                    GoroutineInfo($0, wait: $0.waitingFor, places: places, now: now)
                })
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
