// ChaosRun: one run of the chaos test, step by step — a fresh schema and its
// effects table, the jobs enqueued in one transaction, the worker processes
// started, the kills (and the database restart in their middle), the drain,
// the SIGTERM, then the verification and the printed summary.
import DurableDispatcher
import Foundation
import Logging
import PostgresNIO
import Synchronization

/// What a run does, fixed before it starts.
struct ChaosPlan: Sendable {
    let databaseURL: String
    let schema: String
    let seed: UInt64
    let jobs: Int
    let processes: Int
    let workersPerProcess: Int
    let jobMs: ClosedRange<Double>
    let killFor: Duration
    let killEvery: ClosedRange<Double>
    let restartCommand: String?
    let workerBinary: URL
    let drainTimeout: Duration
    let logDirectory: URL
    let workerArguments: [String]
    let grace: Duration
    let keepSchema: Bool
}

/// The `chaos` job's arguments, as durable-worker's BuiltInJobs reads them.
struct ChaosJobArgs: Codable, Sendable {
    var n: Int
    var ms: Int
    var transactional: Bool
}

/// One SIGKILL.
struct KillRecord: Sendable {
    let number: Int
    let at: ContinuousClock.Instant
    let slot: Int
    let pid: Int32
    /// The worker ids seen registered under the pid (filled in at the end
    /// from every snapshot and every effect row).
    var workers: Set<Int32>
    let exit: ChildExit?
    let replacement: Int32?
}

/// The database restart.
struct RestartRecord: Sendable {
    let began: ContinuousClock.Instant
    let ended: ContinuousClock.Instant
    let status: Int32
    let output: String
}

/// Which worker ids each worker process registered under, from
/// `gc_workers` polled while the run lasts (a killed process's row stays
/// until the rescue deletes it, seconds after the kill).
final class WorkerIDsByPid: Sendable {
    private let ids = Mutex<[Int32: Set<Int32>]>([:])

    func record(_ rows: [(Int32, Int32)]) {
        ids.withLock { ids in
            for (id, pid) in rows { ids[pid, default: []].insert(id) }
        }
    }

    func ids(of pid: Int32) -> Set<Int32> { ids.withLock { $0[pid] ?? [] } }


}

struct ChaosRun {
    let plan: ChaosPlan
    let clock = ContinuousClock()
    let began = ContinuousClock.now
    let statements: ChaosStatements

    init(plan: ChaosPlan) {
        self.plan = plan
        self.statements = ChaosStatements(schema: plan.schema)
    }

    func seconds(_ instant: ContinuousClock.Instant) -> String {
        String(format: "%.1f s", (instant - began).seconds)
    }

    func say(_ line: String) {
        print("[\(seconds(.now))] \(line)")
        fflush(nil)  // every output stream: stdout is a C global Swift 6 refuses
    }

    /// Runs the test; true when no violation was found.
    func run() async throws -> Bool {
        guard var configuration = PostgresClient.Configuration(databaseURL: plan.databaseURL) else {
            throw ChaosError("not a usable database URL: \(plan.databaseURL)")
        }
        configuration.options.maximumConnections = 4
        configuration.options.additionalStartupParameters = [
            ("application_name", "durable-chaos"), ("statement_timeout", "120s"),
        ]
        var logger = Logger(label: "durable-chaos")
        logger.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let store = JobStore(
            client: client, configuration: StoreConfiguration(schema: plan.schema, notifyOnEnqueue: false), logger: logger)
        let children = WorkerChildren(
            binary: plan.workerBinary, arguments: plan.workerArguments, logDirectory: plan.logDirectory,
            slots: plan.processes)
        // Ctrl-C or a CI timeout's SIGTERM: no child outlives the harness.
        let signalSources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                children.killAll()
                print("durable-chaos: signal \(number): worker processes killed, schema \(plan.schema) kept")
                Foundation.exit(128 + number)
            }
            source.resume()
            return source
        }
        defer { signalSources.forEach { $0.cancel() } }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            do {
                return try await run(store: store, children: children)
            } catch {
                // No child outlives a failing harness.
                children.killAll()
                throw error
            }
        }
    }

    func run(store: JobStore, children: WorkerChildren) async throws -> Bool {
        var random = ChaosRandom(seed: plan.seed)
        let half = plan.jobs / 2
        say("""
            durable-chaos: seed \(plan.seed), schema \(plan.schema), \(plan.jobs) jobs (\(plan.jobs - half) plain, \
            \(half) transactional, \(Int(plan.jobMs.lowerBound))-\(Int(plan.jobMs.upperBound)) ms each), \
            \(plan.processes) processes x \(plan.workersPerProcess) workers, a kill every \
            \(plan.killEvery.lowerBound)-\(plan.killEvery.upperBound) s for \(plan.killFor.seconds) s, \
            restart: \(plan.restartCommand ?? "none"); logs in \(plan.logDirectory.path)
            """)

        // The schema, the effects table, the jobs.
        try await store.migrate()
        try await store.client.query(statements.createEffects, logger: store.logger)
        let args = (0..<plan.jobs).map { n in
            ChaosJobArgs(
                n: n, ms: Int(Double.random(in: plan.jobMs, using: &random).rounded()), transactional: n % 2 == 1)
        }
        let enqueueBegan = clock.now
        let options = EnqueueOptions(queue: "chaos")
        let batch = try args.map { try NewJob(kind: "chaos", args: $0, options: options) }
        let ids = try await store.enqueue(batch: batch)
        guard ids.count == plan.jobs else {
            throw ChaosError("the batch enqueue returned \(ids.count) ids for \(plan.jobs) jobs")
        }
        say("enqueued \(plan.jobs) jobs (one batch, one transaction) in \(String(format: "%.1f", (clock.now - enqueueBegan).seconds)) s")

        // The worker processes, and who they are in gc_workers.
        let workerIDs = WorkerIDsByPid()
        let watcher = Task {
            while !Task.isCancelled {
                if let rows = try? await workerRows(store) { workerIDs.record(rows) }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        defer { watcher.cancel() }
        for slot in 0..<plan.processes {
            try children.start(slot: slot)
        }
        let startDeadline = clock.now + .seconds(60)
        while (0..<plan.processes).contains(where: { slot in
            children.child(slot: slot).map { workerIDs.ids(of: $0.pid).isEmpty } ?? true
        }) {
            if let (child, exit) = children.unexpectedExits.first {
                throw ChaosError("worker process \(child.pid) ended at start (\(exit.description)); its log: \(child.log.path)")
            }
            guard clock.now < startDeadline else {
                throw ChaosError("the worker processes did not all register within 60 s; logs in \(plan.logDirectory.path)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        let workStarted = clock.now
        say("\(plan.processes) worker processes registered: pids \(children.started.map { String($0.pid) }.joined(separator: " "))")
        let progress = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(10))
                if Task.isCancelled { break }
                if let p = try? await self.progress(store) {
                    say("progress: \(p.completed) completed, \(p.running) running, \(p.pending) pending")
                }
            }
        }
        defer { progress.cancel() }

        // The kills, and the restart in their middle.
        var kills: [KillRecord] = []
        var notes: [String] = []
        let killEnd = clock.now + plan.killFor
        let restartAt = clock.now + plan.killFor / 2
        var restartTask: Task<RestartRecord, Never>?
        var nextKill = clock.now + .seconds(Double.random(in: plan.killEvery, using: &random))
        while clock.now < killEnd {
            notes += respawnEndedOnTheirOwn(children)
            if let command = plan.restartCommand, restartTask == nil, clock.now >= restartAt {
                say("restarting the database: \(command)")
                restartTask = Task { await restartDatabase(command) }
            }
            if clock.now >= nextKill {
                let slot = Int.random(in: 0..<plan.processes, using: &random)
                if let child = children.kill(slot: slot) {
                    let at = clock.now
                    let exit = await children.waitForExit(child.pid, timeout: .seconds(10))
                    let replacement = try? children.start(slot: slot)
                    let record = KillRecord(
                        number: kills.count + 1, at: at, slot: slot, pid: child.pid, workers: workerIDs.ids(of: child.pid),
                        exit: exit, replacement: replacement?.pid)
                    kills.append(record)
                    say("kill #\(record.number): slot \(slot), pid \(child.pid) (worker \(record.workers.sorted().map(String.init).joined(separator: ",")), \(exit?.description ?? "not ended after 10 s")); replacement pid \(replacement.map { String($0.pid) } ?? "none")")
                }
                nextKill += .seconds(Double.random(in: plan.killEvery, using: &random))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        var restart: RestartRecord?
        if let restartTask {
            let record = await restartTask.value
            restart = record
            say("database restart: began at \(seconds(record.began)), took \(String(format: "%.1f", (record.ended - record.began).seconds)) s, exit \(record.status)")
        }
        let killsEnded = clock.now
        say("kills over: \(kills.count) processes killed")

        // The drain.
        var violations: [String] = []
        let drainDeadline = clock.now + plan.drainTimeout
        var drained: ContinuousClock.Instant?
        while drained == nil {
            notes += respawnEndedOnTheirOwn(children)
            if let p = try? await self.progress(store), p.pending == 0, p.running == 0 {
                drained = clock.now
                break
            }
            if clock.now >= drainDeadline {
                let p = try? await self.progress(store)
                violations.append("not drained \(plan.drainTimeout.seconds) s after the kills: \(p.map { "\($0.pending) pending, \($0.running) running" } ?? "counts unavailable")")
                break
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        progress.cancel()
        if let drained { say("drained \(String(format: "%.1f", (drained - killsEnded).seconds)) s after the kills") }

        // SIGTERM: a graceful stop, exit status 0.
        for child in children.terminateAll() {
            if let exit = await children.waitForExit(child.pid, timeout: plan.grace + .seconds(30)) {
                if exit.bySignal || exit.status != 0 {
                    violations.append("worker process \(child.pid) ended with \(exit.description) after SIGTERM; its log: \(child.log.path)")
                }
            } else {
                violations.append("worker process \(child.pid) still running \(plan.grace.seconds + 30) s after SIGTERM (killed); its log: \(child.log.path)")
            }
        }
        children.killAll()
        watcher.cancel()
        for (child, exit) in children.unexpectedExits {
            violations.append("worker process \(child.pid) (slot \(child.slot)) ended on its own: \(exit.description); its log: \(child.log.path)")
        }
        if let restart, restart.status != 0 {
            violations.append("the restart command failed (exit \(restart.status)): \(restart.output)")
        }
        if plan.restartCommand != nil, restart == nil {
            violations.append("the database was not restarted (the kills lasted less than half their period?)")
        }

        // The verification.
        let (jobs, effects) = try await readBack(store)
        let killedPids = children.killedPids
        var killedWorkers = Set<Int32>()
        for index in kills.indices {
            kills[index].workers.formUnion(workerIDs.ids(of: kills[index].pid))
            kills[index].workers.formUnion(effects.filter { $0.pid == kills[index].pid }.map(\.worker))
            killedWorkers.formUnion(kills[index].workers)
        }
        var processes: [Int32: String] = [:]
        for child in children.started {
            for id in workerIDs.ids(of: child.pid) {
                processes[id] = "pid \(child.pid), \(killedPids.contains(child.pid) ? "killed" : "not killed"), log \(child.log.path)"
            }
        }
        var verification = Verification(
            expectedJobs: plan.jobs, jobs: jobs, effects: effects, killedPids: killedPids, killedWorkers: killedWorkers,
            processes: processes)
        let logCounts = WorkerLogs.count(in: children.started.map(\.log))
        for (child, count) in WorkerLogs.reregistrations(in: children.started) {
            verification.violations.append("worker process \(child.pid) registered again \(count) time(s) (declared dead while alive); its log: \(child.log.path)")
        }
        verification.violations.insert(contentsOf: violations, at: 0)
        printSummary(
            verification, kills: kills, restart: restart, notes: notes, logCounts: logCounts,
            workStarted: workStarted, killsEnded: killsEnded, drained: drained, children: children)
        if verification.failed || plan.keepSchema {
            say("schema \(plan.schema) kept")
        } else {
            try await store.client.query(statements.dropSchema, logger: store.logger)
        }
        return !verification.failed
    }

    // MARK: Steps

    func workerRows(_ store: JobStore) async throws -> [(Int32, Int32)] {
        var rows: [(Int32, Int32)] = []
        for try await row in try await store.client.query(statements.workerPids, logger: store.logger).decode((Int32, Int32).self) {
            rows.append(row)
        }
        return rows
    }

    func progress(_ store: JobStore) async throws -> (pending: Int64, running: Int64, completed: Int64, other: Int64) {
        for try await row in try await store.client.query(statements.progress, logger: store.logger)
            .decode((Int64, Int64, Int64, Int64).self)
        {
            return row
        }
        throw ChaosError("no progress row")
    }

    /// A process that ended without being killed is a violation (reported at
    /// the end); its slot gets a new one so the run goes on.
    func respawnEndedOnTheirOwn(_ children: WorkerChildren) -> [String] {
        var notes: [String] = []
        for slot in children.slotsEndedOnTheirOwn {
            let old = children.child(slot: slot)
            let new = try? children.start(slot: slot)
            let note = "worker process \(old.map { String($0.pid) } ?? "?") (slot \(slot)) ended on its own (\(old.flatMap { children.exit(of: $0.pid)?.description } ?? "?")); started pid \(new.map { String($0.pid) } ?? "none")"
            say(note)
            notes.append(note)
        }
        return notes
    }

    func restartDatabase(_ command: String) async -> RestartRecord {
        let began = clock.now
        let log = plan.logDirectory.appendingPathComponent("restart.log").path
        let exit: ChildExit
        do {
            exit = try await Spawn.run(shell: command, log: log)
        } catch {
            return RestartRecord(began: began, ended: clock.now, status: -1, output: "\(error)")
        }
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        return RestartRecord(
            began: began, ended: clock.now, status: exit.bySignal ? 128 + exit.status : exit.status,
            output: output.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Every job and every effect, read once the workers have stopped
    /// (retried a few times: the database restarted during the run).
    func readBack(_ store: JobStore) async throws -> ([JobRow], [EffectRow]) {
        var lastError: (any Error)?
        for _ in 0..<5 {
            do {
                var jobs: [JobRow] = []
                for try await (id, state, transactional, attempt, owner, errors, handbacks)
                    in try await store.client.query(statements.jobsForVerification, logger: store.logger)
                    .decode((Int64, String, Bool, Int16, Int32?, String, Int32).self)
                {
                    jobs.append(JobRow(
                        id: id, state: state, transactional: transactional, attempt: attempt, owner: owner,
                        errors: try JobRow.decodeErrors(errors), errorsJSON: errors, handbacks: Int(handbacks)))
                }
                var effects: [EffectRow] = []
                for try await (job, attempt, worker, pid) in try await store.client.query(statements.effectsForVerification, logger: store.logger)
                    .decode((Int64, Int32, Int32, Int32).self)
                {
                    effects.append(EffectRow(jobID: job, attempt: attempt, worker: worker, pid: pid))
                }
                return (jobs, effects)
            } catch {
                lastError = error
                try await Task.sleep(for: .seconds(1))
            }
        }
        throw lastError ?? ChaosError("reading the jobs back failed")
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
