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
    /// global executor (experimental); `main` must then be the program's first
    /// statement.
    public static func main(
        route: Route = .executorPreference,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable () async throws -> Void
    ) -> Never {
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
