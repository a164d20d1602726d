// `go { }`: start a goroutine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` as a new goroutine on the shared ``GoRuntime`` (Go: `go f()`).
///
/// The goroutine is an unstructured Swift task whose executor preference is
/// the runtime, so it and the child tasks it makes run on the runtime's
/// processors. An error escaping `body` is Go's unrecovered panic: it is
/// printed with where the goroutine was started and the program exits with
/// status 2. A goroutine ending by `CancellationError` just ends.
@discardableResult
public func go(
    on runtime: GoRuntime = .shared,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> Void
) -> Task<Void, Never> {
    let location = SourceLocation(fileID: file, line: line)
    return Task(executorPreference: runtime) {
        do {
            try await body()
        } catch is CancellationError {
        } catch {
            goroutinePanic(error, startedAt: location)
        }
    }
}

func goroutinePanic(_ error: any Error, startedAt location: SourceLocation) -> Never {
    let message = "panic: \(error)\n\ngoroutine created at \(location)\n"
    var bytes = Array(message.utf8)
    _ = write(2, &bytes, bytes.count)
    exit(2)
}
