// The seed's Worker/Dispatcher: a two-level job system. Jobs wait in a
// buffered queue; a dispatcher goroutine hands each to a free worker; workers
// announce themselves free by putting their own job channel into the worker
// pool.
//
// Invariants:
// - Every submitted job ends in exactly one place: run by one worker, or (on
//   `stop(.returnQueued)`) in the list `stop` returns. The dispatcher takes a
//   job out of the queue, then either sends it to a free worker's unbuffered
//   channel (that worker runs it) or, once stopping, sets it aside.
// - The worker pool holds at most one channel per worker (a worker puts its
//   own in only when free, and waits on it until the dispatcher takes it)
//   and, once a `.returnQueued` stop has begun, one nil: the stop's wake-up
//   for a dispatcher waiting for a free worker. Its capacity is
//   `maxWorkers + 1`, so no put waits.
// - After `stop` begins, `submit` and `trySubmit` throw `Stopped`; `stop` returns once every
//   worker has finished its job and left.
// - Stopping is one transition, taken once: the first `stop` swaps `stopping`
//   from false to true and alone closes the queue, waits for the workers and
//   hands back `setAside`; a `stop` that finds it taken waits until `stopped`
//   is closed (the first one's work is done) and hands back nothing, so no
//   set-aside job reaches two callers.
// - Every job runs with `context`, a child of the context the dispatcher was
//   made with: it is cancelled (cause `Stopped`) when a stop's grace runs
//   out while jobs still run, and by the stop once every worker has left.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A job system of a buffered queue, a dispatcher and a fixed pool of workers
/// (the seed's Worker/Dispatcher).
///
///     let dispatcher = Dispatcher<Upload>(configuration: try .fromEnvironment()) { upload in
///         await upload.send()
///     }
///     dispatcher.start()
///     try await dispatcher.submit(upload)     // waits while the queue is full
///     if try !dispatcher.trySubmit(upload) { /* full: refuse it */ }
///     let notRun = await dispatcher.stop(.returnQueued)
///
/// A handler that takes a context learns when it should stop: when the
/// context the dispatcher was made with is done, or when a
/// ``stop(_:grace:)``'s grace has run out.
///
///     let dispatcher = Dispatcher<Upload>(configuration: configuration, context: serverContext) { upload, ctx in
///         try? await upload.send(context: ctx)
///     }
public final class Dispatcher<Job: Sendable>: @unchecked Sendable {
    /// How many workers, and how many jobs may wait.
    public struct Configuration: Sendable, Equatable {
        public var maxWorkers: Int
        public var maxQueue: Int

        /// - Precondition: both at least 1.
        public init(maxWorkers: Int, maxQueue: Int) {
            Configuration.check(maxWorkers: maxWorkers, maxQueue: maxQueue)
            self.maxWorkers = maxWorkers
            self.maxQueue = maxQueue
        }

        /// Ends the program with a panic unless both counts are at least 1.
        static func check(maxWorkers: Int, maxQueue: Int) {
            if maxWorkers <= 0 || maxQueue <= 0 {
                goPanic("Dispatcher: maxWorkers and maxQueue must be at least 1, got \(maxWorkers) and \(maxQueue)")
            }
        }

        /// A value of `MAX_WORKERS` or `MAX_QUEUE` that is not a positive integer.
        public struct InvalidValue: Error, CustomStringConvertible {
            public let variable: String
            public let value: String
            public var description: String {
                "\(variable) must be a positive integer, got \"\(value)\""
            }
        }

        /// From the environment, as the seed's program reads it: `MAX_WORKERS`
        /// (default: the usable cores) and `MAX_QUEUE` (default: 100).
        ///
        /// - Throws: ``InvalidValue`` for a value that is not a positive integer.
        public static func fromEnvironment(
            _ environment: [String: String]? = nil
        ) throws -> Configuration {
            func read(_ name: String, default fallback: Int) throws -> Int {
                let raw: String?
                if let environment {
                    raw = environment[name]
                } else {
                    raw = getenv(name).map { String(cString: $0) }
                }
                guard let raw else { return fallback }
                guard let value = Int(raw), value > 0 else {
                    throw InvalidValue(variable: name, value: raw)
                }
                return value
            }
            return Configuration(
                maxWorkers: try read("MAX_WORKERS", default: GoRuntime.usableCores),
                maxQueue: try read("MAX_QUEUE", default: 100))
        }
    }

    /// The dispatcher is stopping or stopped: it takes no more jobs.
    public struct Stopped: Error, CustomStringConvertible {
        @usableFromInline init() {}
        public var description: String { "Dispatcher: submit after stop" }
    }

    /// What `stop` does with jobs still queued.
    public enum StopMode: Sendable {
        /// Run every queued job, then stop.
        case drain
        /// Run none of them: `stop` returns them, in queue order. (A job the
        /// dispatcher was already handing to a worker when `stop` began may
        /// still run; either way each job runs or is returned, exactly once.)
        case returnQueued
    }

    public let configuration: Configuration
    @usableFromInline let handler: @Sendable (Job, Context) async -> Void
    /// What every job runs with (see the file's invariants).
    @usableFromInline let context: Context
    private let cancelContext: @Sendable ((any Error)?) -> Void
    /// Where `start` starts the goroutines; nil: the runtime of the
    /// goroutine that calls `start` (or `stop`, if it starts them).
    @usableFromInline let runtime: GoRuntime?
    @usableFromInline let jobQueue: Chan<Job>
    /// Free workers' job channels, and one nil once a `.returnQueued` stop
    /// has begun: it wakes a dispatcher waiting for a free worker. Room for
    /// every worker and that nil, so neither a worker nor the stop waits to
    /// put one in.
    @usableFromInline let workerPool: Chan<Chan<Job>?>
    /// Set when stopping in `.returnQueued` mode (before the nil is put in
    /// `workerPool`): the dispatcher sets every job it takes aside.
    @usableFromInline let returning = Atomic<Bool>(false)
    @usableFromInline let workers = Sync.WaitGroup()
    @usableFromInline let dispatching = Sync.WaitGroup()
    @usableFromInline let busy = Atomic<Int>(0)
    /// Jobs the dispatcher goroutine took from the queue and holds while it
    /// waits for a free worker: still queued, as far as callers can tell.
    @usableFromInline let held = Atomic<Int>(0)
    @usableFromInline let started = Atomic<Bool>(false)
    /// Set by the first `stop`, the one that does the stopping.
    private let stopping = Atomic<Bool>(false)
    /// Closed by the first `stop` once every worker has left.
    private let stopped = Chan<Void>()
    /// Jobs set aside by a `.returnQueued` stop. Written by the dispatcher
    /// goroutine only, read by `stop` after it has finished.
    @usableFromInline var setAside: [Job] = []

    /// A dispatcher whose workers run `handler` on each job. Its goroutines
    /// start with ``start()`` on `runtime`; without it, on the runtime of the
    /// goroutine that calls `start` (``GoRuntime/shared`` outside goroutines).
    public convenience init(
        configuration: Configuration,
        on runtime: GoRuntime? = nil,
        handler: @escaping @Sendable (Job) async -> Void
    ) {
        self.init(configuration: configuration, on: runtime) { job, _ in await handler(job) }
    }

    /// A dispatcher whose workers run `handler` on each job with a child of
    /// `context`: done when `context` is, or when a stop's grace runs out
    /// (its ``Context/cause`` is then ``Stopped``). The child stays linked to
    /// `context` until ``stop(_:grace:)`` (or `context`'s end): stop a
    /// dispatcher you no longer need, as Go code calls a context's cancel.
    public init(
        configuration: Configuration,
        on runtime: GoRuntime? = nil,
        context parent: Context = .background,
        handler: @escaping @Sendable (Job, Context) async -> Void
    ) {
        // Its counts are variables: check them again.
        Configuration.check(maxWorkers: configuration.maxWorkers, maxQueue: configuration.maxQueue)
        self.configuration = configuration
        self.runtime = runtime
        self.handler = handler
        (context, cancelContext) = parent.withCancelCause()
        self.jobQueue = Chan(capacity: configuration.maxQueue)
        self.workerPool = Chan(capacity: configuration.maxWorkers + 1)
    }

    /// Starts the workers and the dispatcher goroutine (Go: `Run`). Once only.
    // Inlinable, as `submit` and `trySubmit` are: the loops and the channel
    // operations are then specialized for the client's `Job`, instead of
    // looking up generic metadata on every hand-off.
    @inlinable
    public func start() {
        guard !started.exchange(true, ordering: .relaxed) else { return }
        for _ in 0..<configuration.maxWorkers {
            workers.go(on: runtime) { [self] in
                let jobs = Chan<Job>()
                while true {
                    try await workerPool.send(jobs)          // free: register
                    guard let job = try await jobs.receive() else { return }  // closed: stop
                    await handler(job, context)  // counted busy by the dispatcher's hand-off
                    busy.subtract(1, ordering: .relaxed)
                }
            }
        }
        dispatching.go(on: runtime) { [self] in
            for await job in jobQueue {
                if returning.load(ordering: .acquiring) {
                    setAside.append(job)
                    continue
                }
                held.add(1, ordering: .relaxed)
                guard let worker = try await freeWorker() else {
                    // Stopping in `.returnQueued` mode while no worker was free.
                    held.subtract(1, ordering: .relaxed)
                    setAside.append(job)
                    continue
                }
                // Busy from here: the worker waits for it on an unbuffered
                // channel of its own.
                busy.add(1, ordering: .relaxed)
                held.subtract(1, ordering: .relaxed)
                try await worker.send(job)
            }
            // The queue is closed and empty: tell every worker to leave as it
            // comes back free (skipping a stop's nil).
            var left = configuration.maxWorkers
            while left > 0, let entry = try await workerPool.receive() {
                if let worker = entry {
                    try worker.close()
                    left -= 1
                }
            }
        }
    }

    /// A free worker's job channel, waiting for one; nil when it meets the
    /// nil a `.returnQueued` stop puts in the pool. Only the dispatcher
    /// goroutine calls it.
    ///
    /// One receive, not a select over the pool and `returning`: on one
    /// processor the dispatcher waits for a worker on nearly every job (the
    /// workers it fed run only once it waits), and a select's wait costs a
    /// fifth more of the whole hand-off.
    @inlinable
    func freeWorker() async throws -> Chan<Job>? {
        // The pool is never closed: an outer nil cannot come.
        try await workerPool.receive() ?? nil
    }

    /// Queues `job`, waiting while the queue is full.
    ///
    /// - Throws: ``Stopped`` once `stop` has begun.
    @inlinable
    public func submit(_ job: Job) async throws {
        do {
            try await jobQueue.send(job)
        } catch ChannelError.sendOnClosedChannel {
            throw Stopped()
        }
    }

    /// Queues `job` if the queue has room now, without waiting (Go: a send
    /// in a `select` with a `default`): what a server that refuses work when
    /// overloaded (HTTP 503) calls instead of ``submit(_:)``.
    ///
    /// - Returns: `true` if `job` was queued; `false` if the queue was full,
    ///   and `job` was not queued (it will not run).
    /// - Throws: ``Stopped`` once `stop` has begun.
    @inlinable
    public func trySubmit(_ job: Job) throws(Stopped) -> Bool {
        switch jobQueue.trySend(job) {
        case .sent: return true
        case .full: return false
        case .closed: throw Stopped()
        }
    }

    /// Jobs submitted and not yet handed to a worker: those in the queue and
    /// the one the dispatcher holds while it waits for a free worker.
    public var queueDepth: Int { jobQueue.count + held.load(ordering: .relaxed) }

    /// Workers running a job now.
    public var busyWorkers: Int { busy.load(ordering: .relaxed) }

    /// Stops taking jobs, deals with the queued ones as `mode` says, and
    /// returns once every worker has left; returns the jobs it did not run
    /// (none with `.drain`). With a `grace`, the jobs still running when it
    /// has passed see their context cancelled (cause ``Stopped``), and
    /// should return soon; without one, they are left to finish.
    ///
    /// The first call decides: a call that comes while another is stopping,
    /// or after it, waits until that one has finished and returns an empty
    /// list, whatever its own mode. So every job runs or is handed back to
    /// one caller, once.
    @discardableResult
    public func stop(_ mode: StopMode, grace: Duration? = nil) async -> [Job] {
        guard !stopping.exchange(true, ordering: .acquiringAndReleasing) else {
            // Returns when the first stop closes it, even if this caller is
            // cancelled meanwhile.
            let stopped = stopped
            await waitThroughCancellation { _ = try await stopped.receive() }
            return []
        }
        defer { try? stopped.close() }
        let graceEnd = grace.map { grace in
            afterFunc(grace) { [cancelContext] in cancelContext(Stopped()) }
        }
        defer {
            graceEnd?.stop()
            cancelContext(Stopped())
        }
        if mode == .returnQueued {
            returning.store(true, ordering: .releasing)
            // Only this first stop puts a nil in; with at most one channel
            // per worker there, the pool has room for it.
            let sent = workerPool.trySend(nil)
            assert(sent == .sent, "Dispatcher: no room for the stop's wake-up in the worker pool")
        }
        try? jobQueue.close()
        start()  // a dispatcher never started still drains or returns its queue
        // Not cut short by this caller's cancellation: `setAside` is the
        // dispatcher's until it has left.
        let dispatching = dispatching, workers = workers
        await waitThroughCancellation { try await dispatching.wait() }
        await waitThroughCancellation { try await workers.wait() }
        return setAside
    }
}
