// The seed's Work pattern: a fixed set of goroutines taking work from an
// unbuffered channel.
//
// Invariants: `work` is unbuffered, so `run` returns exactly when a worker has
// taken the task; `shutdown` closes it, and each worker leaves once the
// channel is closed and drained, so shutdown waits for every task already
// taken. Nothing is queued that could be lost. The workers keep the pool
// alive until it is shut down. `context` (a child of the one the pool was
// made with) is what every task is handed; only a shutdown's grace running
// out, or the parent being done, cancels it before the workers have left,
// and the shutdown cancels it after, to release it.

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
///
/// Work can take the pool's context, to learn that it should stop: the
/// context the pool was made with, or a shutdown's grace running out.
///
///     let pool = WorkPool(workers: 4, context: requestContext)
///     try await pool.run { ctx in
///         for page in pages {
///             if ctx.err != nil { return }    // the request is gone, or the grace ran out
///             await index(page)
///         }
///     }
///     await pool.shutdown(grace: .seconds(5))
public final class WorkPool: Sendable {
    /// The pool was shut down: it takes no more work.
    public struct ShutDown: Error, CustomStringConvertible {
        public var description: String { "WorkPool: run after shutdown" }
    }

    public typealias Task = @Sendable () async -> Void
    /// Work that is handed the pool's context.
    public typealias ContextTask = @Sendable (Context) async -> Void

    private let work = Chan<ContextTask>()
    /// What every task is handed; cancelled with ``ShutDown`` as its cause
    /// when a shutdown's grace runs out, and after the workers have left.
    private let context: Context
    private let cancelContext: @Sendable ((any Error)?) -> Void
    private let workers = Sync.WaitGroup()
    /// How many workers are running a task now.
    private let busy = Atomic<Int>(0)

    /// Starts `count` worker goroutines: without `on`, on the runtime of the
    /// goroutine that makes the pool (``GoRuntime/shared`` outside goroutines).
    ///
    /// Work run by the pool is handed `context`'s child (see
    /// ``run(_:)-(ContextTask)``).
    ///
    /// - Precondition: `count > 0`.
    public init(workers count: Int, on runtime: GoRuntime? = nil, context parent: Context = .background) {
        if count <= 0 { goPanic("WorkPool: workers must be at least 1, got \(count)") }
        (context, cancelContext) = parent.withCancelCause()
        for _ in 0..<count {
            workers.go(on: runtime) { [self] in
                for await task in work {
                    busy.add(1, ordering: .relaxed)
                    await task(context)
                    busy.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Hands `task` to a worker, which runs it with the pool's context; returns
    /// once one has taken it (it waits while every worker is busy). The
    /// context is done when the context the pool was made with is, or when
    /// a ``shutdown(grace:)``'s grace runs out (its ``Context/cause`` is then
    /// ``ShutDown``).
    ///
    /// - Throws: ``ShutDown`` after ``shutdown(grace:)``.
    public func run(_ task: @escaping ContextTask) async throws {
        do {
            try await work.send(task)
        } catch ChannelError.sendOnClosedChannel {
            throw ShutDown()
        }
    }

    /// Hands `task` to a worker; returns once one has taken it (it waits while
    /// every worker is busy).
    ///
    /// - Throws: ``ShutDown`` after ``shutdown(grace:)``.
    public func run(_ task: @escaping Task) async throws {
        try await run { _ in await task() }
    }

    /// How many workers are running a task now.
    public var busyWorkers: Int { busy.load(ordering: .relaxed) }

    /// Takes no more work and waits until the workers have finished what they
    /// took. With a `grace`, the work still running when it has passed sees
    /// the pool's context cancelled (cause ``ShutDown``), and should return
    /// soon; without one, it is left to finish. Calling it again waits again,
    /// harmlessly.
    public func shutdown(grace: Duration? = nil) async {
        try? work.close()
        let graceEnd = grace.map { grace in
            afterFunc(grace) { [cancelContext] in cancelContext(ShutDown()) }
        }
        try? await workers.wait()
        graceEnd?.stop()
        cancelContext(ShutDown())
    }
}
