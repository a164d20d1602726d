// BatchEnqueue: many jobs in one INSERT … SELECT FROM unnest(arrays), for
// callers that enqueue thousands at once (the chaos test's 20,000 jobs, the
// benchmark's 200,000). One statement per chunk of `batchChunkSize` jobs, one
// array per column as one bind each, so the number of binds never grows with
// the batch; a batch of several chunks runs in one transaction, so it is
// enqueued whole or not at all.
//
// - Order: the rows are inserted in the batch's order (`ORDER BY ord` of
//   `WITH ORDINALITY`), and `id`'s default, `nextval`, is evaluated above that
//   sort, so ids grow in the batch's order; the ids returned are sorted, which
//   restores that order whatever order RETURNING emits them in (tested).
// - Unique keys are refused (`BatchEnqueueError.uniqueKey`, before any
//   statement runs): one `ON CONFLICT … DO UPDATE` cannot touch the same live
//   job twice, so a batch repeating a key would fail as a whole, and a
//   duplicate would return an existing job's id out of the batch's order.
//   Enqueue jobs with a unique key one at a time.
// - The state is `scheduled` for a positive delay and `available` otherwise,
//   as for a single enqueue; a row breaking a CHECK (priority outside 1–4, an
//   empty kind) fails the whole batch.
// - Wake-up: with `notifyOnEnqueue`, the statement sends one
//   `queue:<name>` notification per queue that got a job runnable now, as
//   the single enqueue does (in a MATERIALIZED CTE, so it runs once per
//   statement, not per row; PostgreSQL folds the same notification sent
//   again in one transaction, so a batch of several chunks wakes each queue
//   once). Delivered at commit, never for a rolled-back batch.
import Foundation
import PostgresNIO

/// A job to enqueue as part of a batch (``JobStore/enqueue(batch:)``).
public struct NewJob: Sendable {
    public var kind: String
    /// The arguments as JSON text.
    public var argsJSON: String
    /// Queue, priority, schedule and attempts; `uniqueKey` must be nil in a
    /// batch.
    public var options: EnqueueOptions

    public init(kind: String, argsJSON: String, options: EnqueueOptions = .init()) {
        self.kind = kind
        self.argsJSON = argsJSON
        self.options = options
    }

    /// A job whose arguments are `args` encoded as JSON (keys sorted, as the
    /// single enqueue encodes them).
    public init<Args: Encodable>(kind: String, args: Args, options: EnqueueOptions = .init()) throws {
        self.init(kind: kind, argsJSON: try JobStore.json(args), options: options)
    }
}

/// Why a batch was refused before anything was written.
public enum BatchEnqueueError: Error, Sendable, Equatable {
    /// The job at `index` has a unique key; batches take none (enqueue it
    /// on its own).
    case uniqueKey(index: Int)
}

extension Statements {
    /// Returns the new jobs' `id`s, one row each. The six arrays have one
    /// element per job, in the batch's order; `notify` wakes their queues.
    func enqueueBatch(
        kinds: [String], queues: [String], argsJSON: [String], priorities: [Int16],
        maxAttempts: [Int16], delaySeconds: [Double], notify: Bool
    ) -> PostgresQuery {
        """
        WITH ins AS (
          INSERT INTO \(unescaped: schema).gc_jobs (kind, queue, args, priority, max_attempts, scheduled_at, state)
          SELECT b.kind, b.queue, b.args::jsonb, b.priority, b.max_attempts,
                 now() + make_interval(secs => b.delay),
                 CASE WHEN b.delay > 0 THEN 'scheduled' ELSE 'available' END::\(unescaped: schema).gc_job_state
          FROM unnest(\(kinds)::text[], \(queues)::text[], \(argsJSON)::text[], \(priorities)::int2[],
                      \(maxAttempts)::int2[], \(delaySeconds)::float8[])
            WITH ORDINALITY AS b(kind, queue, args, priority, max_attempts, delay, ord)
          ORDER BY b.ord
          RETURNING id, queue, state),
        woken AS MATERIALIZED (
          SELECT count(pg_notify(\(notifyChannel), 'queue:' || q.queue)) AS sent
          FROM (SELECT DISTINCT queue FROM ins WHERE \(notify) AND state = 'available') q)
        SELECT ins.id FROM ins, woken
        """
    }
}

extension JobStore {
    /// Jobs per INSERT statement in a batch: each is one message of six
    /// arrays, kept to a few hundred kilobytes for small arguments.
    static let batchChunkSize = 5_000

    /// Enqueues every job of `batch` in one transaction of its own and
    /// returns their ids in the batch's order. Throws
    /// ``BatchEnqueueError/uniqueKey(index:)`` (nothing written) if a job has
    /// a unique key.
    @discardableResult
    public func enqueue(batch: [NewJob]) async throws -> [JobID] {
        try Self.checkBatch(batch)
        if batch.isEmpty { return [] }
        if batch.count <= Self.batchChunkSize {
            let query = batchQuery(batch[...])
            let logger = logger
            return try await guarded { connection in
                try await Self.batchIDs(try await connection.query(query, logger: logger))
            }
        }
        do {
            return try await transaction { [self] connection in
                try await enqueue(batch: batch, on: connection)
            }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError, error.rollbackError == nil {
                throw closureError
            }
            throw error
        }
    }

    /// Enqueues every job of `batch` on `connection`, inside whatever
    /// transaction the caller has open there: the jobs exist if and only if
    /// that transaction commits. Ids in the batch's order.
    @discardableResult
    public func enqueue(batch: [NewJob], on connection: PostgresConnection) async throws -> [JobID] {
        try Self.checkBatch(batch)
        var ids: [JobID] = []
        ids.reserveCapacity(batch.count)
        var start = batch.startIndex
        while start < batch.endIndex {
            let end = min(start + Self.batchChunkSize, batch.endIndex)
            ids += try await Self.batchIDs(try await connection.query(batchQuery(batch[start..<end]), logger: logger))
            start = end
        }
        return ids
    }

    static func checkBatch(_ batch: [NewJob]) throws {
        if let index = batch.firstIndex(where: { $0.options.uniqueKey != nil }) {
            throw BatchEnqueueError.uniqueKey(index: index)
        }
    }

    func batchQuery(_ jobs: ArraySlice<NewJob>) -> PostgresQuery {
        var kinds: [String] = [], queues: [String] = [], args: [String] = []
        var priorities: [Int16] = [], maxAttempts: [Int16] = [], delays: [Double] = []
        kinds.reserveCapacity(jobs.count); queues.reserveCapacity(jobs.count); args.reserveCapacity(jobs.count)
        priorities.reserveCapacity(jobs.count); maxAttempts.reserveCapacity(jobs.count); delays.reserveCapacity(jobs.count)
        for job in jobs {
            kinds.append(job.kind)
            queues.append(job.options.queue)
            args.append(job.argsJSON)
            priorities.append(job.options.priority)
            maxAttempts.append(job.options.maxAttempts)
            switch job.options.schedule {
            case .now: delays.append(0)
            case .after(let duration): delays.append(duration.nonNegativeSeconds)
            }
        }
        return statements.enqueueBatch(
            kinds: kinds, queues: queues, argsJSON: args, priorities: priorities,
            maxAttempts: maxAttempts, delaySeconds: delays, notify: configuration.notifyOnEnqueue
        )
    }

    static func batchIDs(_ rows: PostgresRowSequence) async throws -> [JobID] {
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) {
            ids.append(id)
        }
        return ids.sorted().map(JobID.init)
    }
}
