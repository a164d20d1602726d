// gobench's entry point. It is top-level code, not `@main`, because the
// experimental global-executor route must be installed by a program's first
// statement: `-route global` measures that route, the default is the
// stable one (goroutines with GoRuntime as their executor preference).

import ArgumentParser
import GoConcurrency
#if canImport(Glibc)
import Glibc
#endif

let command: GoBench
do {
    command = try GoBench.parse()
} catch {
    GoBench.exit(withError: error)
}
if command.route == .globalExecutor {
    if let procs = command.procs {
        setenv("GOMAXPROCS", String(procs), 1)
    }
    GoRuntime.installAsGlobalExecutor()
}
do {
    try await command.execute()
} catch {
    GoBench.exit(withError: error)
}
