// BatchEnqueueTests: many jobs in one INSERT … unnest — every job stored with
// its options, ids in the batch's order across chunks, delays giving
// `scheduled`, the caller's rolled-back transaction leaving none, unique keys
// refused before anything is written, one wake-up per queue at commit.
import DurableDispatcher
import Foundation
import Logging
import PostgresNIO
import Testing

private struct Numbered: Codable, Equatable, Sendable {
    var n: Int
}

private struct Abort: Error {}

@Suite("DurableDispatcher batch enqueue", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct BatchEnqueueTests {
    @Test func idsComeInTheBatchsOrderAcrossChunks() async throws {
        try await TestDatabase.withStore { store in
            // More than two chunks of 5,000: the statement runs three times.
            let count = 12_001
            let batch = try (0..<count).map { try NewJob(kind: "bulk", args: Numbered(n: $0)) }
            let ids = try await store.enqueue(batch: batch)
            #expect(ids.count == count)
            #expect(Set(ids).count == count)
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "\(count)")
            // The job with ids[i] carries n = i.
            let stored = try await store.scalar("""
                SELECT string_agg(id::text, ',' ORDER BY (args ->> 'n')::int) FROM $schema.gc_jobs
                """)
            #expect(stored == ids.map { String($0.rawValue) }.joined(separator: ","))
            #expect(zip(ids, ids.dropFirst()).allSatisfy { $0.rawValue < $1.rawValue })
            #expect(try await store.scalar("""
                SELECT string_agg(DISTINCT concat_ws(' ', kind, queue, state, priority, max_attempts, attempt), ',')
                FROM $schema.gc_jobs
                """) == "bulk default available 1 20 0")
            // A fetch takes them in the batch's order.
            let worker = try await store.registerWorker(host: "test", pid: 1, queues: ["default"])
            let fetched = try await store.fetch(queue: "default", limit: 3, worker: worker)
            #expect(fetched.map(\.id) == Array(ids.prefix(3)))
            #expect(try fetched.map { try $0.args(as: Numbered.self) } == [Numbered(n: 0), Numbered(n: 1), Numbered(n: 2)])
        }
    }

    @Test func eachJobKeepsItsOwnOptionsAndADelayMeansScheduled() async throws {
        try await TestDatabase.withStore { store in
            let ids = try await store.enqueue(batch: [
                NewJob(kind: "a", argsJSON: #"{"x": [1, 2]}"#),
                NewJob(kind: "b", argsJSON: "{}", options: EnqueueOptions(
                    queue: "mail", priority: 3, schedule: .after(.seconds(3600)), maxAttempts: 5)),
                NewJob(kind: "c", argsJSON: "null", options: EnqueueOptions(queue: "mail", priority: 4, schedule: .after(.zero))),
            ])
            #expect(ids.count == 3)
            let rows = try await store.sql("""
                SELECT concat_ws(' ', kind, queue, priority, max_attempts, state, args::text,
                  scheduled_at > now() + interval '3500 seconds' AND scheduled_at < now() + interval '3700 seconds',
                  scheduled_at <= now())
                FROM $schema.gc_jobs ORDER BY id
                """)
            #expect(rows == [
                #"a default 1 20 available {"x": [1, 2]} f t"#,
                "b mail 3 5 scheduled {} t f",
                "c mail 4 20 available null f t",
            ])
        }
    }

    @Test func aRolledBackTransactionLeavesNoneOfTheBatch() async throws {
        try await TestDatabase.withStore { store in
            let batch = (0..<6_000).map { NewJob(kind: "rolled", argsJSON: #"{"n": \#($0)}"#) }
            var seen: [JobID] = []
            do {
                try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                    seen = try await store.enqueue(batch: batch, on: connection)
                    throw Abort()
                }
                Issue.record("the transaction should have thrown")
            } catch let error as PostgresTransactionError {
                #expect(error.closureError is Abort)
                #expect(error.rollbackError == nil)
            }
            #expect(seen.count == 6_000)
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "0")

            let committed = try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                try await store.enqueue(batch: Array(batch.prefix(7)), on: connection)
            }
            #expect(committed.count == 7)
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "7")
        }
    }

    @Test func aUniqueKeyRefusesTheBatchBeforeWriting() async throws {
        try await TestDatabase.withStore { store in
            let batch = [
                NewJob(kind: "a", argsJSON: "{}"),
                NewJob(kind: "b", argsJSON: "{}"),
                NewJob(kind: "c", argsJSON: "{}", options: EnqueueOptions(uniqueKey: "k")),
            ]
            do {
                try await store.enqueue(batch: batch)
                Issue.record("a batch with a unique key was accepted")
            } catch let error as BatchEnqueueError {
                #expect(error == .uniqueKey(index: 2))
            }
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "0")
            #expect(try await store.enqueue(batch: []) == [])
        }
    }

    @Test func aFailingRowFailsTheWholeBatch() async throws {
        try await TestDatabase.withStore { store in
            // 7,000 jobs: the bad one is in the second chunk, after the first
            // chunk's statement has run in the same transaction.
            var batch = (0..<7_000).map { _ in NewJob(kind: "ok", argsJSON: "{}") }
            batch[6_500].options.priority = 9
            do {
                try await store.enqueue(batch: batch)
                Issue.record("a batch with a priority of 9 was accepted")
            } catch let error as PSQLError {
                #expect(error.serverInfo?[.sqlState] == PostgresError.Code.checkViolation.raw)
            }
            #expect(try await store.scalar("SELECT count(*)::text FROM $schema.gc_jobs") == "0")
        }
    }

    @Test func aCommittedBatchWakesEachQueueOnce() async throws {
        try await TestDatabase.withStore { store in
            let channel = store.notificationChannel
            // Two chunks: queue a in both, b once in the second, c only
            // later (no wake-up), r in a batch that rolls back.
            var batch = (0..<6_001).map { _ in NewJob(kind: "n", argsJSON: "{}", options: .init(queue: "a")) }
            batch[5_500].options.queue = "b"
            batch.append(NewJob(kind: "n", argsJSON: "{}", options: .init(queue: "c", schedule: .after(.seconds(3600)))))
            let rolledBack = [NewJob(kind: "n", argsJSON: "{}", options: .init(queue: "r"))]
            let payloads = try await store.client.withConnection { connection in
                // Should no notification come, closing the connection ends
                // the wait with an error instead of a hang.
                let watchdog = Task {
                    try await Task.sleep(for: .seconds(60))
                    try? await connection.close()
                }
                defer { watchdog.cancel() }
                return try await connection.listen(on: channel) { notifications in
                    do {
                        try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                            try await store.enqueue(batch: rolledBack, on: connection)
                            throw Abort()
                        }
                    } catch let error as PostgresTransactionError where error.closureError is Abort {}
                    try await store.enqueue(batch: batch)
                    // A marker after the batch: every notification of the
                    // batch comes before it.
                    try await store.enqueue(kind: "marker", argsJSON: "{}", options: .init(queue: "z"))
                    var seen: [String] = []
                    for try await notification in notifications {
                        seen.append(notification.payload)
                        if notification.payload == "queue:z" { break }
                    }
                    return seen
                }
            }
            #expect(payloads.count == 3, "\(payloads)")
            #expect(Set(payloads.prefix(2)) == ["queue:a", "queue:b"], "\(payloads)")
            #expect(payloads.last == "queue:z")
        }
    }
}
