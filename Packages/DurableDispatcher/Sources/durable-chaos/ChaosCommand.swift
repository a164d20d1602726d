// durable-chaos: the durable dispatcher's chaos test. It fills a fresh
// schema with `chaos` jobs (half of them completing in one transaction with
// their effect, half writing their effect first), starts `durable-worker`
// processes on them, kills one of its own children with SIGKILL every few
// seconds and starts a replacement, restarts the database once in the
// middle, waits for the queue to drain, and then checks what the store
// promises (see ChaosVerification.swift), printing its counts. Exit status 1
// on any violation.
//
//     .ci/postgres start
//     durable-chaos --restart-command '.ci/postgres restart'
import ArgumentParser
import DurableDispatcher
import Foundation
import Logging
import PostgresNIO

@main
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-chaos",
        abstract: "Kill durable-worker processes (SIGKILL) and restart the database under a full queue; check that every job completed and count the duplicates.",
        discussion: """
            Every job must end completed; a transactional job's effect must exist exactly once; a plain \
            job's duplicated effect must come from an attempt that ran in a process killed here and was \
            rescued; no process that was not killed may lose a job to the rescue.
            """
    )

    @Option(help: "The database, postgres://user@host:port/database (default: $GC_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The schema to create (default: a fresh gc_chaos_<random>). Must not exist.")
    var schema: String?

    @Option(help: "Jobs to enqueue (half plain, half transactional).")
    var jobs = 20_000

    @Option(help: "Worker processes running at once.")
    var processes = 4

    @Option(help: "Workers (jobs at once) per process.")
    var workersPerProcess = 8

    @Option(help: "Milliseconds each job waits before its effect, MIN-MAX (uniform).")
    var jobMs = "50-150"

    @Option(help: "Seconds during which processes are killed.")
    var killForSeconds = 60.0

    @Option(help: "Seconds between two kills, MIN-MAX (uniform).")
    var killEvery = "2-3"

    @Option(help: "The random seed: jobs' durations, pauses between kills, which process (default: random; printed).")
    var seed: UInt64?

    @Option(help: "A shell command that restarts the database, run once in the middle of the kills (e.g. '.ci/postgres restart').")
    var restartCommand: String?

    @Flag(help: "Do not restart the database.")
    var noRestart = false

    @Option(help: "The durable-worker executable (default: the one beside this executable).")
    var workerBinary: String?

    @Option(help: "Seconds to wait, after the kills, for every job to be finished.")
    var timeout = 300.0

    @Option(help: "Where the workers' logs go (default: a new directory under the temporary directory).")
    var logDirectory: String?

    @Option(help: "The workers' --lock-grace-seconds.")
    var lockGraceSeconds = 3.0

    @Option(help: "The workers' --restart-allowance-seconds.")
    var restartAllowanceSeconds = 10.0

    @Option(help: "The workers' --lease-seconds.")
    var leaseSeconds = 30.0

    @Option(help: "The workers' --grace-seconds (at the final SIGTERM).")
    var graceSeconds = 5.0

    @Flag(help: "Keep the schema afterwards (it is dropped after a passing run, kept after a failing one).")
    var keepSchema = false

    func validate() throws {
        if let schema, schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) == nil {
            throw ValidationError("--schema must match [a-z_][a-z0-9_]{0,62}")
        }
        guard jobs > 0, processes > 0, workersPerProcess > 0, killForSeconds >= 0, timeout > 0 else {
            throw ValidationError("--jobs, --processes, --workers-per-process and --timeout must be positive")
        }
        guard let ms = Self.range(jobMs), ms.lowerBound >= 0 else {
            throw ValidationError("--job-ms takes MIN-MAX milliseconds, got \(jobMs)")
        }
        _ = ms
        guard let every = Self.range(killEvery), every.lowerBound > 0 else {
            throw ValidationError("--kill-every takes MIN-MAX seconds above 0, got \(killEvery)")
        }
        _ = every
        if restartCommand == nil, !noRestart {
            throw ValidationError("pass --restart-command (a shell command restarting the database) or --no-restart")
        }
        if restartCommand != nil, noRestart {
            throw ValidationError("--restart-command and --no-restart exclude each other")
        }
    }

    /// `MIN-MAX` or a single number, as a closed range.
    static func range(_ text: String) -> ClosedRange<Double>? {
        let parts = text.split(separator: "-", maxSplits: 1).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        switch parts.count {
        case 1: return parts[0].map { $0...$0 }
        case 2:
            guard let low = parts[0], let high = parts[1], low <= high else { return nil }
            return low...high
        default: return nil
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .error
            return handler
        }
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["GC_DATABASE_URL"], !url.isEmpty else {
            throw ValidationError("no database: pass --database-url or set GC_DATABASE_URL")
        }
        let seed = self.seed ?? UInt64.random(in: 0...UInt64.max)
        let schema = self.schema ?? "gc_chaos_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let binary = try workerExecutable()
        let logs = URL(fileURLWithPath: logDirectory ?? NSTemporaryDirectory()).appendingPathComponent(
            logDirectory == nil ? "durable-chaos-\(schema)" : "")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        let plan = ChaosPlan(
            databaseURL: url, schema: schema, seed: seed, jobs: jobs, processes: processes,
            workersPerProcess: workersPerProcess, jobMs: Self.range(jobMs)!, killFor: .seconds(killForSeconds),
            killEvery: Self.range(killEvery)!, restartCommand: noRestart ? nil : restartCommand,
            workerBinary: binary, drainTimeout: .seconds(timeout), logDirectory: logs,
            workerArguments: [
                "--database-url", url, "--schema", schema, "--queue", "chaos=\(workersPerProcess)",
                "--lock-grace-seconds", "\(lockGraceSeconds)", "--restart-allowance-seconds", "\(restartAllowanceSeconds)",
                "--lease-seconds", "\(leaseSeconds)", "--grace-seconds", "\(graceSeconds)",
            ],
            grace: .seconds(graceSeconds), keepSchema: keepSchema)
        let passed = try await ChaosRun(plan: plan).run()
        if !passed {
            throw ExitCode(1)
        }
    }

    func workerExecutable() throws -> URL {
        let path: String
        if let workerBinary {
            path = workerBinary
        } else {
            let own = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? Bundle.main.executablePath ?? CommandLine.arguments[0]
            path = URL(fileURLWithPath: own).deletingLastPathComponent().appendingPathComponent("durable-worker").path
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw ValidationError("no durable-worker executable at \(path) (build it, or pass --worker-binary)")
        }
        return URL(fileURLWithPath: path)
    }
}
