// StoreTests: the job store against a live PostgreSQL — migration,
// transactional and unique enqueue, fetch, fenced outcomes, retries and
// discard. Each test uses a schema of its own; time is moved by UPDATE,
// never by sleeping.
import DurableDispatcher
import Foundation
import Logging
import PostgresNIO
import Testing

private struct Payload: Codable, Equatable, Sendable {
    var n: Int
    var text: String
}

private struct Abort: Error {}

@Suite("DurableDispatcher store", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct StoreTests {
    @Test func concurrentMigrationsApplyOnce() async throws {
        try await TestDatabase.withStore(migrate: false) { store in
            let found = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<4 { group.addTask { try await store.migrate() } }
                var found: [Int32] = []
                for try await version in group { found.append(version) }
                return found
            }
            #expect(found.sorted() == [0, 1, 1, 1])
            #expect(try await store.sql("SELECT version::text FROM $schema.gc_schema_version") == ["1"])
            #expect(try await store.migrate() == 1)
        }
    }

    @Test func enqueueInARolledBackTransactionLeavesNoJob() async throws {
        try await TestDatabase.withStore { store in
            var seen: EnqueueResult?
            do {
                try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                    seen = try await store.enqueue(kind: "rolled", args: Payload(n: 1, text: "a"), on: connection)
                    throw Abort()
                }
                Issue.record("the transaction should have thrown")
            } catch let error as PostgresTransactionError {
                #expect(error.closureError is Abort)
                #expect(error.rollbackError == nil)
            }
            guard case .inserted = seen else {
                Issue.record("expected an insert inside the transaction, got \(String(describing: seen))")
                return
            }
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "0")

            let committed = try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                try await store.enqueue(kind: "committed", args: Payload(n: 2, text: "b"), on: connection)
            }
            guard case .inserted(let id) = committed else {
                Issue.record("expected an insert, got \(committed)")
                return
            }
            #expect(try await store.sql("SELECT id::text || ' ' || kind || ' ' || state FROM $schema.gc_jobs")
                == ["\(id.rawValue) committed available"])
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let fetched = try await store.fetch(queue: "default", limit: 10, worker: worker)
            #expect(fetched.map(\.id) == [id])
            #expect(try fetched.first?.args(as: Payload.self) == Payload(n: 2, text: "b"))
        }
    }

    @Test func rawJSONArgumentsAndOptionsAreStored() async throws {
        try await TestDatabase.withStore { store in
            let result = try await store.enqueue(
                kind: "raw", argsJSON: #"{"b": [1, 2], "a": null}"#,
                options: EnqueueOptions(queue: "mail", priority: 3, schedule: .after(.seconds(3600)), maxAttempts: 5)
            )
            let row = try await store.scalar("""
                SELECT concat_ws(' ', queue, priority, max_attempts, state, args::text,
                  scheduled_at > now() + interval '3500 seconds' AND scheduled_at < now() + interval '3700 seconds')
                FROM $schema.gc_jobs WHERE id = \(result.id.rawValue)
                """)
            #expect(row == #"mail 3 5 scheduled {"a": null, "b": [1, 2]} t"#)
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["mail"])
            #expect(try await store.fetch(queue: "mail", limit: 10, worker: worker).isEmpty)
        }
    }

    @Test func fiftyConcurrentEnqueuesOfOneUniqueKeyMakeOneJob() async throws {
        try await TestDatabase.withStore(maxConnections: 50) { store in
            let options = EnqueueOptions(uniqueKey: "report:42")
            let results = try await withThrowingTaskGroup(of: EnqueueResult.self) { group in
                for i in 0..<50 {
                    group.addTask { try await store.enqueue(kind: "report", args: Payload(n: i, text: "x"), options: options) }
                }
                var results: [EnqueueResult] = []
                for try await result in group { results.append(result) }
                return results
            }
            let inserted = results.compactMap { if case .inserted(let id) = $0 { id } else { nil } }
            let duplicates = results.compactMap { if case .duplicate(let id) = $0 { id } else { nil } }
            try #require(inserted.count == 1)
            #expect(duplicates.count == 49)
            #expect(Set(duplicates) == [inserted[0]])
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "1")

            // While the job runs, the key is still taken; once it completed, free.
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let jobs = try await store.fetch(queue: "default", limit: 5, worker: worker)
            #expect(jobs.map(\.id) == inserted)
            #expect(try await store.enqueue(kind: "report", args: Payload(n: 0, text: "y"), options: options)
                == .duplicate(inserted[0]))
            #expect(try await store.complete(jobs[0]) == .completed)
            let again = try await store.enqueue(kind: "report", args: Payload(n: 0, text: "z"), options: options)
            guard case .inserted(let second) = again else {
                Issue.record("the completed job should have freed its key, got \(again)")
                return
            }
            #expect(second != inserted[0])
            #expect(try await store.sql("SELECT state::text FROM $schema.gc_jobs ORDER BY id") == ["completed", "available"])
        }
    }

    /// `xmax <> 0` tells a duplicate from an insert even when the existing
    /// row is the caller's own, uncommitted, in the same transaction.
    @Test func aUniqueKeyTwiceInOneTransactionIsADuplicate() async throws {
        try await TestDatabase.withStore { store in
            let options = EnqueueOptions(uniqueKey: "same-transaction")
            let (first, second) = try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                let first = try await store.enqueue(kind: "k", args: Payload(n: 1, text: ""), options: options, on: connection)
                let second = try await store.enqueue(kind: "k", args: Payload(n: 2, text: ""), options: options, on: connection)
                return (first, second)
            }
            guard case .inserted(let id) = first else {
                Issue.record("expected an insert, got \(first)")
                return
            }
            #expect(second == .duplicate(id))
            // The duplicate changed nothing: the first job's arguments stay.
            #expect(try await store.sql("SELECT args::text FROM $schema.gc_jobs") == [#"{"n": 1, "text": ""}"#])
        }
    }

    /// A second enqueue of a unique key waits for the first one's open
    /// transaction, then follows its fate: a duplicate of the committed job,
    /// or the insert itself when the first rolled back (where a
    /// lock-then-look-up scheme reports a job that never existed).
    @Test(arguments: [true, false])
    func aUniqueEnqueueWaitsForTheOpenTransactionOfTheSameKey(firstCommits: Bool) async throws {
        try await TestDatabase.withStore(maxConnections: 4) { store in
            let options = EnqueueOptions(uniqueKey: "invoice:7")
            var first: EnqueueResult?
            var second: Task<EnqueueResult, any Error>?
            do {
                try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                    first = try await store.enqueue(kind: "invoice", args: Payload(n: 1, text: ""), options: options, on: connection)
                    second = Task { try await store.enqueue(kind: "invoice", args: Payload(n: 2, text: ""), options: options) }
                    // Until the second insert waits on this transaction.
                    var waiting = false
                    for _ in 0..<2_000 where !waiting {
                        let count = try await store.scalar("""
                            SELECT count(*)::text FROM pg_stat_activity
                            WHERE datname = current_database() AND wait_event_type = 'Lock'
                              AND query LIKE '%INSERT INTO "\(store.configuration.schema)".gc_jobs%'
                            """)
                        waiting = count == "1"
                        if !waiting { try await Task.sleep(for: .milliseconds(5)) }
                    }
                    #expect(waiting, "the second enqueue never waited")
                    if !firstCommits { throw Abort() }
                }
            } catch let error as PostgresTransactionError {
                #expect(!firstCommits && error.closureError is Abort)
            }
            let firstID = try #require(first).id
            let result = try await #require(second).value
            if firstCommits {
                #expect(result == .duplicate(firstID))
            } else {
                guard case .inserted(let id) = result else {
                    Issue.record("expected the second enqueue to insert, got \(result)")
                    return
                }
                #expect(try await store.sql("SELECT id::text FROM $schema.gc_jobs") == ["\(id.rawValue)"])
            }
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "1")
        }
    }

    @Test func fetchTakesAtMostTheLimitAndConcurrentFetchersShareNothing() async throws {
        try await TestDatabase.withStore(maxConnections: 8) { store in
            let total = 120
            for i in 0..<total {
                try await store.enqueue(kind: "work", args: Payload(n: i, text: ""), options: EnqueueOptions(priority: Int16(1 + i % 4)))
            }
            try await store.enqueue(kind: "other", args: Payload(n: 0, text: ""), options: EnqueueOptions(queue: "other"))

            let first = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let batch = try await store.fetch(queue: "default", limit: 7, worker: first)
            #expect(batch.count == 7)
            #expect(batch.allSatisfy { $0.priority == 1 && $0.attempt == 1 && $0.owner == first && $0.queue == "default" })

            let workers = [first, try await store.registerWorker(host: "test", pid: 2, queues: ["default"]),
                           try await store.registerWorker(host: "test", pid: 3, queues: ["default"]),
                           try await store.registerWorker(host: "test", pid: 4, queues: ["default"])]
            let perWorker = try await withThrowingTaskGroup(of: (WorkerID, [JobID], Int).self) { group in
                for worker in workers {
                    group.addTask {
                        var ids: [JobID] = []
                        var largest = 0
                        while true {
                            let jobs = try await store.fetch(queue: "default", limit: 5, worker: worker)
                            if jobs.isEmpty { break }
                            largest = max(largest, jobs.count)
                            ids += jobs.map(\.id)
                        }
                        return (worker, ids, largest)
                    }
                }
                var all: [(WorkerID, [JobID], Int)] = []
                for try await result in group { all.append(result) }
                return all
            }
            let fetched = batch.map(\.id) + perWorker.flatMap(\.1)
            #expect(fetched.count == total)
            #expect(Set(fetched).count == total)
            #expect(perWorker.allSatisfy { $0.2 <= 5 })
            // The database agrees: every job ran once, owned by who fetched it.
            #expect(try await store.scalar(
                "SELECT count(*)::text FROM $schema.gc_jobs WHERE queue = 'default' AND state = 'running' AND attempt = 1")
                == "\(total)")
            for (worker, ids, _) in perWorker where !ids.isEmpty {
                let owned = try await store.scalar(
                    "SELECT count(*)::text FROM $schema.gc_jobs WHERE owner = \(worker.rawValue) AND attempted_by = ARRAY[\(worker.rawValue)]")
                let expected = ids.count + (worker == first ? batch.count : 0)
                #expect(owned == "\(expected)")
            }
            #expect(try await store.sql("SELECT state::text FROM $schema.gc_jobs WHERE queue = 'other'") == ["available"])
        }
    }

    @Test func aPendingJobThatHasUsedItsAttemptsDoesNotBlockItsQueue() async throws {
        try await TestDatabase.withStore { store in
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            for i in 0..<2 { try await store.enqueue(kind: "k", args: Payload(n: i, text: "")) }
            // The first in line looks pending but has no attempt left (only
            // SQL can make one): a fetch of one must pass over it.
            _ = try await store.sql("""
                UPDATE $schema.gc_jobs SET attempt = max_attempts
                WHERE id = (SELECT min(id) FROM $schema.gc_jobs)
                """)
            let jobs = try await store.fetch(queue: "default", limit: 1, worker: worker)
            #expect(jobs.count == 1)
            #expect(jobs.first?.attempt == 1)
        }
    }

    @Test func fetchSkipsRowsLockedByAnotherTransactionWithoutWaiting() async throws {
        try await TestDatabase.withStore(maxConnections: 4) { store in
            var ids: [JobID] = []
            for i in 0..<3 {
                ids.append(try await store.enqueue(kind: "work", args: Payload(n: i, text: "")).id)
            }
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            // Another transaction holds the first job's row lock while the
            // fetch runs: the fetch takes the others at once (were it to wait,
            // it would wait for this very closure: the statement timeout
            // would end the test with an error: lock_timeout).
            let fetched = try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                let query = PostgresQuery(unsafeSQL:
                    "SELECT id FROM \"\(store.configuration.schema)\".gc_jobs WHERE id = \(ids[0].rawValue) FOR UPDATE")
                try await connection.query(query, logger: TestDatabase.quietLogger)
                return try await store.fetch(queue: "default", limit: 10, worker: worker).map(\.id)
            }
            #expect(fetched == Array(ids[1...]))
            #expect(try await store.fetch(queue: "default", limit: 10, worker: worker).map(\.id) == [ids[0]])
        }
    }

    @Test func anOutcomeOfAnAttemptNoLongerLiveIsFenced() async throws {
        try await TestDatabase.withStore { store in
            let id = try await store.enqueue(kind: "fence", args: Payload(n: 1, text: "")).id
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            // Another attempt began meanwhile (as after a rescue and a re-fetch).
            _ = try await store.sql("UPDATE $schema.gc_jobs SET attempt = attempt + 1 WHERE id = \(id.rawValue)")
            #expect(try await store.complete(job) == .fenced)
            #expect(try await store.fail(job, error: "late") == .fenced)
            #expect(try await store.scalar(
                "SELECT state::text || ' ' || attempt || ' ' || errors::text FROM $schema.gc_jobs WHERE id = \(id.rawValue)")
                == "running 2 []")

            // Another owner, or a job no longer running: fenced as well.
            let other = try await store.enqueue(kind: "fence", args: Payload(n: 2, text: "")).id
            let live = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(live.id == other)
            _ = try await store.sql("UPDATE $schema.gc_jobs SET owner = owner + 1000 WHERE id = \(other.rawValue)")
            #expect(try await store.complete(live) == .fenced)
            _ = try await store.sql("UPDATE $schema.gc_jobs SET owner = owner - 1000 WHERE id = \(other.rawValue)")
            #expect(try await store.complete(live) == .completed)
            #expect(try await store.complete(live) == .fenced)
            #expect(try await store.scalar(
                "SELECT state::text || ' ' || (finalized_at IS NOT NULL) FROM $schema.gc_jobs WHERE id = \(other.rawValue)")
                == "completed true")
        }
    }

    @Test func aTransactionalCompletionCommitsTheHandlersWritesOnlyWhenLive() async throws {
        try await TestDatabase.withStore { store in
            _ = try await store.sql("CREATE TABLE $schema.effects (job bigint, attempt int)")
            let table = "\"\(store.configuration.schema)\".effects"
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let live = try await store.enqueue(kind: "effect", args: Payload(n: 1, text: "")).id
            let stale = try await store.enqueue(kind: "effect", args: Payload(n: 2, text: "")).id
            let jobs = try await store.fetch(queue: "default", limit: 2, worker: worker)
            #expect(jobs.map(\.id) == [live, stale])

            // The handler's effect: a row of its own, on the transaction's connection.
            @Sendable func recordEffect(of job: FetchedJob, on connection: PostgresConnection) async throws {
                try await connection.query(
                    "INSERT INTO \(unescaped: table) VALUES (\(job.id.rawValue), \(Int32(job.attempt)))",
                    logger: TestDatabase.quietLogger)
            }
            let (completed, value) = try await store.completeInTransaction(jobs[0]) { connection in
                try await recordEffect(of: jobs[0], on: connection)
                return 42
            }
            #expect(completed == .completed)
            #expect(value == 42)

            _ = try await store.sql("UPDATE $schema.gc_jobs SET attempt = attempt + 1 WHERE id = \(stale.rawValue)")
            let (fenced, none) = try await store.completeInTransaction(jobs[1]) { connection in
                try await recordEffect(of: jobs[1], on: connection)
                return 43
            }
            #expect(fenced == .fenced)
            #expect(none == nil)
            #expect(try await store.sql("SELECT job::text FROM $schema.effects") == ["\(live.rawValue)"])
            #expect(try await store.sql("SELECT state::text FROM $schema.gc_jobs ORDER BY id") == ["completed", "running"])

            // The handler's own error rolls back and comes out as it is.
            let third = try await store.enqueue(kind: "effect", args: Payload(n: 3, text: "")).id
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(job.id == third)
            await #expect(throws: Abort.self) {
                _ = try await store.completeInTransaction(job) { connection in
                    try await recordEffect(of: job, on: connection)
                    throw Abort()
                }
            }
            #expect(try await store.sql("SELECT job::text FROM $schema.effects") == ["\(live.rawValue)"])
            #expect(try await store.complete(job) == .completed)
        }
    }

    @Test func failuresRetryAfterAttemptToTheFourthThenDiscard() async throws {
        try await TestDatabase.withStore { store in
            let id = try await store.enqueue(kind: "flaky", args: Payload(n: 1, text: ""), options: EnqueueOptions(maxAttempts: 3)).id
            let worker = try await store.registerWorker(host: "test", pid: 7, queues: ["default"])
            for attempt in 1...3 {
                let job = try #require(try await store.fetch(queue: "default", limit: 10, worker: worker).first)
                #expect(job.id == id)
                #expect(job.attempt == Int16(attempt))
                let result = try await store.fail(job, error: "boom \(attempt)")
                if attempt < 3 {
                    guard case .retryable(_, let backoff) = result else {
                        Issue.record("attempt \(attempt): expected retryable, got \(result)")
                        return
                    }
                    let base = pow(Double(attempt), 4)
                    #expect(backoff >= 0.9 * base && backoff <= 1.1 * base)
                    // The stored delay, on the database's clock: scheduled_at
                    // minus the failure's instant in the error entry.
                    let storedText = try await store.scalar("""
                        SELECT extract(epoch FROM scheduled_at - (errors -> -1 ->> 'at')::timestamptz)::text
                        FROM $schema.gc_jobs WHERE id = \(id.rawValue)
                        """)
                    let stored = try #require(storedText.flatMap(Double.init))
                    #expect(abs(stored - backoff) < 0.001)
                    #expect(stored >= 0.9 * base && stored <= 1.1 * base)
                    #expect(try await store.scalar("SELECT state::text FROM $schema.gc_jobs WHERE id = \(id.rawValue)") == "retryable")
                    if attempt >= 2 {
                        // 16 s ahead: not runnable yet.
                        #expect(try await store.fetch(queue: "default", limit: 10, worker: worker).isEmpty)
                    }
                    // Time travel instead of sleeping.
                    _ = try await store.sql("UPDATE $schema.gc_jobs SET scheduled_at = now() WHERE id = \(id.rawValue)")
                } else {
                    #expect(result == .discarded)
                }
            }
            #expect(try await store.scalar(
                "SELECT state::text || ' ' || (finalized_at IS NOT NULL) || ' ' || jsonb_array_length(errors) FROM $schema.gc_jobs")
                == "discarded true 3")
            #expect(try await store.sql("""
                SELECT (e ->> 'attempt') || ' ' || (e ->> 'error') || ' ' || (e ->> 'worker')
                FROM $schema.gc_jobs, jsonb_array_elements(errors) e ORDER BY (e ->> 'attempt')::int
                """) == ["1 boom 1 \(worker.rawValue)", "2 boom 2 \(worker.rawValue)", "3 boom 3 \(worker.rawValue)"])
            // Discarded stays discarded; its unique key (none here) would be free.
            _ = try await store.sql("UPDATE $schema.gc_jobs SET scheduled_at = now() - interval '1 day'")
            #expect(try await store.fetch(queue: "default", limit: 10, worker: worker).isEmpty)
        }
    }

    @Test func aSnoozeGivesTheAttemptBackAndCounts() async throws {
        try await TestDatabase.withStore { store in
            let id = try await store.enqueue(kind: "later", args: Payload(n: 1, text: ""), options: EnqueueOptions(maxAttempts: 1)).id
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            for round in 1...2 {
                let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
                #expect(job.id == id)
                #expect(job.attempt == 1)
                guard case .scheduled = try await store.snooze(job, for: .seconds(60)) else {
                    Issue.record("round \(round): expected the snooze to be recorded")
                    return
                }
                #expect(try await store.snooze(job, for: .seconds(60)) == .fenced)
                #expect(try await store.scalar("""
                    SELECT concat_ws(' ', state, attempt, metadata ->> 'snoozes',
                      scheduled_at > now() + interval '50 seconds' AND scheduled_at < now() + interval '70 seconds')
                    FROM $schema.gc_jobs WHERE id = \(id.rawValue)
                    """) == "scheduled 0 \(round) t")
                // Not before its time; then (time travel) runnable again.
                #expect(try await store.fetch(queue: "default", limit: 1, worker: worker).isEmpty)
                _ = try await store.sql("UPDATE $schema.gc_jobs SET scheduled_at = now() WHERE id = \(id.rawValue)")
            }
            // With max_attempts 1, snoozes never used up the one attempt.
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(job.attempt == 1)
            #expect(try await store.complete(job) == .completed)
        }
    }

    /// After a snooze the same worker's next fetch has the same id, attempt
    /// and owner: the attempt's start tells the snoozed attempt's late
    /// outcome from the new attempt's.
    @Test func aLateOutcomeOfASnoozedAttemptIsFenced() async throws {
        try await TestDatabase.withStore { store in
            let id = try await store.enqueue(kind: "later", args: Payload(n: 1, text: "")).id
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let snoozed = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            guard case .scheduled = try await store.snooze(snoozed, for: .seconds(60)) else {
                Issue.record("expected the snooze to be recorded")
                return
            }
            _ = try await store.sql("UPDATE $schema.gc_jobs SET scheduled_at = now() WHERE id = \(id.rawValue)")
            let current = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(current.attempt == snoozed.attempt && current.owner == snoozed.owner && current.id == snoozed.id)
            #expect(current.attemptedAtMicros != snoozed.attemptedAtMicros)
            #expect(try await store.snooze(snoozed, for: .seconds(60)) == .fenced)
            #expect(try await store.fail(snoozed, error: "late") == .fenced)
            #expect(try await store.complete(snoozed) == .fenced)
            #expect(try await store.complete(current) == .completed)
        }
    }

    @Test func countsByQueueAndState() async throws {
        try await TestDatabase.withStore { store in
            for i in 0..<3 { try await store.enqueue(kind: "a", args: Payload(n: i, text: "")) }
            try await store.enqueue(kind: "b", args: Payload(n: 0, text: ""), options: EnqueueOptions(queue: "mail", schedule: .after(.seconds(600))))
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let jobs = try await store.fetch(queue: "default", limit: 2, worker: worker)
            #expect(try await store.complete(jobs[0]) == .completed)
            #expect(try await store.counts() == [
                JobCount(queue: "default", state: "available", count: 1),
                JobCount(queue: "default", state: "completed", count: 1),
                JobCount(queue: "default", state: "running", count: 1),
                JobCount(queue: "mail", state: "scheduled", count: 1),
            ])
        }
    }

    @Test func retryByIdRevivesAFinishedJobUnlessItsKeyIsTaken() async throws {
        try await TestDatabase.withStore { store in
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let keyed = EnqueueOptions(maxAttempts: 1, uniqueKey: "nightly")
            let id = try await store.enqueue(kind: "k", args: Payload(n: 1, text: ""), options: keyed).id
            #expect(try await store.retry(id) == .retried)   // pending: made available now, no harm
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(try await store.retry(id) == .notRetried)   // running: its outcome decides
            #expect(try await store.fail(job, error: "once") == .discarded)
            #expect(try await store.retry(JobID(id.rawValue + 1000)) == .notRetried)

            // Another live job took the key meanwhile: the index refuses.
            let other = try await store.enqueue(kind: "k", args: Payload(n: 2, text: ""), options: keyed)
            guard case .inserted = other else {
                Issue.record("the discarded job should have freed its key, got \(other)")
                return
            }
            #expect(try await store.retry(id) == .uniqueConflict)
            _ = try await store.sql("DELETE FROM $schema.gc_jobs WHERE id = \(other.id.rawValue)")

            #expect(try await store.retry(id) == .retried)
            #expect(try await store.scalar("""
                SELECT concat_ws(' ', state, attempt, max_attempts, finalized_at IS NULL, jsonb_array_length(errors))
                FROM $schema.gc_jobs WHERE id = \(id.rawValue)
                """) == "available 1 2 t 1")
            let again = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(again.attempt == 2)
            #expect(try await store.complete(again) == .completed)
        }
    }

    @Test func pruneDeletesOnlyJobsFinalizedBeforeTheHorizon() async throws {
        try await TestDatabase.withStore { store in
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            for i in 0..<25 { try await store.enqueue(kind: "k", args: Payload(n: i, text: "")) }
            let jobs = try await store.fetch(queue: "default", limit: 20, worker: worker)
            for job in jobs { #expect(try await store.complete(job) == .completed) }
            // 15 finished two hours ago, 5 just now; 5 never ran.
            _ = try await store.sql("""
                UPDATE $schema.gc_jobs SET finalized_at = now() - interval '2 hours'
                WHERE id IN (SELECT id FROM $schema.gc_jobs WHERE state = 'completed' ORDER BY id LIMIT 15)
                """)
            #expect(try await store.prune(olderThan: .seconds(3600), batch: 4) == 15)
            #expect(try await store.counts() == [
                JobCount(queue: "default", state: "available", count: 5),
                JobCount(queue: "default", state: "completed", count: 5),
            ])
            #expect(try await store.prune(olderThan: .seconds(3600)) == 0)
            // A batch below 1 is taken as 1, and ends when nothing is left.
            #expect(try await store.prune(olderThan: .seconds(3600), batch: 0) == 0)
        }
    }

    @Test func anInjectedRetryPolicyDecidesTheDelay() async throws {
        let policy = RetryPolicy.polynomial(jitter: { 1 })
        try await TestDatabase.withStore(retryPolicy: policy) { store in
            let id = try await store.enqueue(kind: "flaky", args: Payload(n: 1, text: "")).id
            let worker = try await store.registerWorker(host: "test", pid: 7, queues: ["default"])
            _ = try await store.sql("UPDATE $schema.gc_jobs SET attempt = 4 WHERE id = \(id.rawValue)")
            let job = try #require(try await store.fetch(queue: "default", limit: 1, worker: worker).first)
            #expect(job.attempt == 5)
            guard case .retryable(_, let backoff) = try await store.fail(job, error: "e") else {
                Issue.record("expected retryable")
                return
            }
            #expect(backoff == 625 * 1.1)
            #expect(try await store.scalar("""
                SELECT round(extract(epoch FROM scheduled_at - (errors -> -1 ->> 'at')::timestamptz), 3)::text
                FROM $schema.gc_jobs WHERE id = \(id.rawValue)
                """) == "687.500")
        }
    }
}

@Suite("DurableDispatcher without a database")
struct StoreOfflineTests {
    @Test(.enabled(if: TestDatabase.required, "GC_REQUIRE_DATABASE is not 1"))
    func theDatabaseIsThereWhenRequired() async throws {
        _ = try #require(TestDatabase.url, "GC_REQUIRE_DATABASE=1 but GC_DATABASE_URL is not set")
        try await TestDatabase.withStore(migrate: false) { store in
            let answer = try await store.scalar("SELECT 'up'")
            #expect(answer == "up")
        }
    }

    @Test func thePolynomialPolicyStaysWithinTenPercent() {
        for attempt in 1...20 {
            let base = pow(Double(attempt), 4)
            #expect(RetryPolicy.polynomial(jitter: { -1 }).backoffSeconds(attempt) == base * 0.9)
            #expect(RetryPolicy.polynomial(jitter: { 1 }).backoffSeconds(attempt) == base * 1.1)
            #expect(RetryPolicy.polynomial(jitter: { 7 }).backoffSeconds(attempt) == base * 1.1)
            let random = RetryPolicy.default.backoffSeconds(attempt)
            #expect(random >= base * 0.9 && random <= base * 1.1)
        }
    }

    @Test func databaseURLs() throws {
        let configuration = try #require(PostgresClient.Configuration(databaseURL: "postgres://app:p%40ss@db.internal:6543/jobs"))
        #expect(configuration.host == "db.internal")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "app")
        #expect(configuration.password == "p@ss")
        #expect(configuration.database == "jobs")
        #expect(PostgresClient.Configuration(databaseURL: "mysql://a@b/c") == nil)
        #expect(PostgresClient.Configuration(databaseURL: "postgres://db/c") == nil)
        // Decoded once: a literal % in a password is %25 in the URL.
        let percent = try #require(PostgresClient.Configuration(databaseURL: "postgres://u:a%25zz@h/d"))
        #expect(percent.password == "a%zz")
        let twice = try #require(PostgresClient.Configuration(databaseURL: "postgres://u:a%2541@h/d"))
        #expect(twice.password == "a%41")
        // sslmode: an unknown mode is refused rather than read as "no TLS".
        #expect(PostgresClient.Configuration(databaseURL: "postgres://u@h/d?sslmode=bogus") == nil)
        for mode in ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] {
            #expect(PostgresClient.Configuration(databaseURL: "postgres://u@h/d?sslmode=\(mode)") != nil, "\(mode)")
        }
    }
}
