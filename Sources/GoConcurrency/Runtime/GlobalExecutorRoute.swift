// The global-executor route: GoRuntime installed as Swift's global executor,
// a supported opt-in (one call at a program's start) on the toolchains it
// was verified on.
//
// Everything here uses Swift 6.3's experimental executor SPI
// (`ExperimentalCustomExecutors`, `ExperimentalScheduling`), which can change
// in any toolchain; that is why it lives in this one file, is opt-in, and is
// gated: `installAsGlobalExecutor` traps, naming the toolchain, wherever
// `SwiftRuntimeABI.verified` is false (the route also relies on assumption 6
// there), rather than run a route nobody checked. The executor-preference
// route (every goroutine a task with the runtime as its executor preference)
// stays the default. Both are tested: `.ci/run` runs the whole suite on each
// (`GOCONCURRENCY_TEST_ROUTE=global`), gobench's smoke loops on each, and
// the tour on each (RouteTests).
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
        /// Opt-in: the runtime is installed as Swift's global executor, so
        /// every task of the process without an actor runs on it and no
        /// preference is checked on each resumption. Relies on Swift's
        /// experimental executor SPI (verified on Swift 6.3 on Linux; it traps
        /// elsewhere); install it only through ``GoRuntime/main(route:file:line:_:)``
        /// or ``GoRuntime/installAsGlobalExecutor()`` as a program's first statement.
        case globalExecutor = "global"
    }

    private static let installedRuntime = Locked<GoRuntime?>(nil)

    /// The runtime installed as Swift's global executor, if any.
    static var installed: GoRuntime? { installedRuntime.withLock { $0 } }

    /// Makes ``shared`` Swift's global executor (the global-executor route):
    /// every task of the process that has no actor, including `Task { }`,
    /// `Task.detached`, `async let`, task groups, the tasks of every library
    /// the program uses, and the goroutines `go { }` starts on ``shared``,
    /// then runs on its processors, with no executor preference to look up
    /// on each resumption (about a tenth fewer instructions per hand-off).
    /// The main actor keeps the main thread.
    ///
    /// - Important: It takes over every task of the process for the rest of
    ///   its life: call it as the first statement of a program's top-level
    ///   code (`main.swift`), before any task starts, and only once (a second
    ///   call traps). It uses Swift's experimental executor SPI, verified on
    ///   Swift 6.3 on Linux; on any other toolchain or platform it traps with
    ///   a message saying so, instead of running an unverified route.
    public static func installAsGlobalExecutor() {
        if !SwiftRuntimeABI.verified {
            goPanic(
                "GoRuntime: the global-executor route is not verified on this toolchain",
                detail: "installAsGlobalExecutor (and GoRuntime.main(route: .globalExecutor)) relies on "
                    + "Swift's experimental executor SPI and on runtime internals verified on Swift 6.3 "
                    + "on Linux only. Use the default route (GoRuntime.main { } with no route) here.")
        }
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

extension GoRuntime.Route {
    /// Whether this route runs here: the executor-preference route
    /// everywhere, the global-executor route only where its assumptions
    /// about Swift's runtime are verified (Swift 6.3 on Linux; elsewhere
    /// ``GoRuntime/installAsGlobalExecutor()`` traps). A program that
    /// prefers the global-executor route asks this first, and keeps the
    /// default route where it is false.
    public var isAvailable: Bool {
        switch self {
        case .executorPreference: true
        case .globalExecutor: SwiftRuntimeABI.verified
        }
    }
}
