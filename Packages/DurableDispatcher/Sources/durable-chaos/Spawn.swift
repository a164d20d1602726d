// Spawn: starting a child process and learning how it ended, with
// posix_spawn and waitpid rather than Foundation's `Process`. Two reasons,
// both seen in this harness: `Process` on Linux learns of a child's end
// through a socket the child inherits, so when the child starts a daemon
// (the restart command's PostgreSQL server) that keeps it, the end is never
// reported; and every descriptor of the harness left open across the spawn
// would live on in that daemon. Here the child gets /dev/null for input, a
// log file for its output, default signal dispositions, and nothing else.
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a child process ended.
struct ChildExit: Sendable {
    let status: Int32
    /// Killed by a signal (`status` is the signal), or exited.
    let bySignal: Bool
    let at: ContinuousClock.Instant

    var description: String { bySignal ? "signal \(status)" : "exit \(status)" }
}

enum Spawn {
    /// Starts `executable` with `arguments`, its stdout and stderr appended
    /// to `log` (created if missing); returns its pid.
    static func start(_ executable: String, _ arguments: [String], log: String) throws -> pid_t {
        #if os(Linux)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        // Every other descriptor closed in the child (Glibc's module does
        // not show posix_spawn_file_actions_addclosefrom_np): those open now,
        // from /proc/self/fd; one opened meanwhile by another thread is
        // close-on-exec (NIO's are) or closed by the child anyway without
        // harm (glibc ignores a close action's EBADF).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? [] {
            if let fd = Int32(name), fd > 2 {
                posix_spawn_file_actions_addclose(&actions, fd)
            }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2] {
            sigaddset(&defaults, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([executable] + arguments).map { strdup($0) }
        let environment = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") }
        defer {
            argv.forEach { free($0) }
            environment.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = (argv + [nil]).withUnsafeBufferPointer { argv in
            (environment + [nil]).withUnsafeBufferPointer { environment in
                posix_spawn(&pid, executable, &actions, &attributes, argv.baseAddress!, environment.baseAddress!)
            }
        }
        guard result == 0 else {
            throw ChaosError("cannot start \(executable): \(String(cString: strerror(result)))")
        }
        return pid
        #else
        throw ChaosError("durable-chaos starts its children with Linux's posix_spawn; it runs on Linux only")
        #endif
    }

    /// How `pid` (a child of this process) ended, or nil while it runs.
    /// Reaps it: call once it has ended, never again.
    static func poll(_ pid: pid_t) -> ChildExit? {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        let signal = status & 0x7F
        if signal == 0 {
            return ChildExit(status: (status >> 8) & 0xFF, bySignal: false, at: .now)
        }
        return ChildExit(status: signal, bySignal: true, at: .now)
    }

    /// kill(2).
    static func signal(_ signal: Int32, to pid: pid_t) {
        _ = kill(pid, signal)
    }

    /// Runs `command` with /bin/sh, its output appended to `log`; returns
    /// how it ended.
    static func run(shell command: String, log: String) async throws -> ChildExit {
        let pid = try start("/bin/sh", ["-c", command], log: log)
        while true {
            if let exit = poll(pid) { return exit }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}
