// JobStore: the durable dispatcher's jobs in PostgreSQL — migrate the schema,
// enqueue (on the store's pool or inside the caller's transaction), fetch for
// a worker, record a completion, failure or snooze fenced by the attempt
// (a completion possibly in one transaction with the handler's writes),
// retry by id, prune, count.
//
// Holds no state of its own besides its configuration and the caller's
// client: every guarantee is a statement's (Statements.swift), so any number
// of stores in any number of processes may share one schema.
import Foundation
import Logging
import PostgresNIO

/// Durable jobs in one schema of a PostgreSQL database.
///
/// The caller owns the `PostgresClient` and runs it (`client.run()` in a task
/// of its own) for as long as the store is used.
public struct JobStore: Sendable {
    public let client: PostgresClient
    public let configuration: StoreConfiguration
    let statements: Statements
    public let logger: Logger

    public init(client: PostgresClient, configuration: StoreConfiguration = .init(), logger: Logger = Logger(label: "DurableDispatcher")) {
        self.client = client
        self.configuration = configuration
        self.statements = Statements(schema: configuration.schema, lockNamespace: configuration.lockNamespace)
        self.logger = logger
    }

    /// The schema version this library creates.
    public static let schemaVersion: Int32 = 1

    // MARK: Migration

    /// Creates the schema or brings it to ``schemaVersion``, in one
    /// transaction under an advisory lock, so concurrent callers apply each
    /// migration once. Returns the version found before.
    @discardableResult
    public func migrate() async throws -> Int32 {
        let statements = self.statements
        let logger = self.logger
        return try await transaction { connection in
            // Read committed whatever the database's default: under a
            // snapshot taken before the lock was granted, a second migrator
            // would see version 0 and create the type again.
            try await connection.query("SET TRANSACTION ISOLATION LEVEL READ COMMITTED", logger: logger)
            try await connection.query(statements.migrationLock, logger: logger)
            try await connection.query(statements.createSchema, logger: logger)
            try await connection.query(statements.createVersionTable, logger: logger)
            var found: Int32 = 0
            for try await version in try await connection.query(statements.appliedVersion, logger: logger).decode(Int32.self) {
                found = version
            }
            if found < 1 {
                for statement in statements.migration1 {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query(statements.recordVersion(1), logger: logger)
            }
            return found
        }
    }

    // MARK: Workers

    /// Registers a worker process and returns its id, the owner of the jobs
    /// it fetches.
    public func registerWorker(host: String, pid: Int32, queues: [String]) async throws -> WorkerID {
        for row in try await rows(statements.registerWorker(host: host, pid: pid, queues: queues)) {
            return WorkerID(try row.decode(Int32.self))
        }
        throw StoreError.noRowReturned("register worker")
    }

    // MARK: Enqueue

    /// Enqueues a job whose arguments are `args` encoded as JSON, in a
    /// transaction of its own.
    @discardableResult
    public func enqueue<Args: Encodable>(kind: String, args: Args, options: EnqueueOptions = .init()) async throws -> EnqueueResult {
        try await enqueue(kind: kind, argsJSON: Self.json(args), options: options)
    }

    /// Enqueues a job whose arguments are the JSON text `argsJSON`, in a
    /// transaction of its own.
    @discardableResult
    public func enqueue(kind: String, argsJSON: String, options: EnqueueOptions = .init()) async throws -> EnqueueResult {
        let query = enqueueQuery(kind: kind, argsJSON: argsJSON, options: options)
        for row in try await rows(query) {
            return Self.enqueueResult(try row.decode((Int64, Bool).self))
        }
        throw StoreError.noRowReturned("enqueue")
    }

    /// Enqueues on `connection`, inside whatever transaction the caller has
    /// open there (`client.withTransaction { connection in … }`): the job
    /// exists if and only if that transaction commits.
    @discardableResult
    public func enqueue<Args: Encodable>(
        kind: String, args: Args, options: EnqueueOptions = .init(), on connection: PostgresConnection
    ) async throws -> EnqueueResult {
        try await enqueue(kind: kind, argsJSON: Self.json(args), options: options, on: connection)
    }

    /// ``enqueue(kind:args:options:on:)`` with the arguments as JSON text.
    @discardableResult
    public func enqueue(
        kind: String, argsJSON: String, options: EnqueueOptions = .init(), on connection: PostgresConnection
    ) async throws -> EnqueueResult {
        let query = enqueueQuery(kind: kind, argsJSON: argsJSON, options: options)
        for try await row in try await connection.query(query, logger: logger).decode((Int64, Bool).self) {
            return Self.enqueueResult(row)
        }
        throw StoreError.noRowReturned("enqueue")
    }

    func enqueueQuery(kind: String, argsJSON: String, options: EnqueueOptions) -> PostgresQuery {
        let delay: Double
        switch options.schedule {
        case .now: delay = 0
        case .after(let duration): delay = duration.nonNegativeSeconds
        }
        return statements.enqueue(
            kind: kind, queue: options.queue, argsJSON: argsJSON, priority: options.priority,
            maxAttempts: options.maxAttempts, uniqueKey: options.uniqueKey,
            delaySeconds: delay, scheduled: delay > 0, notify: configuration.notifyOnEnqueue
        )
    }

    static func enqueueResult(_ row: (Int64, Bool)) -> EnqueueResult {
        row.1 ? .duplicate(JobID(row.0)) : .inserted(JobID(row.0))
    }

    static func json<Args: Encodable>(_ args: Args) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(args), as: UTF8.self)
    }

    // MARK: Fetch

    /// Takes at most `limit` runnable jobs of `queue` (priority first, then
    /// the earliest scheduled), marks them running under `worker` with their
    /// attempt counted, and returns them. Concurrent fetchers never get the
    /// same job; none waits for another's locked rows.
    public func fetch(queue: String, limit: Int, worker: WorkerID) async throws -> [FetchedJob] {
        guard limit > 0 else { return [] }
        let query = statements.fetch(queue: queue, limit: Int32(clamping: limit), owner: worker.rawValue)
        var jobs: [FetchedJob] = []
        for row in try await rows(query) {
            let (id, queue, kind, args, attempt, maxAttempts, priority, metadata, attemptedAt)
                = try row.decode((Int64, String, String, String, Int16, Int16, Int16, String, Int64).self)
            jobs.append(FetchedJob(
                id: JobID(id), queue: queue, kind: kind, argsJSON: args, attempt: attempt,
                maxAttempts: maxAttempts, priority: priority, metadataJSON: metadata, owner: worker,
                attemptedAtMicros: attemptedAt
            ))
        }
        return jobs
    }

    // MARK: Outcomes

    /// Marks the job's attempt completed, if it is still the live attempt.
    public func complete(_ job: FetchedJob) async throws -> CompletionResult {
        if try await !rows(statements.complete(job.fence)).isEmpty {
            return .completed
        }
        logger.info("completion fenced", metadata: ["job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "owner": "\(job.owner.rawValue)"])
        return .fenced
    }

    /// Runs `body` and the job's fenced completion in one transaction: the
    /// handler's own writes on `connection` commit if and only if this
    /// attempt is still the live one. When it is not, the transaction rolls
    /// back (so do the handler's writes) and the result is `.fenced`. An
    /// error thrown by `body` rolls back too and is rethrown as is (the job
    /// stays running: record the failure with ``fail(_:error:)``). A failed
    /// COMMIT (the connection lost, say) throws `PostgresTransactionError`
    /// with its `commitError`: whether it committed is then unknown, and
    /// only the database can tell (the job's state).
    public func completeInTransaction<Value: Sendable>(
        _ job: FetchedJob,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> (CompletionResult, Value?) {
        let query = statements.complete(job.fence)
        let logger = self.logger
        do {
            let value = try await transaction { connection in
                let value = try await body(connection)
                let rows = try await connection.query(query, logger: logger)
                for try await _ in rows.decode(Int64.self) {
                    return value
                }
                throw JobFenced()
            }
            return (.completed, value)
        } catch let error as PostgresTransactionError {
            if error.closureError is JobFenced {
                logger.info("transactional completion fenced, rolled back", metadata: [
                    "job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "owner": "\(job.owner.rawValue)",
                ])
                return (.fenced, nil)
            }
            if let closureError = error.closureError, error.rollbackError == nil {
                throw closureError
            }
            throw error
        }
    }

    /// Records the attempt's failure (`error` joins the job's error history),
    /// if it is still the live attempt: the job retries after the retry
    /// policy's backoff, or is discarded when it has used its attempts, or
    /// ends cancelled if a cancel was requested while it ran.
    public func fail(_ job: FetchedJob, error: String) async throws -> FailureResult {
        // A policy's NaN, infinity or absurd delay would make the statement
        // fail and leave the job running: at most about ten years.
        let proposed = configuration.retryPolicy.backoffSeconds(Int(job.attempt))
        let backoff = proposed.isFinite ? min(max(proposed, 0), Duration.longestDelaySeconds) : Duration.longestDelaySeconds
        let query = statements.fail(job.fence, error: Self.storable(error), backoffSeconds: backoff)
        for row in try await rows(query) {
            let (state, scheduledAt) = try row.decode((String, Date).self)
            if state == "discarded" {
                logger.info("job discarded", metadata: ["job": "\(job.id.rawValue)", "attempt": "\(job.attempt)"])
                return .discarded
            }
            if state == "cancelled" {
                return .cancelled
            }
            return .retryable(scheduledAt: scheduledAt, backoffSeconds: backoff)
        }
        logger.info("failure fenced", metadata: ["job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "owner": "\(job.owner.rawValue)"])
        return .fenced
    }
}

extension JobStore {
    /// Puts the job back for `delay` (from the database's `now()`) without
    /// counting the attempt, if it is still the live attempt.
    public func snooze(_ job: FetchedJob, for delay: Duration) async throws -> SnoozeResult {
        let query = statements.snooze(job.fence, delaySeconds: delay.nonNegativeSeconds)
        for row in try await rows(query) {
            let (state, scheduledAt) = try row.decode((String, Date).self)
            return state == "cancelled" ? .cancelled : .scheduled(at: scheduledAt)
        }
        logger.info("snooze fenced", metadata: ["job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "owner": "\(job.owner.rawValue)"])
        return .fenced
    }

    /// Makes a job that is not running available at once, with one more
    /// attempt if it had used them all (a discarded, cancelled or completed
    /// job runs again).
    public func retry(_ id: JobID) async throws -> RetryResult {
        do {
            return try await rows(statements.retry(id: id.rawValue)).isEmpty ? .notRetried : .retried
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == PostgresError.Code.uniqueViolation.raw {
            return .uniqueConflict
        }
    }

    /// Deletes the jobs finalized (completed, cancelled, discarded) more than
    /// `retention` ago, `batch` at a time until fewer remain; returns how many.
    @discardableResult
    public func prune(olderThan retention: Duration, batch: Int = 5_000) async throws -> Int {
        let batch = Int32(clamping: max(batch, 1))
        let query = statements.prune(olderThanSeconds: retention.nonNegativeSeconds, batch: batch)
        var total = 0
        while true {
            var deleted = 0
            for row in try await rows(query) {
                deleted = Int(try row.decode(Int64.self))
            }
            total += deleted
            if deleted < Int(batch) { return total }
        }
    }

    /// Jobs per queue and state (states without jobs are absent), ordered
    /// by queue, then state.
    public func counts() async throws -> [JobCount] {
        var counts: [JobCount] = []
        for row in try await rows(statements.counts) {
            let (queue, state, count) = try row.decode((String, String, Int64).self)
            counts.append(JobCount(queue: queue, state: state, count: count))
        }
        return counts
    }
}

extension Duration {
    /// Seconds as a `make_interval(secs => …)` argument; negative is 0.
    /// Seconds as a `make_interval(secs => …)` argument: negative is 0, and
    /// at most about ten years (beyond, `now() + interval` leaves
    /// PostgreSQL's timestamp range and the statement fails).
    var nonNegativeSeconds: Double {
        let (seconds, attoseconds) = components
        return min(max(0, Double(seconds) + Double(attoseconds) / 1e18), Self.longestDelaySeconds)
    }

    /// About ten years: the longest delay a statement is given.
    static let longestDelaySeconds: Double = 315_360_000
}

/// Inside ``JobStore/completeInTransaction(_:_:)``: the completion found the
/// attempt no longer live, so the transaction rolls back.
struct JobFenced: Error {}

/// A statement did not return what it always returns.
public enum StoreError: Error, Sendable {
    case noRowReturned(String)
}
