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
//   worker. A producer fetches at most `2 × concurrency - inFlight`: a
//   worker that finishes finds its next job waiting (the fetch's round trip,
//   a commit, is not on its path), and the Dispatcher's queue (capacity
//   `concurrency`, beside `concurrency` workers) never fills: `submit` never
//   waits.
// - `state.running` holds the cancel of each running handler's context,
//   keyed by job id, from before the handler starts until it has returned.
// - The worker id changes only when the process was declared dead (its row
//   deleted), or when a session of its own still held its lock for longer
//   than the lease (its old row is then rescued): later fetches use the new
//   one; jobs fetched under the old one were rescued, their outcomes fenced.
// - A queue's `known` holds the ids of the jobs its producer fetched and
//   whose worker has not finished with them. After a fetch that failed (its
//   answer may have been lost after it committed), `orphanOwners` holds the
//   id it fetched under, until the running jobs of that owner in the queue
//   that are not known have been handed back.
// - Stopping is one transition: the first `shutdown` does it and closes
//   `finished`; a later call waits for that and returns the same report.
import Foundation
import GoConcurrency
import Logging
import PostgresNIO
import Synchronization

/// A worker process of the durable dispatcher: runs the jobs of its queues
/// with a GoConcurrency `Dispatcher` per queue, fetching as many as it has
/// workers to keep busy, and survives the loss of other processes (their jobs are
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
    /// A heartbeat through the pool is under way (while the control
    /// connection is down): at most one at a time.
    let poolHeartbeating = Atomic<Bool>(false)
    let state = Mutex(State())

    struct State {
        var started = false
        var worker: WorkerID?
        /// Since when the control connection has been up (nil: down).
        var controlUpSince: ContinuousClock.Instant?
        /// Since when the session lock has been refused to a new connection.
        var lockRefusedSince: ContinuousClock.Instant?
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
    /// recorded or handed back, or once `abandonAfter` more has passed with
    /// handlers that ignore their cancelled context still running: those
    /// are left running in the database (``ShutdownReport/abandoned``), and
    /// the rescue retries them once this process has exited. A second call
    /// waits for the first.
    @discardableResult
    public func shutdown(grace: Duration, abandonAfter: Duration = .seconds(30)) async -> ShutdownReport {
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
            // The stops in a task of their own: a handler that never returns
            // must not hold the shutdown for ever.
            let stopped = Chan<[FetchedJob]>(capacity: 1)
            let queues = queues
            Task {
                let all = await withTaskGroup(of: [FetchedJob].self) { group in
                    for runner in queues.values {
                        group.addTask { await runner.dispatcher.stop(.returnQueued, grace: grace) }
                    }
                    var all: [FetchedJob] = []
                    for await jobs in group { all += jobs }
                    return all
                }
                _ = stopped.trySend(all)
            }
            let waited: [FetchedJob]?? = try? await select {
                stopped.onReceive { $0 }
                after(grace + abandonAfter) { [FetchedJob]?.none }
            }
            let returned = (waited ?? nil) ?? []
            if waited == nil || waited! == nil {
                report.abandoned = queues.values.reduce(0) { $0 + $1.inFlight.load(ordering: .relaxed) }
                logger.error("handlers still running after the grace: left to the rescue", metadata: ["jobs": "\(report.abandoned)"])
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

    /// Fetches until the queue holds twice its workers in jobs, whenever a
    /// notification, a finished job or the poll timer says there may be
    /// some; stops when shutdown begins.
    func produce(_ runner: QueueRunner) async {
        while !stopping.load(ordering: .acquiring) {
            var fetchFailed = false
            if healthy.load(ordering: .acquiring), let worker = workerID {
                await handBackOrphans(runner)
                let free = 2 * runner.concurrency - runner.inFlight.load(ordering: .relaxed)
                if free > 0, runner.orphanOwners.withLock({ $0.isEmpty }) {
                    do {
                        let jobs: [FetchedJob]
                        do {
                            jobs = try await store.fetch(queue: runner.name, limit: free, worker: worker)
                        } catch {
                            // It may have committed with its answer lost.
                            runner.orphanOwners.withLock { _ = $0.insert(worker) }
                            throw error
                        }
                        runner.known.withLock { known in
                            for job in jobs { known.insert(job.id) }
                        }
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

    /// Hands back the jobs a failed fetch may have taken without their
    /// reaching this process (see the invariants); keeps the owner for the
    /// next round if that fails too.
    func handBackOrphans(_ runner: QueueRunner) async {
        for owner in runner.orphanOwners.withLock({ $0 }) {
            let known = runner.known.withLock { Array($0) }
            do {
                let orphans = try await store.handBackOrphans(queue: runner.name, owner: owner, known: known)
                runner.orphanOwners.withLock { _ = $0.remove(owner) }
                if !orphans.isEmpty {
                    logger.warning("jobs of a fetch whose answer was lost handed back", metadata: [
                        "queue": "\(runner.name)", "jobs": "\(orphans.map(\.rawValue))",
                    ])
                    metrics.handedBack.increment(by: orphans.count)
                }
            } catch {
                logger.warning("handing back a lost fetch's jobs failed, retrying", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: Running a job

    /// A Dispatcher worker's handling of one job: its handler, then its
    /// outcome recorded (or, interrupted by shutdown, set aside for the
    /// hand-back).
    func run(_ job: FetchedJob, context dispatchContext: Context, runner: QueueRunner) async {
        defer { runner.finished(job.id) }
        let (jobContext, cancel) = dispatchContext.withCancelCause()
        state.withLock { $0.running[job.id] = cancel }
        defer {
            state.withLock { _ = $0.running.removeValue(forKey: job.id) }
            cancel(nil)
        }
        let completion = TransactionalCompletion()
        let outcome: Result<JobOutcome, any Error>
        let begun = ContinuousClock.now
        if job.metadataJSON.contains("\"cancel_requested\"") {
            // Cancelled while it waited to be retried or was handed back.
            cancel(JobCancelRequested(id: job.id))
            outcome = .failure(JobCancelRequested(id: job.id))
        } else if let handler = handlers.byKind[job.kind] {
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
                return try await store.snooze(job, for: delay).outcomeLabel
            case .success(.cancel(let reason)):
                return try await store.cancelAttempt(job, reason: reason) == .completed ? "cancelled" : "fenced"
            case .failure where cancelRequested:
                return try await store.cancelAttempt(job, reason: "cancel requested") == .completed ? "cancelled" : "fenced"
            case .failure(let error):
                return try await store.fail(job, error: DurableWorkers.errorText(error)).outcomeLabel
            }
        }
    }

    /// Records an outcome, retrying through lost connections and a database
    /// restart (each outcome is fenced, so a repeat is harmless) until it
    /// succeeds, or until the shutdown's grace has run out: the job then
    /// stays running under this process, and the rescue retries it once the
    /// process is gone.
    /// An error the database itself gave (a constraint, a value out of
    /// range) is not retried: the attempt is recorded as failed with it
    /// instead, and if even that is refused, the job is handed back.
    func record(_ job: FetchedJob, giveUpWhen context: Context, _ write: @escaping @Sendable () async throws -> String) async {
        var delay = Duration.milliseconds(100)
        var write = write
        var fellBack = false
        while true {
            do {
                let outcome = try await write()
                metrics.finished(job.queue, outcome)
                return
            } catch {
                if !Self.isTransient(error) {
                    logger.error("the database refused an outcome", metadata: ["job": "\(job.id.rawValue)", "error": "\(DurableWorkers.errorText(error))"])
                    if fellBack {
                        _ = try? await store.handBack([job])
                        metrics.finished(job.queue, "handed back")
                        return
                    }
                    fellBack = true
                    let text = "recording the outcome failed: " + DurableWorkers.errorText(error)
                    write = { [store] in try await store.fail(job, error: text).outcomeLabel }
                    continue
                }
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

    /// Whether `error` may go away by itself: a lost or refused connection,
    /// a server shutting down or starting, a serialization failure or
    /// deadlock, a statement timeout. Anything else the database said is
    /// its answer.
    static func isTransient(_ error: any Error) -> Bool {
        if error is DatabaseConnectionLost { return true }
        if let error = error as? PostgresTransactionError {
            let inner: (any Error)? = error.beginError ?? error.closureError ?? error.commitError
            return inner.map(isTransient) ?? true
        }
        guard let error = error as? PSQLError else { return true }
        guard let state = error.serverInfo?[.sqlState] else {
            return true  // not the server's answer: the connection, the pool, a timeout
        }
        return state.hasPrefix("08") || state.hasPrefix("57") || state.hasPrefix("53")
            || state == "40001" || state == "40P01" || state == "55P03"
    }

    /// What a failed attempt's error entry says. postgres-nio's errors
    /// describe themselves generically ("to prevent accidental leakage"):
    /// their reflection names the server's message and SQLSTATE, which is
    /// what someone reading the job's errors needs.
    static func errorText(_ error: any Error) -> String {
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
        // A half-open connection would never answer nor close: closing it
        // after a deadline turns that into DatabaseConnectionLost.
        let deadline = closing(connection, after: controlDeadline)
        defer { deadline.stop() }
        do {
            guard var worker = workerID else { throw StoreError.noRowReturned("worker id") }
            if try await !store.heartbeat(worker, on: connection) {
                worker = try await registerAgain(because: "its row is gone")
            }
            if try await !store.lockWorker(worker, on: connection) {
                // A session of this process's own, cut off from it, still
                // holds the lock until the server notices (TCP keepalive).
                // Keep the id (and its running jobs) meanwhile; give it up
                // only after the lease, when the rescue takes it anyway.
                let since = state.withLock { state in
                    if state.lockRefusedSince == nil { state.lockRefusedSince = .now }
                    return state.lockRefusedSince!
                }
                guard ContinuousClock.now - since > options.rescue.lease else {
                    throw LockHeldElsewhere()
                }
                worker = try await registerAgain(because: "a lingering session held its lock past the lease")
                guard try await store.lockWorker(worker, on: connection) else {
                    throw StoreError.noRowReturned("the session lock of a new worker id")
                }
            }
            state.withLock { $0.lockRefusedSince = nil }
            return connection
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// How long a control statement may take before its connection is
    /// closed: the lock grace (others judge this process dead after it).
    var controlDeadline: Duration { max(options.rescue.lockGrace, .seconds(1)) }

    /// A timer that closes `connection` after `delay`, unless stopped first.
    func closing(_ connection: PostgresConnection, after delay: Duration) -> GoConcurrency.Timer {
        afterFunc(delay) { [logger] in
            logger.warning("a control statement got no answer in time; closing its connection")
            try? await connection.close()
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
        while !stopControl.isClosed {
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
                    // lock gone) does not take this process's jobs. In a
                    // task of its own: while the pool cannot connect it may
                    // wait long, and reconnecting must not.
                    if let worker = workerID, !poolHeartbeating.exchange(true, ordering: .acquiringAndReleasing) {
                        Task { [self] in
                            _ = try? await store.heartbeat(worker)
                            poolHeartbeating.store(false, ordering: .releasing)
                        }
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
            state.withLock { $0.controlUpSince = .now }
            metrics.controlUp.record(1)
            // Producers skipped their fetches while it was down.
            for runner in queues.values { _ = runner.wake.trySend(()) }
            do {
                try await serve(live)
            } catch {
                logger.warning("control connection lost", metadata: ["error": "\(error)"])
            }
            healthy.store(false, ordering: .releasing)
            state.withLock { $0.controlUpSince = nil }
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
            let deadline = closing(connection, after: controlDeadline)
            defer { deadline.stop() }
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
            // Judge others only once this process has been connected for the
            // restart allowance itself: after an outage (a restart, a
            // failover, a long recovery) every process reconnects at its own
            // pace, and none is to be declared dead by one that came back
            // first.
            let upSince = state.withLock { $0.controlUpSince }
            guard healthy.load(ordering: .acquiring), let upSince,
                  ContinuousClock.now - upSince >= options.rescue.restartAllowance
            else { continue }
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
    /// The ids of the jobs fetched and not finished (see the invariants).
    let known = Mutex<Set<JobID>>([])
    /// Owners under which a fetch failed; their unknown running jobs in this
    /// queue are to be handed back before the next fetch.
    let orphanOwners = Mutex<Set<WorkerID>>([])
    /// A notification, a rescue or a finished job: fetch now. Capacity 1, so
    /// wake-ups coalesce and a sender never waits.
    let wake = Chan<Void>(capacity: 1)
    /// Set once, in DurableWorkers.init, before the instance is shared.
    var dispatcher: Dispatcher<FetchedJob>!

    init(name: String, concurrency: Int) {
        self.name = name
        self.concurrency = concurrency
    }

    func finished(_ id: JobID) {
        known.withLock { _ = $0.remove(id) }
        inFlight.subtract(1, ordering: .relaxed)
        _ = wake.trySend(())
    }
}

/// Another session (of this process, cut off from it) holds the worker's
/// session lock.
struct LockHeldElsewhere: Error, CustomStringConvertible {
    var description: String { "another session still holds this process's lock" }
}

/// What a shutdown did.
public struct ShutdownReport: Sendable, Equatable {
    /// Jobs fetched but never started (returned by the Dispatchers).
    public var notStarted = 0
    /// Jobs whose handler was still running when the grace ran out.
    public var interrupted = 0
    /// Jobs given back to the queue, attempt restored.
    public var handedBack = 0
    /// Jobs whose handlers were still running `abandonAfter` past the
    /// grace: left running in the database, for the rescue to retry once
    /// the process has exited.
    public var abandoned = 0
    /// Whether the process's row was deleted (false: jobs of it are still
    /// running in the database, for the rescue to take).
    public var deregistered = false

    public init() {}
}
