// The experimental route: GoRuntime installed as Swift's global executor.
//
// Everything here uses Swift 6.3's experimental executor SPI
// (`ExperimentalCustomExecutors`, `ExperimentalScheduling`), which can change
// in any toolchain; that is why it lives in this one file and is opt-in. The
// stable route (every goroutine a task with the runtime as its executor
// preference) stays the default, and both are tested.
//
// What it buys: no task has an executor preference, so the Swift runtime no
// longer looks one up (under the task's status-record lock) every time a
// goroutine resumes, and `Task { }`, `Task.detached`, `async let` and task
// groups all run on the runtime's processors. Measured in BENCHMARKS-HISTORY.md.
//
// Invariants:
// - `installedRuntime` is set once, by `install`, which must run before any
//   task does (a program's first statement); afterwards it is only read.
// - Jobs of the installed runtime run on Swift's generic executor (no
//   isolation, no task executor), as those of the platform's global executor do.

@_spi(ExperimentalCustomExecutors) @_spi(ExperimentalScheduling) import _Concurrency
import Synchronization

extension GoRuntime {
    /// How goroutines reach a runtime's processors.
    public enum Route: String, Sendable, CaseIterable {
        /// The default and stable route: goroutines run on tasks whose executor
        /// preference is the runtime (Swift's `TaskExecutor`, SE-0417).
        case executorPreference = "preference"
        /// Experimental: the runtime is installed as Swift's global executor,
        /// so every task without an actor runs on it and no preference is
        /// checked on each resumption. Relies on Swift's experimental executor
        /// SPI; install it only through ``GoRuntime/main(route:file:line:_:)``
        /// or ``GoRuntime/installAsGlobalExecutor()`` as a program's first statement.
        case globalExecutor = "global"
    }

    private static let installedRuntime = Locked<GoRuntime?>(nil)

    /// The runtime installed as Swift's global executor, if any.
    static var installed: GoRuntime? { installedRuntime.withLock { $0 } }

    /// Makes ``shared`` Swift's global executor (the experimental route): every
    /// task that has no actor, including `Task { }`, `Task.detached` and the
    /// goroutines `go { }` starts on ``shared``, then runs on its processors,
    /// with no executor preference.
    ///
    /// - Important: Call it as the first statement of a program's top-level
    ///   code (`main.swift`), before any task starts, and only once. It uses
    ///   Swift's experimental executor SPI, which may change with the toolchain.
    public static func installAsGlobalExecutor() {
        let runtime = GoRuntime.shared
        let first = installedRuntime.withLock { current -> Bool in
            guard current == nil else { return false }
            current = runtime
            return true
        }
        if !first { goPanic("GoRuntime: the global executor is installed already") }
        runtime.runsAsGlobalExecutor = true
        _createExecutors(factory: GoExecutorFactory.self)
    }
}

/// What Swift asks for when it creates its executors: the platform's main
/// executor (the main actor is untouched) and GoRuntime for everything else.
struct GoExecutorFactory: ExecutorFactory {
    static var mainExecutor: any MainExecutor { PlatformExecutorFactory.mainExecutor }
    static var defaultExecutor: any TaskExecutor { GlobalRouteExecutor(runtime: GoRuntime.installed!) }
}

/// Swift's global executor on this route: the installed runtime's queues, and
/// its timers for `Task.sleep`.
final class GlobalRouteExecutor: TaskExecutor, SchedulingExecutor, @unchecked Sendable {
    unowned(unsafe) let runtime: GoRuntime

    init(runtime: GoRuntime) {
        self.runtime = runtime
    }

    func enqueue(_ job: consuming ExecutorJob) {
        runtime.enqueue(job)
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, after delay: C.Duration, tolerance: C.Duration?, clock: C) {
        let deadline = Monotonic.now() &+ Monotonic.nanoseconds(clock.convert(delay))
        let unowned = UnownedJob(job)
        let runtime = self.runtime
        _ = TimerQueue.shared.schedule(at: deadline) {
            runtime.enqueue(ExecutorJob(unowned))
        }
    }

    func enqueue<C: Clock>(_ job: consuming ExecutorJob, at instant: C.Instant, tolerance: C.Duration?, clock: C) {
        enqueue(job, after: clock.now.duration(to: instant), tolerance: tolerance, clock: clock)
    }
}

extension Clock {
    /// A duration of this clock as a `Swift.Duration` (every standard clock
    /// measures in it; any other is taken as zero, so its job runs at once).
    fileprivate func convert(_ duration: Duration) -> Swift.Duration {
        (duration as? Swift.Duration) ?? .zero
    }
}
