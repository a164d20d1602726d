// The durable mode (`DATABASE_URL`): the payloads of a request become jobs in
// PostgreSQL (DurableDispatcher's `JobStore`, kind `payload`, the payload as
// the job's JSON arguments) and the same process runs them with
// `DurableWorkers`, MAX_WORKERS at a time, each running the upload the
// in-memory mode runs. A job then outlives the process: one killed after
// answering is run by the next process on the same database (its rescue).
//
// Invariants:
// - A request's payloads are enqueued in one transaction, all or none, and
//   `POST /payload` answers 200 only once its COMMIT has returned: a 200
//   means every payload of it is a durable job. Any other answer means none
//   of them is known to be one (a COMMIT that failed on a lost connection
//   may still have committed: a client that retries may then have its
//   payloads run twice, at least once each).
// - A payload whose data the database refuses (SQLSTATE class 22: jsonb
//   takes no NUL character) rolls the whole request back: 400, nothing
//   enqueued, counted rejected.
// - With `OVERLOAD=refuse`, the request is refused (503, nothing enqueued)
//   when at least MAX_QUEUE jobs of the queue wait to run, counted in the
//   same transaction before the inserts, at most MAX_QUEUE rows read. A
//   request that finds room is taken whole, and concurrent requests do not
//   see each other's uncommitted jobs, so the queue may pass MAX_QUEUE by
//   what the requests in flight carry: a soft bound, not a capacity.
// - `state.workers` and `state.runner` (the pool's task) are set once, by
//   `start`, and read by `stop`, which shuts the workers down (hand-back
//   included) before it stops the pool.

import DurableDispatcher
import GoConcurrency
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The durable mode's database side: the pool, the store, and the worker
/// process that runs the payload jobs.
public final class DurableIntake: Sendable {
    public let settings: JobServerConfiguration.Durable
    /// The pool of the requests' transactions and of the workers.
    public let client: PostgresClient
    public let store: JobStore
    /// Payload jobs run at once (MAX_WORKERS).
    let workerCount: Int
    /// The refusing mode's bound on waiting jobs (MAX_QUEUE).
    let maxQueue: Int
    let handlers: JobHandlers
    let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var workers: DurableWorkers?
        var runner: Task<Void, Never>?
    }

    /// What became of a request's payloads.
    enum Intake {
        /// Committed: every payload is a durable job.
        case enqueued
        /// Not enqueued: `waiting` jobs (at least MAX_QUEUE) wait already.
        case full(waiting: Int)
        /// Not enqueued: the database refused a payload's data (SQLSTATE
        /// class 22, a text with a NUL character, say); the transaction
        /// rolled back, and sending it again cannot help.
        case rejected(any Error)
        /// Not enqueued, or not known to be (the transaction failed).
        case failed(any Error)
    }

    /// `upload` runs each payload job; throwing (the grace ran out) hands the
    /// job back, or fails its attempt.
    init(
        settings: JobServerConfiguration.Durable, workers: Int, maxQueue: Int, logger: Logger,
        upload: @escaping @Sendable (Payload, Context) async throws -> Void
    ) {
        // The URL was checked by `JobServerConfiguration.parse`.
        guard var configuration = PostgresClient.Configuration(databaseURL: settings.databaseURL) else {
            preconditionFailure("DurableIntake: not a usable DATABASE_URL: \(settings.databaseURL)")
        }
        configuration.options.maximumConnections = settings.maxConnections
        configuration.options.additionalStartupParameters = [
            ("application_name", "jobserver-\(ProcessInfo.processInfo.processIdentifier)"),
        ]
        self.settings = settings
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.store = JobStore(client: client, configuration: StoreConfiguration(schema: settings.schema), logger: logger)
        self.workerCount = workers
        self.maxQueue = maxQueue
        self.logger = logger
        var handlers = JobHandlers()
        handlers.register(JobServerConfiguration.Durable.kind, as: Payload.self) { payload, job in
            try await upload(payload, job.context)
            return .complete
        }
        self.handlers = handlers
    }

    /// Runs the pool, creates or upgrades the schema, and starts the worker
    /// process (registered, locked, fetching). Call it after swift-metrics is
    /// bootstrapped: the workers make some of their metrics when made.
    func start() async throws {
        guard let control = PostgresConnection.Configuration(databaseURL: settings.databaseURL) else {
            preconditionFailure("DurableIntake: not a usable DATABASE_URL: \(settings.databaseURL)")
        }
        let client = self.client
        let runner = Task { await client.run() }
        state.withLock { $0.runner = runner }
        // The pool waits for ever for a database it cannot reach (it keeps
        // reconnecting): give up after `startTimeout` instead.
        let store = self.store
        let timeout = Self.startTimeout
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await store.migrate() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw DatabaseUnreachable(after: timeout)
            }
            try await group.next()
            group.cancelAll()
        }
        let workers = DurableWorkers(
            store: store, control: control,
            options: WorkerOptions(queues: [settings.queue: workerCount]),
            handlers: handlers, logger: logger)
        state.withLock { $0.workers = workers }
        try await workers.start()
    }

    /// How long `start` waits for the database.
    static let startTimeout = Duration.seconds(30)

    /// The database did not answer within ``startTimeout`` at start.
    struct DatabaseUnreachable: Error, CustomStringConvertible {
        let after: Duration
        var description: String { "the database did not answer within \(after)" }
    }

    /// Enqueues `payloads` in one transaction (with `refuseWhenFull`, none
    /// when MAX_QUEUE jobs wait already); returns once it has committed.
    func enqueue(_ payloads: [Payload], refuseWhenFull: Bool) async -> Intake {
        if payloads.isEmpty { return .enqueued }
        let store = self.store
        let options = EnqueueOptions(queue: settings.queue)
        let maxQueue = self.maxQueue
        do {
            let waiting: Int? = try await client.withTransaction(logger: logger) { connection in
                if refuseWhenFull {
                    let waiting = try await store.waitingJobs(queue: options.queue, atMost: maxQueue, on: connection)
                    if waiting >= maxQueue { return waiting }
                }
                for payload in payloads {
                    try await store.enqueue(
                        kind: JobServerConfiguration.Durable.kind, args: payload, options: options, on: connection)
                }
                return nil
            }
            if let waiting { return .full(waiting: waiting) }
            return .enqueued
        } catch let error as PostgresTransactionError {
            if let refused = error.closureError as? PSQLError, error.commitError == nil,
               refused.serverInfo?[.sqlState]?.hasPrefix("22") == true {
                return .rejected(refused)
            }
            return .failed(error)
        } catch {
            return .failed(error)
        }
    }

    /// The queue's jobs by state, every state present (0 when none).
    func jobsByState() async throws -> [String: Int] {
        var jobs = Dictionary(uniqueKeysWithValues: JobMetrics.durableStates.map { ($0, 0) })
        for count in try await store.counts() where count.queue == settings.queue {
            jobs[count.state] = Int(count.count)
        }
        return jobs
    }

    /// Jobs this process has fetched and not yet finished.
    var inFlight: Int {
        state.withLock { $0.workers }?.inFlight(queue: settings.queue) ?? 0
    }

    /// Shuts the workers down (running uploads get `grace`, then they and
    /// the jobs not started go back to the database), then the pool.
    func stop(grace: Duration) async -> ShutdownReport {
        let (workers, runner) = state.withLock { ($0.workers, $0.runner) }
        let report = await workers?.shutdown(grace: grace) ?? ShutdownReport()
        runner?.cancel()
        await runner?.value
        return report
    }
}

extension JobService {
    /// The default upload of the durable mode: the in-memory mode's sleep of
    /// `delay`, which also ends when `context` does (the shutdown's grace
    /// ran out): it throws, and the job goes back to the database.
    static func interruptibleUpload(_ delay: Duration) -> @Sendable (Payload, Context) async throws -> Void {
        { payload, context in
            if delay > .zero {
                let done = context.done
                let interrupted = try await select {
                    done.onReceive { _ in true }
                    after(delay).onReceive { _ in false }
                }
                if interrupted { throw context.cause ?? ContextError.canceled }
            }
            _ = payload.data.utf8.count
        }
    }

    /// Starts the durable mode (pool, schema, workers); nothing in the
    /// in-memory mode. The program calls it after bootstrapping
    /// swift-metrics with ``metrics``' factory.
    public func startDurable() async throws {
        try await durable?.start()
    }

    /// `POST /payload` in the durable mode, after the body is decoded: one
    /// transaction for the whole collection, 200 once it has committed.
    func durablePayload(_ payloads: [Payload], _ durable: DurableIntake) async -> Response {
        switch await durable.enqueue(payloads, refuseWhenFull: configuration.overload == .refuse) {
        case .enqueued:
            counts.accept(payloads.count)
            return Response(status: .ok)
        case .full(let waiting):
            logger.debug("queue full, payloads refused", metadata: ["waiting": "\(waiting)"])
            return refused(queued: 0, of: payloads.count)
        case .rejected(let error):
            logger.debug("payload data refused by the database", metadata: ["error": "\(String(reflecting: error))"])
            counts.reject(payloads.count)
            return Response(status: .badRequest)
        case .failed(let error):
            logger.warning("enqueue failed, payloads refused", metadata: ["error": "\(String(reflecting: error))"])
            return refused(queued: 0, of: payloads.count)
        }
    }

    /// `GET /stats` in the durable mode: the Go server's four counts (queued:
    /// jobs of the queue pending in the database, available, scheduled or
    /// retryable; busy: jobs this process has fetched and not finished),
    /// then the queue's jobs by state. 503 when the database does not answer.
    func durableStats(_ durable: DurableIntake) async -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        let jobs: [String: Int]
        do {
            jobs = try await durable.jobsByState()
        } catch {
            logger.warning("job counts failed", metadata: ["error": "\(String(reflecting: error))"])
            return Response(
                status: .serviceUnavailable, headers: headers,
                body: ResponseBody(byteBuffer: ByteBuffer(string: "database unavailable\n")))
        }
        let processed = self.processed
        var line = "accepted \(accepted) processed \(processed) queued \(Self.pending(jobs)) busy \(durable.inFlight)"
        for state in JobMetrics.durableStates {
            line += " \(state) \(jobs[state] ?? 0)"
        }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: line + "\n")))
    }

    /// `GET /metrics` in the durable mode: the gauges sampled from the
    /// database (when it answers) and the worker process.
    func durableScrape(_ durable: DurableIntake) async -> Response {
        var jobs: [String: Int]?
        do {
            jobs = try await durable.jobsByState()
        } catch {
            logger.warning("job counts failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        let text = metrics.exposition(
            queueDepth: jobs.map(Self.pending) ?? 0, busyWorkers: durable.inFlight,
            goroutines: GoRuntime.goroutineCount, durableJobs: jobs)
        var headers = HTTPFields()
        headers[.contentType] = JobMetrics.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }

    /// Jobs pending in the database: not taken by a worker, not finished.
    static func pending(_ jobs: [String: Int]) -> Int {
        (jobs["available"] ?? 0) + (jobs["scheduled"] ?? 0) + (jobs["retryable"] ?? 0)
    }

    /// The durable mode's stop: the workers, then the pool; logs the counts.
    func stopDurable(_ durable: DurableIntake) async {
        let report = await durable.stop(grace: durable.settings.grace)
        logger.info("stopped", metadata: [
            "accepted": "\(accepted)",
            "processed": "\(processed)",
            "handed_back": "\(report.handedBack)",
            "interrupted": "\(report.interrupted)",
            "rejected": "\(rejected)",
            "deregistered": "\(report.deregistered)",
        ])
    }
}
