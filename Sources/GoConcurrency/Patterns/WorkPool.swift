// The seed's Work pattern: a fixed set of goroutines taking work from an
// unbuffered channel.
//
// Invariants: `work` is unbuffered, so `run` returns exactly when a worker has
// taken the task; `shutdown` closes it, and each worker leaves once the
// channel is closed and drained, so shutdown waits for every task already
// taken. Nothing is queued that could be lost. The workers keep the pool
// alive until it is shut down.

import Synchronization

/// A fixed number of goroutines doing submitted work (the seed's `work`
/// package).
///
///     let pool = WorkPool(workers: 4)
///     for name in names {
///         try await pool.run { await display(name) }   // returns once a worker took it
///     }
///     await pool.shutdown()                            // waits for the running ones
///
/// Shut a pool down when you are done with it: its workers wait for work until then.
public final class WorkPool: Sendable {
    /// The pool was shut down: it takes no more work.
    public struct ShutDown: Error, CustomStringConvertible {
        public var description: String { "WorkPool: run after shutdown" }
    }

    public typealias Task = @Sendable () async -> Void

    private let work = Chan<Task>()
    private let workers = Sync.WaitGroup()
    /// How many workers are running a task now.
    private let busy = Atomic<Int>(0)

    /// Starts `count` worker goroutines: without `on`, on the runtime of the
    /// goroutine that makes the pool (``GoRuntime/shared`` outside goroutines).
    ///
    /// - Precondition: `count > 0`.
    public init(workers count: Int, on runtime: GoRuntime? = nil) {
        if count <= 0 { goPanic("WorkPool: workers must be at least 1, got \(count)") }
        for _ in 0..<count {
            workers.go(on: runtime) { [self] in
                for await task in work {
                    busy.add(1, ordering: .relaxed)
                    await task()
                    busy.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Hands `task` to a worker; returns once one has taken it (it waits while
    /// every worker is busy).
    ///
    /// - Throws: ``ShutDown`` after ``shutdown()``.
    public func run(_ task: @escaping Task) async throws {
        do {
            try await work.send(task)
        } catch ChannelError.sendOnClosedChannel {
            throw ShutDown()
        }
    }

    /// How many workers are running a task now.
    public var busyWorkers: Int { busy.load(ordering: .relaxed) }

    /// Takes no more work and waits until the workers have finished what they
    /// took. Calling it again waits again, harmlessly.
    public func shutdown() async {
        try? work.close()
        try? await workers.wait()
    }
}
