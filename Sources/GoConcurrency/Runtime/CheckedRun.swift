// A program run on a runtime of its own, whose deadlock or panic comes back
// to the caller as a thrown error instead of ending the process: the test
// side of Go's checkdead.

import Synchronization

extension GoRuntime {
    /// Runs `body` as the main goroutine of a new runtime with `processors`
    /// processors and returns what it returns, as a Go program's `main`.
    ///
    /// - Throws: ``Deadlock`` if every goroutine of that runtime blocks for
    ///   ever (the goroutines stay parked; the runtime is not reused);
    ///   ``GoroutinePanic`` if an error escapes one of its goroutines (the
    ///   main goroutine's own error is thrown as it is).
    ///
    /// Each call makes a runtime, and runtimes keep their threads for the
    /// life of the process: use it in tests and tools, not per request.
    public static func run<T: Sendable>(
        processors: Int = 1,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let runtime = GoRuntime(processors: processors)
        let outcome = Locked<CheckedContinuation<T, any Error>?>(nil)
        let finish: @Sendable (Result<T, any Error>) -> Void = { result in
            guard let continuation = outcome.withLock({ slot -> CheckedContinuation<T, any Error>? in
                defer { slot = nil }
                return slot
            }) else { return }
            runtime.deadlockHandler = nil
            continuation.resume(with: result)
        }
        return try await withCheckedThrowingContinuation { continuation in
            outcome.withLock { $0 = continuation }
            runtime.panicHandler = { panic in finish(.failure(panic)) }
            runtime.deadlockHandler = { deadlock in finish(.failure(deadlock)) }
            go(on: runtime, file: file, line: line) {
                do {
                    finish(.success(try await body()))
                } catch {
                    finish(.failure(error))
                }
            }
        }
    }
}
