// Plays an example in a child process: the tour's own executable, started
// with `--program <name>`, which runs just that Go program as its main
// goroutine. The deadlock examples need it: the runtime ends a deadlocked
// program with exit status 2, as Go does, and the tour must go on.

import Foundation
import GoConcurrency

/// What a child process printed, and how it ended.
struct ChildOutcome: Sendable {
    let standardOutput: String
    let standardError: String
    let status: Int32
}

enum ChildProcess {
    /// Runs `tour --program <name>` with the same time scale and route, and
    /// waits for it to end. Waiting blocks a thread, so it is a blocking call
    /// (the tour's other goroutines keep their processor).
    static func play(_ example: Example, time: TourTime, route: GoRuntime.Route) throws -> ChildOutcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath)
        process.arguments = ["--program", example.name, "--time-scale", "\(time.scale)",
                             "--route", route == .globalExecutor ? "global" : "preference"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        return try blocking {
            try process.run()
            // Read both pipes to the end before waiting, so a full pipe cannot
            // stall the child.
            let errorData = Guarded(Data())
            let readerDone = DispatchSemaphore(value: 0)
            Thread {
                let data = errors.fileHandleForReading.readDataToEndOfFile()
                errorData.withLock { $0 = data }
                readerDone.signal()
            }.start()
            let outputData = output.fileHandleForReading.readDataToEndOfFile()
            readerDone.wait()
            process.waitUntilExit()
            return ChildOutcome(
                standardOutput: String(decoding: outputData, as: UTF8.self),
                standardError: String(decoding: errorData.withLock { $0 }, as: UTF8.self),
                status: process.terminationStatus)
        }
    }

    /// This executable's path.
    private static var executablePath: String {
        #if os(Linux)
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return path
        }
        #endif
        return CommandLine.arguments[0]
    }

    /// Whether the child ended as Go ends the same program: the same standard
    /// output, Go's message first on standard error, goroutines waiting for
    /// the same reasons, and exit status 2.
    static func endsLikeGo(_ outcome: ChildOutcome, goOutput: String) -> Bool {
        let goParts = goOutput.components(separatedBy: Deadlock.message)
        guard goParts.count == 2 else { return false }
        return outcome.status == 2
            && outcome.standardOutput == goParts[0]
            && outcome.standardError.hasPrefix(Deadlock.message + "\n")
            && waitReasons(in: outcome.standardError) == waitReasons(in: goParts[1])
    }

    /// The bracketed states of a dump's headers: `goroutine 1 [chan send]:`.
    static func waitReasons(in dump: String) -> [String] {
        dump.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("goroutine "), line.hasSuffix("]:"),
                  let open = line.firstIndex(of: "[") else { return nil }
            return String(line[line.index(after: open)..<line.index(line.endIndex, offsetBy: -2)])
        }
    }
}
