// Go's `func main()`: a program's main goroutine, whose return ends the program.

import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension GoRuntime {
    /// Runs `body` as the program's main goroutine on ``shared`` and ends the
    /// process when it returns, as Go ends a program when `main` returns, even
    /// if other goroutines are still running. An error escaping `body` is an
    /// unrecovered panic: it is printed and the process exits with status 2.
    /// When every goroutine blocks for ever, the program prints Go's "fatal
    /// error: all goroutines are asleep - deadlock!" and a goroutine dump and
    /// exits with status 2 (see ``deadlockHandler``); SIGQUIT (Ctrl-\) dumps
    /// every goroutine and exits with status 2.
    ///
    /// Call it from a program's top-level code (`main.swift`):
    ///
    ///     import GoConcurrency
    ///
    ///     GoRuntime.main {
    ///         let c = Chan<String>()
    ///         go { try await c.send("ping") }
    ///         print(try await c.receive()!)
    ///     }
    ///
    /// The main thread keeps serving the main actor meanwhile. With
    /// `route: .globalExecutor` the runtime is first installed as Swift's
    /// global executor (see ``installAsGlobalExecutor()``); `main` must then
    /// be the program's first statement.
    ///
    /// - Precondition: called from the program's top-level code, on the main
    ///   thread, outside any task. From a task (an `async` function, a
    ///   goroutine, a test), it ends the program with "fatal error:
    ///   GoRuntime.main called from inside a task": there, start goroutines
    ///   with `go { }`, or run a program and wait for it with
    ///   ``run(processors:file:line:_:)``.
    public static func main(
        route: Route = .executorPreference,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable () async throws -> Void
    ) -> Never {
        if withUnsafeCurrentTask(body: { $0 != nil }) {
            goFatal("GoRuntime.main called from inside a task", detail: """
                GoRuntime.main runs the program's main goroutine and serves the main thread until the \
                program ends: call it from top-level code (main.swift), not from async code. From a task, \
                start goroutines with go { }, or run them and wait with try await GoRuntime.run { }.
                """)
        }
        if route == .globalExecutor {
            installAsGlobalExecutor()
        }
        shared.deadlockHandler = exitOnDeadlock
        dumpGoroutinesOnQuitSignal()
        go(on: .shared, file: file, line: line) {
            try await body()
            exitProgram(0)
        }
        dispatchMain()
    }

    /// Ends the process with `status` once what it printed is written out.
    static func exitProgram(_ status: Int32) -> Never {
        fflush(nil)
        exit(status)
    }
}
