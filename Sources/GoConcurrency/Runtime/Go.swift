// `go { }`: start a goroutine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` as a new goroutine on a ``GoRuntime`` (Go: `go f()`).
///
/// The goroutine is a detached Swift task whose executor preference is the
/// runtime, so it and the child tasks it makes run on the runtime's
/// processors. Like a Go goroutine, it inherits nothing from the code that
/// starts it: no task-local values (pass what it needs, as Go code passes a
/// `context.Context`), no priority, no actor isolation. Without `on`, it runs
/// on the runtime of the goroutine that starts it, or on ``GoRuntime/shared``
/// when a plain task or thread starts it.
///
/// - Important: As in Go, a goroutine cannot be cancelled from outside: `go`
///   returns no handle. That lets its blocking operations park without
///   installing a cancellation handler, which is a good part of what a
///   hand-off costs. Child tasks it starts are ordinary tasks and can be
///   cancelled as usual. To stop a goroutine, tell it so over a channel (or
///   close one), the way Go programs do.
///
/// An error escaping `body` is Go's unrecovered panic: unless a
/// ``GoRuntime/panicHandler`` takes it, it is printed with the goroutine's id
/// and where it was started, and the program exits with status 2.
public func go(
    on chosen: GoRuntime? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> Void
) {
    let starter = Goroutine.current
    let runtime = chosen ?? starter?.runtime ?? .shared
    if let starter, starter.runtimeID != runtime.id {
        // Each runtime's deadlock check watches its own goroutines only; the
        // two now share objects, so neither can tell that the other will not act.
        starter.runtime.openToOutside()
        runtime.openToOutside()
    }
    let goroutine = Goroutine(startedAt: SourceLocation(fileID: file, line: line), runtime: runtime)
    // Inside a leak-check scope, or started by a goroutine (or a plain task of
    // one) that was: goroutines' tasks inherit no task-local values, so the
    // starter's record carries the scope on.
    goroutine.leakScope = LeakScope.current ?? starter?.leakScope
    GoroutineRegistry.shared.add(goroutine)
    // Detached: a goroutine inherits nothing from the code that starts it, as
    // in Go — no task-local values (copying them cost a spawn four mallocs),
    // no priority, no actor. In particular not its starter's goroutine handle,
    // which counts the starter's plain tasks.
    //
    // The closure literals are written at each call, not passed as one closure
    // value: a value would be wrapped in reabstraction thunks for the task's
    // generic operation type, four more frames in every goroutine's task
    // allocator (about 200 bytes of its first 1 KB slab).
    // And the task's failure type is `any Error` though the operation never
    // throws: the standard library wraps a `Never`-failing operation in one
    // more thunk (two frames).
    if runtime.runsAsGlobalExecutor {
        Task<Void, any Error>.detached { await runGoroutine(goroutine, body) }
    } else {
        Task<Void, any Error>.detached(executorPreference: runtime) { await runGoroutine(goroutine, body) }
    }
}

/// The root of a goroutine's task: binds its record, runs `body`, and
/// unregisters it.
@inline(__always)
private func runGoroutine(_ goroutine: Goroutine, _ body: @Sendable () async throws -> Void) async {
    goroutine.rootTask.store(TaskIdentity.current.bits, ordering: .relaxed)
    // Made here, so that only this task (this frame and the task-local)
    // holds it when its baseline is taken: a copy held by `go`'s caller
    // could be gone later and hide a live plain task.
    let handle = GoroutineHandle(goroutine)
    goroutine.adopt(handle)
    let address = UInt(bitPattern: Unmanaged.passUnretained(goroutine).toOpaque())
    await Goroutine.$handle.withValue(handle) {
        await Goroutine.$recordAddress.withValue(address) {
            goroutine.takeBaseline()
            do {
                try await body()
            } catch {
                GoPanic.raise(error, in: goroutine)
            }
            goroutine.finished()
        }
    }
    goroutine.rootTask.store(0, ordering: .relaxed)
    // The handle outlives the registration: the deadlock check reads it
    // through registered records.
    withExtendedLifetime(handle) {
        GoroutineRegistry.shared.remove(goroutine)
    }
}
