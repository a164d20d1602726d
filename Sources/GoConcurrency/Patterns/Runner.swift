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
// runner.

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

    private let timeout: ReceiveOnlyChan<ContinuousClock.Instant>
    /// The SIGINT count when this runner began listening; nil when it is not.
    private let baseline = Locked<UInt64?>(nil)
    /// Added before `start`, read by the run's goroutine after.
    private var tasks: [Task] = []

    /// A runner whose tasks must all finish within `timeout` from now.
    public init(timeout: Duration) {
        self.timeout = after(timeout)
    }

    /// Adds tasks, run in order with their index as id (call before `start`).
    public func add(_ tasks: Task...) {
        self.tasks += tasks
    }

    /// Runs the tasks; returns when they are all done.
    ///
    /// - Throws: ``Failure/timeout`` when the timeout passes first,
    ///   ``Failure/interrupted`` when SIGINT came, or what a task threw.
    public func start() async throws {
        baseline.withLock { baseline in
            if baseline == nil { baseline = InterruptSignal.start() }
        }
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
        try await select {
            complete.onReceive { result in try result!.get() }
            timeout.onReceive { _ in throw Failure.timeout }
        }
    }

    private func run(_ tasks: [Task]) async throws {
        for (id, task) in tasks.enumerated() {
            if gotInterrupt() { throw Failure.interrupted }
            try await task(id)
        }
    }

    private func gotInterrupt() -> Bool {
        baseline.withLock { baseline in
            guard let since = baseline, InterruptSignal.arrived(since: since) else { return false }
            InterruptSignal.stop()  // Go: signal.Stop(r.interrupt)
            baseline = nil
            return true
        }
    }

    private func stopListening() {
        baseline.withLock { baseline in
            if baseline != nil { InterruptSignal.stop() }
            baseline = nil
        }
    }
}
