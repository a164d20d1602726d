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
/// The goroutine is an unstructured Swift task whose executor preference is
/// the runtime, so it and the child tasks it makes run on the runtime's
/// processors.
///
/// - Important: As in Go, a goroutine cannot be cancelled from outside: `go`
///   returns no handle. That lets its blocking operations park without
///   installing a cancellation handler, which is a good part of what a
///   hand-off costs. Child tasks it starts are ordinary tasks and can be
///   cancelled as usual. To stop a goroutine, tell it so over a channel (or
///   close one), the way Go programs do.
///
/// An error escaping `body` is Go's unrecovered panic: it is printed with
/// where the goroutine was started and the program exits with status 2.
public func go(
    on runtime: GoRuntime = .shared,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> Void
) {
    let goroutine = Goroutine(startedAt: SourceLocation(fileID: file, line: line))
    GoroutineRegistry.shared.add(goroutine)
    let main: @Sendable () async -> Void = {
        goroutine.rootTask.store(TaskIdentity.current.bits, ordering: .relaxed)
        await Goroutine.$current.withValue(goroutine) {
            do {
                try await body()
            } catch {
                goroutinePanic(error, in: goroutine)
            }
        }
        goroutine.rootTask.store(0, ordering: .relaxed)
        GoroutineRegistry.shared.remove(goroutine)
    }
    if runtime.runsAsGlobalExecutor {
        Task.detached(operation: main)
    } else {
        Task(executorPreference: runtime, operation: main)
    }
}

func goroutinePanic(_ error: any Error, in goroutine: Goroutine) -> Never {
    let message = "panic: \(error)\n\ngoroutine \(goroutine.id), created at \(goroutine.startedAt)\n"
    var bytes = Array(message.utf8)
    _ = write(2, &bytes, bytes.count)
    exit(2)
}
