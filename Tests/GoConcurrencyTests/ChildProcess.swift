// Child processes for the tests (the tour, run on each route), started with
// posix_spawn rather than Foundation's `Process`. On Linux `Process.run()`
// over-reads directory entries while it lists /proc/self/fd to find the
// descriptors to close, and crashes now and then (a fix was merged upstream
// in swift-corelibs-foundation after Swift 6.3.1): most often in a process
// with many descriptors open, as this suite's network tests have. Each
// stream goes to a file, so a child that writes much never blocks on a full
// pipe, and both are read once it has ended.

import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ChildProcessFailure: Error, CustomStringConvertible {
    let description: String
}

/// A child process: its id, and where its output and errors go.
struct SpawnedChild {
    let pid: pid_t
    let outputPath: String
    let errorsPath: String?

    /// Starts `path` with `arguments`; `environment` replaces the child's
    /// whole environment when given (this process's otherwise). Its output
    /// goes to `outputPath`, its errors to `errorsPath` (or to the output
    /// file too, when nil).
    static func start(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                      outputPath: String, errorsPath: String? = nil) throws -> SpawnedChild {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let flags = O_WRONLY | O_CREAT | O_TRUNC
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, flags, 0o600)
        if let errorsPath {
            posix_spawn_file_actions_addopen(&actions, 2, errorsPath, flags, 0o600)
        } else {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let variables = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { variables.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, path, &actions, nil, argv, variables)
        if result != 0 {
            throw ChildProcessFailure(description: "posix_spawn \(path): \(String(cString: strerror(result)))")
        }
        return SpawnedChild(pid: pid, outputPath: outputPath, errorsPath: errorsPath)
    }

    /// Waits for it to end (blocking the calling thread: call it through
    /// `onThread`): its exit status, or the number of the signal that ended
    /// it, as `Process.terminationStatus` gives them; -1 if it cannot be
    /// waited for.
    func waitForExit() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : signal
    }
}

/// Runs `path` with `arguments` (and `environment` added to this process's
/// own) to its end, on a thread of its own: its status, output and errors
/// (`mergingErrors`: the errors in the output, in the order written).
func runChild(_ path: String, _ arguments: [String], environment: [String: String] = [:],
              mergingErrors: Bool = false) async throws -> ChildRun {
    try await onThread {
        let directory = FileManager.default.temporaryDirectory.path
        let name = "goconcurrency-child-\(UUID().uuidString)"
        let outputPath = "\(directory)/\(name).out"
        let errorsPath = mergingErrors ? nil : "\(directory)/\(name).err"
        defer {
            unlink(outputPath)
            if let errorsPath { unlink(errorsPath) }
        }
        let child = try SpawnedChild.start(
            path, arguments,
            environment: ProcessInfo.processInfo.environment.merging(environment) { $1 },
            outputPath: outputPath, errorsPath: errorsPath)
        let status = child.waitForExit()
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return ChildRun(status: status, output: read(outputPath), errors: errorsPath.map(read) ?? "")
    }
}
