// The seed's Runner pattern: tasks run in order under an overall timeout, and
// stop at the next task boundary when the process gets an interrupt (Ctrl-C).
//
// Invariants: the tasks run one after the other on one goroutine; repeated
// Ctrl-C coalesce into one interrupt (Go's one-value interrupt channel: the
// run compares the process's SIGINT count with the count when this runner
// started listening, `baseline`, between tasks); interrupts are listened for
// only until the run notices one or `start` returns, and SIGINT's previous
// handling is restored then. `baseline` is nil while not listening, so a run
// that goes on after a timeout sees no interrupt, and takes none from a later
// runner. `context` carries the timeout as its deadline (cause `timeout`);
// an interrupt noticed while listening cancels it at once (cause
// `interrupted`), so a task that watches it stops early, while the run
// itself still stops at the next task boundary, as Go's does; after a
// timeout the run's goroutine goes on with the tasks left, as Go's does
// (they can see the context done).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs tasks in order, giving up when time runs out or the process is
/// interrupted (the seed's `runner` package).
///
///     let runner = Runner(timeout: .seconds(3))
///     runner.add { id in print("Processor - Task #\(id).") }
///     do {
///         try await runner.start()
///     } catch Runner.Failure.timeout {
///         exit(1)
///     } catch Runner.Failure.interrupted {
///         exit(2)
///     }
///
/// The timeout counts from the runner's creation, as Go's `New` starts it. An
/// interrupt (SIGINT, Ctrl-C) stops the run before the next task starts; the
/// task that is running finishes first. On a timeout the running task is left
/// to finish on its own, as in Go.
///
/// Tasks that take long can watch ``context``, which is done when the
/// timeout passes or an interrupt comes, and stop early:
///
///     runner.add { [context = runner.context] id in
///         for chunk in chunks {
///             try context.checkDone()   // throws once timed out or interrupted
///             await process(chunk)
///         }
///     }
///
/// (A task that captured the runner itself would keep it alive for ever: the
/// runner holds its tasks.)
public final class Runner: @unchecked Sendable {
    /// Why a run stopped early.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The timeout passed (Go: `ErrTimeout`).
        case timeout
        /// The process got an interrupt (Go: `ErrInterrupt`).
        case interrupted

        public var description: String {
            switch self {
            case .timeout: "received timeout"
            case .interrupted: "received interrupt"
            }
        }
    }

    public typealias Task = @Sendable (_ id: Int) async throws -> Void

    /// Done when the timeout passes (``Context/cause``: ``Failure/timeout``)
    /// or, during ``start()``, when an interrupt comes (``Failure/interrupted``),
    /// or when the context the runner was made with is done (with its
    /// reason: a deadline of that context earlier than the timeout is the
    /// runner's, with that context's cause, as for any child).
    public let context: Context
    private let cancel: @Sendable ((any Error)?) -> Void
    /// The SIGINT count when this runner began listening, and its
    /// subscription; nil when it is not listening.
    private let baseline = Locked<InterruptSignal.Listening?>(nil)
    /// Added before `start`, read by the run's goroutine after.
    private var tasks: [Task] = []

    /// A runner whose tasks must all finish within `timeout` from now, and
    /// before `context` is done.
    public init(timeout: Duration, context parent: Context = .background) {
        let (timed, cancelTimed) = parent.withTimeout(timeout, cause: Failure.timeout)
        let (context, cancel) = timed.withCancelCause()
        self.context = context
        self.cancel = { cause in
            cancel(cause)
            cancelTimed()
        }
    }

    deinit {
        cancel(nil)  // releases the timeout's timer
    }

    /// Adds tasks, run in order with their index as id (call before `start`).
    public func add(_ tasks: Task...) {
        self.tasks += tasks
    }

    /// Runs the tasks; returns when they are all done.
    ///
    /// - Throws: ``Failure/timeout`` when the timeout (or an earlier deadline
    ///   of the context the runner was made with) passes first,
    ///   ``Failure/interrupted`` when SIGINT came, ``ContextError/canceled``
    ///   when the context the runner was made with is cancelled first (at
    ///   once, as on a timeout), or what a task threw.
    public func start() async throws {
        let missed = baseline.withLock { baseline -> Bool in
            guard baseline == nil else { return false }
            let (listening, missed) = InterruptSignal.listen { [cancel] in cancel(Failure.interrupted) }
            baseline = listening
            return missed
        }
        if missed { cancel(Failure.interrupted) }
        defer { stopListening() }
        let complete = Chan<Result<Void, any Error>>(capacity: 1)
        let tasks = self.tasks
        go { [self] in
            do {
                try await run(tasks)
                try await complete.send(.success(()))
            } catch {
                try await complete.send(.failure(error))
            }
        }
        let context = context
        let finished = try await select {
            complete.onReceive { result in
                try result!.get()
                return true
            }
            context.done.onReceive { _ in false }
        }
        if finished { return }
        if context.err == .deadlineExceeded { throw Failure.timeout }
        // Done by an interrupt: the run stops at the next task boundary,
        // after the task that is running.
        if context.cause as? Failure == .interrupted {
            try await complete.receive()!.get()
            return
        }
        // Done by the parent: given up at once, as on a timeout.
        throw context.err!
    }

    private func run(_ tasks: [Task]) async throws {
        for (id, task) in tasks.enumerated() {
            if gotInterrupt() { throw Failure.interrupted }
            try await task(id)
        }
    }

    private func gotInterrupt() -> Bool {
        baseline.withLock { baseline in
            guard let listening = baseline, InterruptSignal.arrived(since: listening.count) else { return false }
            InterruptSignal.stopListening(listening)  // Go: signal.Stop(r.interrupt)
            baseline = nil
            return true
        }
    }

    private func stopListening() {
        baseline.withLock { baseline in
            if let listening = baseline { InterruptSignal.stopListening(listening) }
            baseline = nil
        }
    }
}
