// WorkerTests: worker processes (DurableWorkers) against a live PostgreSQL —
// jobs run and their outcomes recorded, notifications and polling-only
// delivery, cancel by id, transactional completion, shutdown's hand-back,
// re-registration after being declared dead, and the rescue of a process
// that died (its session lock gone) or went silent (its lease run out).
// Events are awaited with generous bounds, never timed.
import DurableDispatcher
import Foundation
import GoConcurrency
import Logging
import PostgresNIO
import Synchronization
import Testing

private struct Numbered: Codable, Sendable {
    var n: Int
}

@Suite("DurableDispatcher workers", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct WorkerTests {
    @Test func jobsRunOnceAndTheirOutcomesAreRecorded() async throws {
        try await TestDatabase.withStore { store in
            let runs = Mutex<[Int: Int]>([:])
            var handlers = JobHandlers()
            handlers.register("count", as: Numbered.self) { args, _ in
                runs.withLock { $0[args.n, default: 0] += 1 }
                return .complete
            }
            handlers.register("fail") { _ in throw TestFailure(text: "it broke") }
            handlers.register("snooze") { job in
                job.job.metadataJSON.contains("snoozes") ? .complete : .snooze(.milliseconds(200))
            }
            handlers.register("give-up") { _ in .cancel(reason: "not wanted") }
            try await TestDatabase.withWorkers(store: store, queues: ["default": 4], handlers: handlers) { _ in
                for n in 0..<30 {
                    try await store.enqueue(kind: "count", args: Numbered(n: n))
                }
                let failing = try await store.enqueue(kind: "fail", argsJSON: "{}", options: .init(maxAttempts: 1)).id
                let snoozing = try await store.enqueue(kind: "snooze", argsJSON: "{}").id
                let cancelling = try await store.enqueue(kind: "give-up", argsJSON: "{}").id
                let unknown = try await store.enqueue(kind: "nobody", argsJSON: "{}", options: .init(maxAttempts: 1)).id
                try await store.waitFor("every job finalized") {
                    try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs WHERE finalized_at IS NULL") == "0"
                }
                #expect(runs.withLock { $0 } == Dictionary(uniqueKeysWithValues: (0..<30).map { ($0, 1) }))
                #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs WHERE kind = 'count' AND state = 'completed'") == "30")
                #expect(try await store.state(of: failing) == "discarded")
                #expect(try await store.scalar("SELECT errors -> 0 ->> 'error' FROM $schema.gc_jobs WHERE id = \(failing.rawValue)")?.contains("it broke") == true)
                #expect(try await store.state(of: snoozing) == "completed")
                #expect(try await store.scalar("SELECT (metadata ->> 'snoozes') || ' ' || attempt FROM $schema.gc_jobs WHERE id = \(snoozing.rawValue)") == "1 1")
                #expect(try await store.state(of: cancelling) == "cancelled")
                #expect(try await store.scalar("SELECT errors -> 0 ->> 'error' FROM $schema.gc_jobs WHERE id = \(cancelling.rawValue)") == "not wanted")
                #expect(try await store.scalar("SELECT errors -> 0 ->> 'error' FROM $schema.gc_jobs WHERE id = \(unknown.rawValue)")?.contains("no handler") == true)
            }
        }
    }

    /// With an hour between polls, only the enqueue's notification can bring
    /// the job to the worker.
    @Test func aNotificationWakesAnIdleWorker() async throws {
        try await TestDatabase.withStore { store in
            let ran = Chan<Int>(capacity: 10)
            try await TestDatabase.withWorkers(
                store: store, queues: ["default": 2], handlers: .pings(into: ran), pollInterval: .seconds(3600)
            ) { workers in
                // Let the producer's first fetch (at start) find nothing and
                // park on its hour-long poll.
                try await store.waitFor("the producer parked") { workers.inFlight(queue: "default") == 0 }
                try await sleep(for: .milliseconds(300))
                try await store.enqueue(kind: "ping", args: Numbered(n: 7))
                let n = try await select {
                    ran.onReceive { $0 }
                    after(.seconds(30)).onReceive { _ in Int?.none }
                }
                #expect(n == 7)
            }
        }
    }

    /// Polling only: no LISTEN, and notifications off in the store as well,
    /// so the poll alone delivers (over and over).
    @Test func pollingOnlyDeliversJobs() async throws {
        try await TestDatabase.withStore(notifyOnEnqueue: false) { store in
            let ran = Chan<Int>(capacity: 10)
            try await TestDatabase.withWorkers(
                store: store, queues: ["default": 2], handlers: .pings(into: ran), pollInterval: .milliseconds(200), pollOnly: true
            ) { _ in
                for n in 1...3 {
                    try await store.enqueue(kind: "ping", args: Numbered(n: n))
                    let got = try await select {
                        ran.onReceive { $0 }
                        after(.seconds(30)).onReceive { _ in Int?.none }
                    }
                    #expect(got == n)
                }
            }
        }
    }

    @Test func cancelByIdStopsARunningJobAndAPendingOne() async throws {
        try await TestDatabase.withStore { store in
            let started = Chan<JobID>(capacity: 1)
            var handlers = JobHandlers()
            handlers.register("wait") { job in
                _ = started.trySend(job.job.id)
                _ = try await job.context.done.receive()
                throw job.context.cause ?? TestFailure(text: "done without a cause")
            }
            try await TestDatabase.withWorkers(store: store, queues: ["default": 1], handlers: handlers) { workers in
                let running = try await store.enqueue(kind: "wait", argsJSON: "{}").id
                let pending = try await store.enqueue(kind: "wait", argsJSON: "{}", options: .init(schedule: .after(.seconds(3600)))).id
                #expect(try await started.receive() == running)
                #expect(try await workers.cancel(pending) == .cancelled)
                #expect(try await workers.cancel(running) == .requested(owner: workers.workerID))
                try await store.waitFor("the running job cancelled") { try await store.state(of: running) == "cancelled" }
                #expect(try await store.state(of: pending) == "cancelled")
                #expect(try await store.scalar("SELECT errors -> 0 ->> 'error' FROM $schema.gc_jobs WHERE id = \(running.rawValue)") == "cancel requested")
                #expect(try await workers.cancel(running) == .notCancelled)
            }
        }
    }

    /// The handler's own row and the completion commit together; after the
    /// attempt was rescued from under it, neither does.
    @Test func transactionalCompletionIsAllOrNothing() async throws {
        try await TestDatabase.withStore { store in
            _ = try await store.sql("CREATE TABLE $schema.effects (job bigint, attempt int)")
            let effects = "\"\(store.configuration.schema)\".effects"
            let results = Chan<CompletionResult>(capacity: 2)
            var handlers = JobHandlers()
            handlers.register("effect", as: Numbered.self) { args, job in
                if args.n == 2 {
                    // Someone else took the attempt meanwhile (a rescue, say).
                    _ = try await store.sql("UPDATE $schema.gc_jobs SET state = 'retryable', scheduled_at = now() + interval '1 hour' WHERE id = \(job.job.id.rawValue)")
                }
                let (result, _) = try await job.completeInTransaction { connection in
                    try await connection.query(
                        "INSERT INTO \(unescaped: effects) (job, attempt) VALUES (\(job.job.id.rawValue), \(job.job.attempt))",
                        logger: TestDatabase.quietLogger)
                }
                _ = results.trySend(result)
                return .complete
            }
            try await TestDatabase.withWorkers(store: store, queues: ["default": 1], handlers: handlers) { _ in
                let kept = try await store.enqueue(kind: "effect", args: Numbered(n: 1)).id
                #expect(try await results.receive() == .completed)
                let fenced = try await store.enqueue(kind: "effect", args: Numbered(n: 2)).id
                #expect(try await results.receive() == .fenced)
                #expect(try await store.state(of: kept) == "completed")
                #expect(try await store.state(of: fenced) == "retryable")
                #expect(try await store.sql("SELECT job::text FROM $schema.effects") == ["\(kept.rawValue)"])
            }
        }
    }

    /// Shutdown: the four running jobs outlast the grace and are
    /// interrupted, the four fetched ahead for them were never started; all
    /// go back as they were, no attempt used, beside the twelve never
    /// fetched (a process fetches at most twice its workers).
    @Test func shutdownHandsBackUnstartedAndInterruptedJobs() async throws {
        try await TestDatabase.withStore { store in
            let started = Chan<Void>(capacity: 20)
            var handlers = JobHandlers()
            handlers.register("long") { job in
                _ = started.trySend(())
                _ = try await job.context.done.receive()
                throw job.context.cause ?? TestFailure(text: "done without a cause")
            }
            let workers = try await TestDatabase.startWorkers(store: store, queues: ["default": 4], handlers: handlers)
            for n in 0..<20 {
                try await store.enqueue(kind: "long", args: Numbered(n: n))
            }
            for _ in 0..<4 { _ = try await started.receive() }
            try await store.waitFor("eight jobs fetched") {
                try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs WHERE state = 'running'") == "8"
            }
            let report = await workers.shutdown(grace: .milliseconds(200))
            #expect(report.interrupted == 4)
            #expect(report.notStarted == 4)
            #expect(report.handedBack == 8)
            #expect(report.deregistered)
            #expect(try await store.sql("SELECT state || ' ' || attempt || ' ' || coalesce(owner::text, '-') FROM $schema.gc_jobs GROUP BY 1 ORDER BY 1")
                == ["available 0 -"])
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs WHERE (metadata ->> 'handbacks')::int = 1") == "8")
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_workers") == "0")
        }
    }

    /// A process declared dead (its row deleted) registers again with a new
    /// id and goes on working.
    @Test func aProcessDeclaredDeadRegistersAgain() async throws {
        try await TestDatabase.withStore { store in
            var handlers = JobHandlers()
            handlers.register("noop") { _ in .complete }
            try await TestDatabase.withWorkers(store: store, queues: ["default": 1], handlers: handlers) { workers in
                let first = try #require(workers.workerID)
                _ = try await store.sql("DELETE FROM $schema.gc_workers WHERE id = \(first.rawValue)")
                try await store.waitFor("a new worker id") { workers.workerID != first && workers.isHealthy }
                let id = try await store.enqueue(kind: "noop", argsJSON: "{}").id
                try await store.waitFor("the job completed") { try await store.state(of: id) == "completed" }
                #expect(try await store.scalar("SELECT owner::text FROM $schema.gc_jobs WHERE id = \(id.rawValue)") == "\(workers.workerID!.rawValue)")
            }
        }
    }

    /// A process that died (its connection, and so its session lock, gone)
    /// loses its jobs to the rescue at once; one that holds its lock only
    /// when its lease has run out; none while the server has only just
    /// (re)started.
    @Test func theRescueTakesDeadProcessesJobsByLockOrLease() async throws {
        try await TestDatabase.withStore { store in
            // A process of its own: registered, locked, holding a job.
            let url = try #require(TestDatabase.url)
            let configuration = try #require(PostgresConnection.Configuration(databaseURL: url))
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: TestDatabase.quietLogger)
            let worker = try await store.registerWorker(host: "elsewhere", pid: 1, queues: ["default"])
            #expect(try await store.lockWorker(worker, on: connection))
            let id = try await store.enqueue(kind: "lost", argsJSON: "{}").id
            #expect(try await store.fetch(queue: "default", limit: 1, worker: worker).map(\.id) == [id])
            _ = try await store.sql("UPDATE $schema.gc_workers SET heartbeat_at = now() - interval '10 seconds'")

            let noGrace = RescuePolicy(lease: .seconds(60), lockGrace: .zero, restartAllowance: .zero)
            // Alive: the lock is held (and the lease not run out).
            #expect(try await store.rescue(noGrace)?.jobs == [])
            // The server started less than a day ago: the lock is not looked at.
            try await connection.close()
            try await store.waitFor("the lock released") {
                try await store.scalar("SELECT count(*)::text FROM pg_locks WHERE locktype = 'advisory' AND objid = \(worker.rawValue) AND objsubid = 2") == "0"
            }
            #expect(try await store.rescue(RescuePolicy(lease: .seconds(60), lockGrace: .zero, restartAllowance: .seconds(86_400)))?.jobs == [])
            // Dead: its lock is gone.
            let report = try #require(try await store.rescue(noGrace))
            #expect(report.jobs.map(\.id) == [id])
            #expect(report.jobs.first?.reason == "lock")
            #expect(report.jobs.first?.state == "retryable")
            #expect(report.removedWorkers == [worker])
            #expect(try await store.state(of: id) == "retryable")
            #expect(try await store.scalar("SELECT errors -> 0 ->> 'rescue' || ' ' || (errors -> 0 ->> 'worker') FROM $schema.gc_jobs WHERE id = \(id.rawValue)")
                == "lock \(worker.rawValue)")

            // Silent but locked: rescued when its lease has run out.
            let second = try await PostgresConnection.connect(configuration: configuration, id: 2, logger: TestDatabase.quietLogger)
            let silent = try await store.registerWorker(host: "elsewhere", pid: 2, queues: ["default"])
            #expect(try await store.lockWorker(silent, on: second))
            let fetched = try await store.fetch(queue: "default", limit: 1, worker: silent)
            #expect(fetched.map(\.id) == [id])
            #expect(try await store.rescue(noGrace)?.jobs == [])
            _ = try await store.sql("UPDATE $schema.gc_workers SET heartbeat_at = now() - interval '61 seconds' WHERE id = \(silent.rawValue)")
            let leased = try #require(try await store.rescue(noGrace))
            #expect(leased.jobs.map(\.reason) == ["lease"])
            // Its late completion is fenced (the job was put back).
            #expect(try await store.complete(try #require(fetched.first)) == .fenced)
            try await second.close()
        }
    }
}

extension JobHandlers {
    /// Handles `ping` jobs by sending their number to `channel`.
    fileprivate static func pings(into channel: Chan<Int>) -> JobHandlers {
        var handlers = JobHandlers()
        handlers.register("ping", as: Numbered.self) { args, _ in
            _ = channel.trySend(args.n)
            return .complete
        }
        return handlers
    }
}

@Suite("DurableDispatcher process operations", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct ProcessOperationTests {
    /// A fetch whose answer was lost left its jobs running under a live
    /// owner: the ones the process does not know go back, attempt restored.
    @Test func orphansOfALostFetchAreHandedBack() async throws {
        try await TestDatabase.withStore { store in
            let worker = try await store.registerWorker(host: "here", pid: 1, queues: ["default"])
            for n in 0..<3 { try await store.enqueue(kind: "k", args: Numbered(n: n)) }
            let fetched = try await store.fetch(queue: "default", limit: 3, worker: worker)
            #expect(fetched.count == 3)
            let kept = fetched[0].id
            let orphans = try await store.handBackOrphans(queue: "default", owner: worker, known: [kept])
            #expect(Set(orphans) == Set(fetched.dropFirst().map(\.id)))
            #expect(try await store.sql("SELECT state || ' ' || attempt FROM $schema.gc_jobs ORDER BY id")
                == ["running 1", "available 0", "available 0"])
            #expect(try await store.handBackOrphans(queue: "default", owner: worker, known: [kept]) == [])
        }
    }

    /// A cancel requested while a job runs ends it cancelled even when its
    /// handler snoozes it; a retry by id afterwards clears the request, so
    /// the retried job is not cancelled again by its next failure.
    @Test func aCancelRequestEndsASnoozeAndARetryClearsIt() async throws {
        try await TestDatabase.withStore { store in
            let worker = try await store.registerWorker(host: "here", pid: 1, queues: ["default"])
            let id = try await store.enqueue(kind: "k", argsJSON: "{}").id
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(try await store.cancel(id) == .requested(owner: worker))
            #expect(try await store.snooze(job, for: .seconds(1)) == .cancelled)
            #expect(try await store.state(of: id) == "cancelled")
            #expect(try await store.retry(id) == .retried)
            let again = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            guard case .retryable = try await store.fail(again, error: "once more") else {
                Issue.record("the retried job should retry after a failure")
                return
            }
        }
    }
}

@Suite("DurableDispatcher connection guard", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct ConnectionGuardTests {
    /// postgres-nio leaves a query on a connection the server has ended
    /// unanswered; the store's statements throw instead of waiting for ever.
    @Test func aStatementOnAConnectionTheServerEndedThrows() async throws {
        try await TestDatabase.withStore { store in
            let url = try #require(TestDatabase.url)
            let configuration = try #require(PostgresConnection.Configuration(databaseURL: url))
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 9, logger: TestDatabase.quietLogger)
            let worker = try await store.registerWorker(host: "here", pid: 9, queues: ["default"])
            #expect(try await store.heartbeat(worker, on: connection))
            var pid: Int32 = 0
            for try await value in try await connection.query("SELECT pg_backend_pid()", logger: TestDatabase.quietLogger).decode(Int32.self) {
                pid = value
            }
            #expect(try await store.scalar("SELECT pg_terminate_backend(\(pid))::text") == "true")
            try await store.waitFor("the connection closed") { connection.isClosed }
            let outcome = Chan<String>(capacity: 1)
            Task {
                do {
                    _ = try await store.heartbeat(worker, on: connection)
                    _ = outcome.trySend("answered")
                } catch is DatabaseConnectionLost {
                    _ = outcome.trySend("connection lost")
                } catch {
                    _ = outcome.trySend("\(error)")
                }
            }
            let result = try await select {
                outcome.onReceive { $0 }
                after(.seconds(30)).onReceive { _ in "no answer in 30 s" }
            }
            #expect(result == "connection lost")
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let text: String
    var description: String { text }
}

extension TestDatabase {
    static func startWorkers(
        store: JobStore, queues: [String: Int], handlers: JobHandlers,
        pollInterval: Duration = .milliseconds(500), pollOnly: Bool = false
    ) async throws -> DurableWorkers {
        let url = try #require(TestDatabase.url)
        let control = try #require(PostgresConnection.Configuration(databaseURL: url))
        let workers = DurableWorkers(
            store: store, control: control,
            options: WorkerOptions(queues: queues, pollInterval: pollInterval, pollOnly: pollOnly, heartbeatInterval: .milliseconds(200)),
            handlers: handlers, logger: quietLogger
        )
        try await workers.start()
        return workers
    }

    /// Runs `body` with started workers, shut down afterwards whatever
    /// `body` did.
    static func withWorkers(
        store: JobStore, queues: [String: Int], handlers: JobHandlers,
        pollInterval: Duration = .milliseconds(500), pollOnly: Bool = false,
        _ body: (DurableWorkers) async throws -> Void
    ) async throws {
        let workers = try await startWorkers(store: store, queues: queues, handlers: handlers, pollInterval: pollInterval, pollOnly: pollOnly)
        var failure: (any Error)?
        do { try await body(workers) } catch { failure = error }
        await workers.shutdown(grace: .seconds(5))
        if let failure { throw failure }
    }
}

extension JobStore {
    func state(of id: JobID) async throws -> String? {
        try await scalar("SELECT state::text FROM $schema.gc_jobs WHERE id = \(id.rawValue)")
    }

    /// Waits (up to a minute, checking every 50 ms) until `condition` holds.
    func waitFor(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while try await !condition() {
            if ContinuousClock.now > deadline {
                Issue.record("timed out waiting for: \(what)")
                throw TestFailure(text: "timed out waiting for: \(what)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
