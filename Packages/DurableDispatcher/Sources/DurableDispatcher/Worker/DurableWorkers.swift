// DurableWorkers: one worker process of the durable dispatcher. Per queue, a
// producer goroutine fetches as many jobs as the queue's Dispatcher has free
// workers and submits them; each worker runs the job's handler and records
// its outcome, fenced by the attempt. A control goroutine holds the process's
// session lock on a connection of its own, heartbeats, listens for
// notifications and reconnects; a maintenance goroutine rescues dead
// processes' jobs and prunes. `shutdown` stops every producer at once, lets
// running jobs finish within a grace period, and hands the rest back.
//
// Invariants:
// - Every job this process fetched (running, owned by it) is in exactly one
//   place until its outcome is recorded: in the producer's hands between the
//   fetch and the submit, in a Dispatcher's queue, or with a worker. Shutdown
//   stops the producers and waits for them before it stops the Dispatchers,
//   so no job is between fetch and submit then; the Dispatchers return the
//   queued ones, workers set aside the interrupted ones, and all are handed
//   back (the attempt restored).
// - A queue's `inFlight` counts jobs fetched and not yet finished by their
//   worker. A producer fetches at most `concurrency - inFlight`, so the
//   Dispatcher's queue (capacity `concurrency`) never fills: `submit` never
//   waits.
// - `state.running` holds the cancel of each running handler's context,
//   keyed by job id, from before the handler starts until it has returned.
// - The worker id changes only when the process was declared dead (its row
//   deleted): later fetches use the new one; jobs fetched under the old one
//   were rescued and their outcomes are fenced.
// - Stopping is one transition: the first `shutdown` does it and closes
//   `finished`; a later call waits for that and returns the same report.
import Foundation
import GoConcurrency
import Logging
import PostgresNIO
import Synchronization

/// A worker process of the durable dispatcher: runs the jobs of its queues
/// with a GoConcurrency `Dispatcher` per queue, fetching as many as it has
/// free workers, and survives the loss of other processes (their jobs are
/// rescued) and of the database connection (it reconnects).
///
///     var handlers = JobHandlers()
///     handlers.register("email", as: Email.self) { email, job in
///         try await send(email, context: job.context)
///         return .complete
///     }
///     let workers = DurableWorkers(store: store, control: controlConfiguration,
///                                  options: .init(queues: ["default": 16]), handlers: handlers)
///     try await workers.start()
///     …
///     let report = await workers.shutdown(grace: .seconds(10))
public final class DurableWorkers: Sendable {
    public let store: JobStore
    public let options: WorkerOptions
    let handlers: JobHandlers
    let controlConfiguration: PostgresConnection.Configuration
    let logger: Logger
    let metrics: WorkerMetrics
    let queues: [String: QueueRunner]
    /// Closed when shutdown begins: producers and maintenance stop.
    let stopFetching = Chan<Void>()
    /// Closed at the end of shutdown: heartbeat and LISTEN stop.
    let stopControl = Chan<Void>()
    /// Closed when the first shutdown has finished.
    let finished = Chan<Void>()
    let producers = Sync.WaitGroup()
    let background = Sync.WaitGroup()
    let healthy = Atomic<Bool>(false)
    let stopping = Atomic<Bool>(false)
    let state = Mutex(State())

    struct State {
        var started = false
        var worker: WorkerID?
        var running: [JobID: @Sendable ((any Error)?) -> Void] = [:]
        var interrupted: [FetchedJob] = []
        var report: ShutdownReport?
        var connections = 0
    }

    /// A process that runs `handlers` on the jobs of `options.queues`, with
    /// `store`'s pool for fetches and outcomes and one more connection
    /// (`control`: the same database) for its lock, heartbeat and
    /// notifications. The caller runs the store's client.
    public init(
        store: JobStore,
        control: PostgresConnection.Configuration,
        options: WorkerOptions,
        handlers: JobHandlers,
        logger: Logger = Logger(label: "DurableDispatcher.workers")
    ) {
        self.store = store
        self.controlConfiguration = control
        self.options = options
        self.handlers = handlers
        self.logger = logger
        self.metrics = WorkerMetrics()
        var queues: [String: QueueRunner] = [:]
        for (name, concurrency) in options.queues {
            queues[name] = QueueRunner(name: name, concurrency: concurrency)
        }
        self.queues = queues
        for runner in queues.values {
            runner.dispatcher = Dispatcher(
                configuration: .init(maxWorkers: runner.concurrency, maxQueue: runner.concurrency)
            ) { [unowned self, unowned runner] job, context in
                await self.run(job, context: context, runner: runner)
            }
        }
    }

    /// This process's id (its `gc_workers` row), once started.
    public var workerID: WorkerID? { state.withLock { $0.worker } }

    /// Whether the control connection is up, locked and heartbeating (the
    /// producers fetch only then).
    public var isHealthy: Bool { healthy.load(ordering: .acquiring) }

    /// Jobs of `queue` fetched and not yet finished.
    public func inFlight(queue: String) -> Int { queues[queue]?.inFlight.load(ordering: .relaxed) ?? 0 }

    /// Registers the process, takes its session lock (and LISTENs) on the
    /// control connection, and starts the producers and maintenance.
    /// Returns once the process is registered and locked. Once only.
    public func start() async throws {
        let first = state.withLock { state in
            defer { state.started = true }
            return !state.started
        }
        precondition(first, "DurableWorkers: start called twice")
        let worker = try await store.registerWorker(
            host: options.host, pid: ProcessInfo.processInfo.processIdentifier, queues: options.queues.keys.sorted())
        state.withLock { $0.worker = worker }
        let connection = try await connectControl()
        healthy.store(true, ordering: .releasing)
        logger.info("worker process started", metadata: ["worker": "\(worker.rawValue)", "queues": "\(options.queues)"])
        background.go { [self] in await controlLoop(first: connection) }
        background.go { [self] in await maintenanceLoop() }
        for runner in queues.values {
            runner.dispatcher.start()
            producers.go { [self] in await produce(runner) }
        }
    }

    /// Cancels a job by id (see ``JobStore/cancel(_:)``); a job running in
    /// any process, this one included, has its context cancelled.
    public func cancel(_ id: JobID) async throws -> CancelResult {
        try await store.cancel(id)
    }

    /// Stops fetching on every queue at once, lets running jobs finish for
    /// `grace` (then cancels their contexts), hands back the jobs not run and
    /// the interrupted ones without costing an attempt, and leaves (row
    /// deleted, lock released). Returns once every job of this process is
    /// recorded or handed back. A second call waits for the first.
    @discardableResult
    public func shutdown(grace: Duration) async -> ShutdownReport {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else {
            let finished = finished
            _ = try? await finished.receive()
            return state.withLock { $0.report } ?? ShutdownReport()
        }
        let started = state.withLock { $0.started }
        try? stopFetching.close()
        var report = ShutdownReport()
        if started {
            // No fetch is in flight once the producers have left.
            try? await producers.wait()
            let returned = await withTaskGroup(of: [FetchedJob].self) { group in
                for runner in queues.values {
                    group.addTask { await runner.dispatcher.stop(.returnQueued, grace: grace) }
                }
                var all: [FetchedJob] = []
                for await jobs in group { all += jobs }
                return all
            }
            let interrupted = state.withLock { state in
                defer { state.interrupted = [] }
                return state.interrupted
            }
            report.notStarted = returned.count
            report.interrupted = interrupted.count
            for runner in queues.values {
                runner.inFlight.subtract(returned.filter { $0.queue == runner.name }.count, ordering: .relaxed)
            }
            let toHandBack = returned + interrupted
            if !toHandBack.isEmpty {
                do {
                    report.handedBack = try await store.handBack(toHandBack).count
                } catch {
                    logger.error("hand-back failed; the rescue will retry these jobs", metadata: ["error": "\(error)", "jobs": "\(toHandBack.count)"])
                }
                metrics.handedBack.increment(by: report.handedBack)
            }
            try? stopControl.close()
            try? await background.wait()
            if let worker = workerID {
                report.deregistered = (try? await store.deregister(worker)) ?? false
            }
        }
        logger.info("worker process stopped", metadata: [
            "worker": "\(workerID.map { "\($0.rawValue)" } ?? "none")", "handedBack": "\(report.handedBack)",
        ])
        state.withLock { $0.report = report }
        try? finished.close()
        return report
    }

    // MARK: Producing

    /// Fetches as many jobs as the queue has free workers, whenever a
    /// notification, a finished job or the poll timer says there may be
    /// some; stops when shutdown begins.
    func produce(_ runner: QueueRunner) async {
        while !stopping.load(ordering: .acquiring) {
            var fetchFailed = false
            if healthy.load(ordering: .acquiring), let worker = workerID {
                let free = runner.concurrency - runner.inFlight.load(ordering: .relaxed)
                if free > 0 {
                    do {
                        let jobs = try await store.fetch(queue: runner.name, limit: free, worker: worker)
                        runner.inFlight.add(jobs.count, ordering: .relaxed)
                        metrics.fetched(runner.name, jobs.count)
                        for job in jobs {
                            // Never waits (see the invariants); the Dispatcher
                            // stops only after the producers have left.
                            try? await runner.dispatcher.submit(job)
                        }
                        if jobs.count == free { continue }
                    } catch {
                        fetchFailed = true
                        logger.warning("fetch failed", metadata: ["queue": "\(runner.name)", "error": "\(error)"])
                    }
                }
            }
            let wait = fetchFailed ? options.pollInterval : options.pollInterval.jittered()
            let stop: Bool = (try? await select {
                stopFetching.onReceive { _ in true }
                runner.wake.onReceive { _ in false }
                after(wait) { false }
            }) ?? true
            if stop { break }
        }
    }

    // MARK: Running a job

    /// A Dispatcher worker's handling of one job: its handler, then its
    /// outcome recorded (or, interrupted by shutdown, set aside for the
    /// hand-back).
    func run(_ job: FetchedJob, context dispatchContext: Context, runner: QueueRunner) async {
        defer { runner.finished() }
        let (jobContext, cancel) = dispatchContext.withCancelCause()
        state.withLock { $0.running[job.id] = cancel }
        defer {
            state.withLock { _ = $0.running.removeValue(forKey: job.id) }
            cancel(nil)
        }
        let completion = TransactionalCompletion()
        let outcome: Result<JobOutcome, any Error>
        let begun = ContinuousClock.now
        if let handler = handlers.byKind[job.kind] {
            do {
                outcome = .success(try await handler(JobContext(job: job, context: jobContext, store: store, completion: completion)))
            } catch {
                outcome = .failure(error)
            }
        } else {
            outcome = .failure(UnknownJobKind(kind: job.kind))
        }
        metrics.jobDuration(job.queue, ContinuousClock.now - begun)
        if let recorded = completion.recorded {
            metrics.finished(job.queue, recorded == .completed ? "completed" : "fenced")
            return
        }
        if case .failure = outcome, dispatchContext.cause is Dispatcher<FetchedJob>.Stopped {
            // The shutdown's grace ran out: not the job's failure.
            state.withLock { $0.interrupted.append(job) }
            return
        }
        let cancelRequested = jobContext.cause is JobCancelRequested
        await record(job, giveUpWhen: dispatchContext) { [store] in
            switch outcome {
            case .success(.complete):
                return try await store.complete(job) == .completed ? "completed" : "fenced"
            case .success(.snooze(let delay)):
                if case .scheduled = try await store.snooze(job, for: delay) { return "snoozed" }
                return "fenced"
            case .success(.cancel(let reason)):
                return try await store.cancelAttempt(job, reason: reason) == .completed ? "cancelled" : "fenced"
            case .failure where cancelRequested:
                return try await store.cancelAttempt(job, reason: "cancel requested") == .completed ? "cancelled" : "fenced"
            case .failure(let error):
                switch try await store.fail(job, error: errorText(error)) {
                case .retryable: return "retryable"
                case .discarded: return "discarded"
                case .cancelled: return "cancelled"
                case .fenced: return "fenced"
                }
            }
        }
    }

    /// Records an outcome, retrying through lost connections and a database
    /// restart (each outcome is fenced, so a repeat is harmless) until it
    /// succeeds, or until the shutdown's grace has run out: the job then
    /// stays running under this process, and the rescue retries it once the
    /// process is gone.
    func record(_ job: FetchedJob, giveUpWhen context: Context, _ write: @Sendable () async throws -> String) async {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let outcome = try await write()
                metrics.finished(job.queue, outcome)
                return
            } catch {
                if context.err != nil {
                    logger.error("outcome not recorded; the job is retried once this process is gone", metadata: [
                        "job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "error": "\(error)",
                    ])
                    return
                }
                logger.warning("recording an outcome failed, retrying", metadata: ["job": "\(job.id.rawValue)", "error": "\(error)"])
                _ = try? await select {
                    context.done.onReceive { _ in () }
                    after(delay).onReceive { _ in () }
                }
                delay = min(delay * 2, .seconds(2))
            }
        }
    }

    /// What a failed attempt's error entry says. postgres-nio's errors
    /// describe themselves generically ("to prevent accidental leakage"):
    /// their reflection names the server's message and SQLSTATE, which is
    /// what someone reading the job's errors needs.
    func errorText(_ error: any Error) -> String {
        switch error {
        case let error as PSQLError: String(reflecting: error)
        case let error as PostgresTransactionError: String(reflecting: error)
        default: String(describing: error)
        }
    }

    // MARK: Control connection

    /// Connects, proves this process's row still exists (registering anew if
    /// it was declared dead), and takes its session lock (registering anew
    /// if a lingering session of its own still holds it).
    func connectControl() async throws -> PostgresConnection {
        let id = state.withLock { state in
            state.connections += 1
            return state.connections
        }
        let connection = try await PostgresConnection.connect(configuration: controlConfiguration, id: id, logger: logger)
        do {
            guard var worker = workerID else { throw StoreError.noRowReturned("worker id") }
            if try await !store.heartbeat(worker, on: connection) {
                worker = try await registerAgain(because: "its row is gone")
            }
            if try await !store.lockWorker(worker, on: connection) {
                worker = try await registerAgain(because: "a lingering session holds its lock")
                guard try await store.lockWorker(worker, on: connection) else {
                    throw StoreError.noRowReturned("the session lock of a new worker id")
                }
            }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    func registerAgain(because reason: String) async throws -> WorkerID {
        let old = workerID
        let worker = try await store.registerWorker(
            host: options.host, pid: ProcessInfo.processInfo.processIdentifier, queues: options.queues.keys.sorted())
        state.withLock { $0.worker = worker }
        metrics.reregistered.increment()
        logger.warning("worker process registered again", metadata: [
            "old": "\(old.map { "\($0.rawValue)" } ?? "none")", "new": "\(worker.rawValue)", "reason": "\(reason)",
        ])
        return worker
    }

    /// Serves the control connection (heartbeat, notifications) and
    /// reconnects when it is lost, until shutdown ends.
    func controlLoop(first: PostgresConnection) async {
        var connection: PostgresConnection? = first
        var delay = Duration.milliseconds(100)
        while !stopControl.isClosedForControl {
            if connection == nil {
                do {
                    connection = try await connectControl()
                    delay = .milliseconds(100)
                    metrics.reconnected.increment()
                    logger.info("control connection restored", metadata: ["worker": "\(workerID.map { "\($0.rawValue)" } ?? "none")"])
                } catch {
                    logger.warning("control connection failed", metadata: ["error": "\(error)"])
                    // Still alive: heartbeat through the pool if it can
                    // reach the database, so the rescue (which sees the
                    // lock gone) does not take this process's jobs.
                    if let worker = workerID {
                        _ = try? await store.heartbeat(worker)
                    }
                    let stop: Bool = (try? await select {
                        stopControl.onReceive { _ in true }
                        after(delay).onReceive { _ in false }
                    }) ?? true
                    if stop { break }
                    delay = min(delay * 2, .seconds(2))
                    continue
                }
            }
            guard let live = connection else { continue }
            healthy.store(true, ordering: .releasing)
            metrics.controlUp.record(1)
            // Producers skipped their fetches while it was down.
            for runner in queues.values { _ = runner.wake.trySend(()) }
            do {
                try await serve(live)
            } catch {
                logger.warning("control connection lost", metadata: ["error": "\(error)"])
            }
            healthy.store(false, ordering: .releasing)
            metrics.controlUp.record(0)
            try? await live.close()
            connection = nil
        }
        if let connection {
            try? await connection.close()
        }
        healthy.store(false, ordering: .releasing)
    }

    /// Heartbeats (and LISTENs, unless polling only) on `connection` until
    /// shutdown ends or the connection fails.
    func serve(_ connection: PostgresConnection) async throws {
        // The LISTEN runs in a task of its own, never awaited: on a closed
        // connection postgres-nio may leave it unanswered (see
        // ConnectionGuard.swift), and nothing here may wait for it. It ends
        // with the connection, which the heartbeat's end closes.
        let listening: Task<Void, Never>? = options.pollOnly ? nil : Task { [self] in
            do {
                try await connection.listen(on: store.notificationChannel) { notifications in
                    for try await notification in notifications {
                        self.received(notification.payload)
                    }
                }
            } catch {
                logger.debug("LISTEN ended", metadata: ["error": "\(error)"])
            }
            // Its end is the connection's: make the heartbeat notice.
            try? await connection.close()
        }
        defer { listening?.cancel() }
        do {
            try await heartbeat(on: connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    func heartbeat(on connection: PostgresConnection) async throws {
        while true {
            let stop: Bool = (try? await select {
                stopControl.onReceive { _ in true }
                after(options.heartbeatInterval).onReceive { _ in false }
            }) ?? true
            if stop { return }
            guard let worker = workerID else { return }
            if try await !store.heartbeat(worker, on: connection) {
                // Declared dead (a pause longer than the lease, say): its
                // jobs were rescued; their outcomes will be fenced.
                healthy.store(false, ordering: .releasing)
                let fresh = try await registerAgain(because: "declared dead")
                guard try await store.lockWorker(fresh, on: connection) else {
                    throw StoreError.noRowReturned("the session lock of a new worker id")
                }
                try? await store.unlockWorker(worker, on: connection)
                healthy.store(true, ordering: .releasing)
            }
        }
    }

    /// A notification: a queue has a runnable job, or a job's cancel was
    /// requested.
    func received(_ payload: String) {
        if payload.hasPrefix("queue:") {
            if let runner = queues[String(payload.dropFirst(6))] {
                _ = runner.wake.trySend(())
            }
        } else if payload.hasPrefix("cancel:"), let id = Int64(payload.dropFirst(7)) {
            let cancel = state.withLock { $0.running[JobID(id)] }
            cancel?(JobCancelRequested(id: JobID(id)))
        }
    }

    // MARK: Maintenance

    /// Rescues dead processes' jobs every `rescueInterval` and prunes every
    /// `pruneInterval`, until shutdown begins.
    func maintenanceLoop() async {
        var nextPrune = ContinuousClock.now + options.pruneInterval.jittered()
        while true {
            let stop: Bool = (try? await select {
                stopFetching.onReceive { _ in true }
                after(options.rescueInterval.jittered()).onReceive { _ in false }
            }) ?? true
            if stop { return }
            guard healthy.load(ordering: .acquiring) else { continue }
            do {
                if let report = try await store.rescue(options.rescue) {
                    for job in report.jobs { metrics.rescued(job.reason) }
                    // The rescue notified the queues of the jobs it put back;
                    // in polling-only mode, wake this process's own.
                    for queue in Set(report.jobs.map(\.queue)) {
                        _ = queues[queue]?.wake.trySend(())
                    }
                }
            } catch {
                logger.warning("rescue failed", metadata: ["error": "\(error)"])
            }
            if let retention = options.retention, ContinuousClock.now >= nextPrune {
                nextPrune = ContinuousClock.now + options.pruneInterval.jittered()
                do {
                    let pruned = try await store.prune(olderThan: retention)
                    metrics.pruned.increment(by: pruned)
                } catch {
                    logger.warning("prune failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}

/// One queue of a worker process: its Dispatcher, how many of its jobs are
/// in flight, and the wake-up channel its producer waits on.
final class QueueRunner: @unchecked Sendable {
    let name: String
    let concurrency: Int
    let inFlight = Atomic<Int>(0)
    /// A notification, a rescue or a finished job: fetch now. Capacity 1, so
    /// wake-ups coalesce and a sender never waits.
    let wake = Chan<Void>(capacity: 1)
    /// Set once, in DurableWorkers.init, before the instance is shared.
    var dispatcher: Dispatcher<FetchedJob>!

    init(name: String, concurrency: Int) {
        self.name = name
        self.concurrency = concurrency
    }

    func finished() {
        inFlight.subtract(1, ordering: .relaxed)
        _ = wake.trySend(())
    }
}

/// What a shutdown did.
public struct ShutdownReport: Sendable, Equatable {
    /// Jobs fetched but never started (returned by the Dispatchers).
    public var notStarted = 0
    /// Jobs whose handler was still running when the grace ran out.
    public var interrupted = 0
    /// Jobs given back to the queue, attempt restored.
    public var handedBack = 0
    /// Whether the process's row was deleted (false: jobs of it are still
    /// running in the database, for the rescue to take).
    public var deregistered = false

    public init() {}
}

extension Chan where Element == Void {
    /// Whether the channel is closed and empty (a stop signal was given).
    var isClosedForControl: Bool {
        if case .closed = tryReceive() { return true }
        return false
    }
}
