// QueueDepth: how many jobs of a queue wait to run now, counted up to a
// bound: what an intake that refuses work when its queue is long (the
// job-intake service's OVERLOAD=refuse, say) asks before it enqueues.
//
// - `waitingJobs`: jobs of the queue that a fetch could take now (the
//   fetch's own condition: pending state, due, attempts left), counted in a
//   subquery with a LIMIT, so its cost is bounded by the bound however long
//   the queue is; it reads the fetch's partial index. A plain read, no lock:
//   jobs enqueued or fetched meanwhile are not waited for, so two callers may
//   both see room.
import PostgresNIO

extension Statements {
    func waitingJobs(queue: String, atMost bound: Int32) -> PostgresQuery {
        """
        SELECT count(*) FROM (
          SELECT 1 FROM \(unescaped: schema).gc_jobs
          WHERE queue = \(queue) AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()
            AND attempt < max_attempts
          LIMIT \(bound)) waiting
        """
    }
}

extension JobStore {
    /// How many jobs of `queue` wait to run now (pending, due, attempts
    /// left), counted up to `bound`: the result is `min(waiting, bound)`, at
    /// a cost bounded by `bound`. On `connection` when given (inside the
    /// caller's transaction), else on the store's pool.
    public func waitingJobs(queue: String, atMost bound: Int, on connection: PostgresConnection? = nil) async throws -> Int {
        let query = statements.waitingJobs(queue: queue, atMost: Int32(clamping: max(bound, 0)))
        let rows: PostgresRowSequence
        if let connection {
            rows = try await connection.query(query, logger: logger)
        } else {
            rows = try await client.query(query, logger: logger)
        }
        for try await count in rows.decode(Int64.self) {
            return Int(count)
        }
        throw StoreError.noRowReturned("waiting jobs")
    }
}
