// JobStore.waitingJobs: the bounded count of a queue's jobs that a fetch
// could take now, which an intake refusing work on a long queue asks.
import DurableDispatcher
import Testing

@Suite("DurableDispatcher queue depth", .enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct QueueDepthTests {
    @Test func waitingJobsCountsTheRunnableJobsOfTheQueueUpToTheBound() async throws {
        try await TestDatabase.withStore { store in
            // Given: three jobs runnable now, one due in an hour, one in
            // another queue.
            for i in 0..<3 {
                try await store.enqueue(kind: "k", args: ["i": i], options: .init(queue: "q"))
            }
            try await store.enqueue(kind: "k", args: ["i": 3], options: .init(queue: "q", schedule: .after(.seconds(3600))))
            try await store.enqueue(kind: "k", args: ["i": 4], options: .init(queue: "other"))
            // Then: three wait in q, counted up to the bound.
            #expect(try await store.waitingJobs(queue: "q", atMost: 10) == 3)
            #expect(try await store.waitingJobs(queue: "q", atMost: 2) == 2)
            #expect(try await store.waitingJobs(queue: "q", atMost: 0) == 0)
            #expect(try await store.waitingJobs(queue: "empty", atMost: 10) == 0)
            // When one is fetched (running), it no longer waits; the same on
            // a connection of the caller's transaction.
            let worker = try await store.registerWorker(host: "h", pid: 1, queues: ["q"])
            #expect(try await store.fetch(queue: "q", limit: 1, worker: worker).count == 1)
            #expect(try await store.waitingJobs(queue: "q", atMost: 10) == 2)
            let inTransaction = try await store.client.withTransaction(logger: TestDatabase.quietLogger) { connection in
                try await store.waitingJobs(queue: "q", atMost: 10, on: connection)
            }
            #expect(inTransaction == 2)
        }
    }
}
