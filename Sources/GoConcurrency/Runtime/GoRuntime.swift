// GoRuntime: Go's scheduler as a Swift TaskExecutor.
//
// Glossary (Go's names, runtime/proc.go):
//   G  a goroutine: its record (`Goroutine`), queued by `go { }` as a
//      `Runnable`, and, once a processor starts it, a Swift task with this
//      runtime as its executor preference (a task whose goroutine ended may
//      run the next one). Its jobs (first run, and every resumption after a
//      suspension) are what the scheduler runs.
//   P  a logical processor (`Processor`): a run queue and the right to run
//      jobs. There are GOMAXPROCS of them.
//   M  an OS thread (`Machine`) that runs a P's loop. Each P starts with one;
//      `blocking { }` hands the caller's P to another M for the call's
//      duration, as Go does for a system call.
//
// How a job is placed (enqueue):
//   - from a worker thread of this runtime: into that P's `runnext` slot, so a
//     goroutine readied by the running one runs next, on the same P, back to
//     back (a ping-pong pair stays on one P and one core's cache). The job that
//     was in `runnext` moves to the tail of the local queue. A job that
//     re-enqueues itself while running (Task.yield) goes to the tail instead,
//     so yield still lets the others run.
//   - from any other thread: into the global queue.
// Timers: one heap per runtime (`timers`). A P fires the due ones each time it
// picks a job; a P that parks while a timer is pending becomes the timer
// sleeper and parks only until the earliest deadline; the others park for ever.
// Arming a timer that becomes the earliest wakes the sleeper (or, if there is
// none, an idle P) so that it sleeps until the new deadline instead.
// Sockets: once a descriptor is registered the runtime has a network poller
// (epoll), which the Ps poll from their loop and the timer sleeper sleeps in
// (`ProcessorPoll`); it has no thread of its own.
// How a P finds work: runnext, then its local queue (a lock-free ring, Go's
// runq: see `LocalRunQueue`), then the global queue (first, one tick in 61, so
// the global queue is never starved; otherwise taking its share of the queue
// into the local one in one go), then steals half of another P's queue;
// with nothing found it spins (one nap, at least the runnext grace, and one
// more look), then parks its thread until an enqueue wakes it. Every enqueue
// wakes a parked P if no P is spinning (a spinner will find the job), as Go's
// ready and newproc do: `runnext` included, since its owner may be stuck in a
// long job, and then only another P can run it (after the grace). A pair
// handing off through `runnext` therefore wakes the other P once per spin of
// it, not once per hand-off: while it spins, the pair wakes nobody. An
// enqueue from outside, which goes to the global queue, also ends a spinner's
// nap: that job is nobody's to run soon. A P that found work while spinning
// wakes one more (Go's wakep), and a P woken from its park looks as a
// spinner, so a burst of jobs spreads over the idle processors one wake at a
// time, wherever it was queued.
//
// Where each part lives: this file holds the runtime's state, its making
// and its ids; `GoRuntimeQueues` places jobs and wakes processors;
// `GoRuntimeProcessorCount` is GOMAXPROCS; `GoRuntimeThreads` the threads
// and their limit; `CheckedRun` a runtime that ends with its run;
// `Processor*` the processors' side (run loop, queues, idling, hand-off).
//
// Invariants:
// - `idle` (under `idleLock`) lists the parked processors; a processor appears
//   there only while its thread is in (or about to enter) `park`.
// - Before parking, a processor registers as idle (no longer spinning) and
//   then looks at every queue once more, every processor's `runnext`
//   included; an enqueuer publishes its job before it reads the idle and
//   spinning counts (all sequentially consistent). So either the processor
//   sees the job or the enqueuer sees it idle and wakes it, or sees another
//   spinning, which in turn looks once more before it parks: no job is
//   stranded, not even behind a goroutine that never suspends.

import CGoConcurrencyRuntime
import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's scheduler: goroutines (Swift tasks) multiplexed on GOMAXPROCS logical
/// processors, each with its own run queue and worker thread.
public final class GoRuntime: TaskExecutor, @unchecked Sendable {
    /// The runtime `go { }` uses. Its processor count (GOMAXPROCS) is the
    /// `GOMAXPROCS` environment variable when that is a positive number, as in
    /// Go, and otherwise the number of usable cores.
    public static let shared = GoRuntime(processors: GoRuntime.defaultProcessorCount)

    /// The processors, owned by the runtime for its whole life; `peers` is the
    /// same list for the scheduler's loops, which must not touch reference
    /// counts that every processor shares.
    let processorList = Locked<[Processor]>([])
    var processors: [Processor] { processorList.withLock { $0 } }
    /// The processors by id, unretained: the first `createdCount` entries are
    /// made, the first `activeCount` run goroutines (GOMAXPROCS). Read it
    /// after the count it is indexed by: a table holds at least as many
    /// entries as the count published after it.
    var peers: UnsafeMutablePointer<Unmanaged<Processor>> { peerTable.load(ordering: .acquiring) }
    /// The table behind `peers`, as long as the processors made so far. A
    /// processor count beyond it copies it into a larger one (at least
    /// twice as large) under `processorList`'s lock, published here before
    /// `createdCount` grows. Other threads read it without a lock, so a
    /// table it replaces is never freed: they add up to less than the
    /// current one.
    let peerTable: Atomic<UnsafeMutablePointer<Unmanaged<Processor>>>
    /// Room in the current table. Under `processorList`'s lock.
    var peerCapacity = 0
    /// Tables replaced by larger ones. Under `processorList`'s lock.
    var replacedPeerTables: [UnsafeMutablePointer<Unmanaged<Processor>>] = []
    let createdCount = Atomic<Int>(0)
    let activeCount = Atomic<Int>(0)
    let globalQueue = Locked(Deque<Runnable>())
    let globalCount = Atomic<Int>(0)
    let idleLock = Locked<[Processor]>([])
    let idleCount = Atomic<Int>(0)
    /// Processors looking for work before they park; while there is one,
    /// enqueuers wake no parked processor (it will find their jobs).
    let spinningCount = Atomic<Int>(0)
    /// The id of a spinning processor napping between its two looks, or -1:
    /// an enqueue from outside ends its nap (see `place`).
    let napper = Atomic<Int>(-1)
    /// Machines (threads) with no processor to run, parked.
    let idleMachines = Locked<[Machine]>([])
    /// Machines started, idle ones included.
    let threadCount = Atomic<Int>(0)
    let threadLimit = Atomic<Int>(10_000)

    /// Records of ended goroutines moving between processors.
    let freeRecords = GoroutineFreeList()
    /// This runtime's live goroutines (see `GoroutineRegistry`).
    let goroutines: GoroutineRegistry

    /// The runtime's timers, fired by its processors.
    let timers: TimerQueue
    #if os(Linux)
    /// The network poller, made when the first descriptor registers
    /// (`ProcessorPoll`); retained once, released when the runtime is freed.
    let pollerSlot = Atomic<Unmanaged<Poller>?>(nil)
    /// Taken to make the poller, and to shut it down.
    let pollerMaking = Locked(())
    #endif
    /// The id of the processor parked until the earliest timer, or -1.
    let timerSleeper = Atomic<Int>(-1)
    /// Whether this runtime is Swift's global executor (the experimental
    /// route, `installAsGlobalExecutor`): its jobs then run with no executor
    /// preference.
    var runsAsGlobalExecutor: Bool {
        get { globalRoute.load(ordering: .relaxed) }
        set { globalRoute.store(newValue, ordering: .relaxed) }
    }
    private let globalRoute = Atomic<Bool>(false)

    /// The runtime's serial number (1, 2, 3, ... in the order they were
    /// made; never reused): what goroutine records, channels and sync
    /// primitives keep to say which runtime they belong to, compared without
    /// touching the runtime. Not its address: a runtime that ended may be
    /// freed, and a later one may be made at the same address.
    @usableFromInline let id: UInt
    private static let nextID = Atomic<UInt>(1)

    /// The runtime whose `id` is `id`, if it still exists (nil for 0): for
    /// the rare paths that reach a runtime from an id (an object made by its
    /// goroutines being shared with the outside, a test clock).
    @usableFromInline
    static func live(id: UInt) -> GoRuntime? {
        if id == 0 { return nil }
        return runtimes.withLock { $0[id]?.runtime }
    }

    /// Whether the runtime ends with its checked run (see `end`); otherwise
    /// it lives as long as the process.
    let isMortal: Bool
    /// Set for good by `end`.
    let ended = Atomic<Bool>(false)
    var hasEnded: Bool { ended.load(ordering: .acquiring) }

    /// `blocking` calls in flight on this runtime's threads.
    let blockingCalls = Atomic<Int>(0)
    /// Counts processors leaving the idle list: the deadlock check's proof
    /// that nothing ran while it looked.
    let idleMoves = Atomic<Int>(0)
    let deadlockCheck = Atomic<Bool>(false)
    /// Set for good once outside code used an object of its goroutines.
    let openedToOutside = Atomic<Bool>(false)
    let deadlockReported = Atomic<Bool>(false)
    let deadlockHandlerSlot = Locked<(@Sendable (Deadlock) -> Void)?>(nil)
    let panicHandlerSlot = Locked<(@Sendable (GoroutinePanic) -> Void)?>(nil)
    /// Handles of ended goroutines whose plain tasks were still alive.
    let outlivingTasks = Locked<[WeakHandle]>([])

    /// Jobs taken by stealing, for tests and benchmarks that want to see the
    /// work move.
    public var stolenJobs: Int { processors.reduce(0) { $0 + $1.stolen.load(ordering: .relaxed) } }

    /// Tasks made to start goroutines: fewer than the goroutines started when
    /// tasks ran one goroutine after another.
    var goroutineTasksMade: Int { processors.reduce(0) { $0 + $1.tasksMade.load(ordering: .relaxed) } }

    /// Records of ended goroutines that `go` reused.
    var goroutineRecordsReused: Int { processors.reduce(0) { $0 + $1.recordsReused.load(ordering: .relaxed) } }

    /// Starts a runtime with `processors` logical processors (GOMAXPROCS), each
    /// with its worker thread.
    ///
    /// - Parameters:
    ///   - count: GOMAXPROCS, at least 1.
    ///   - clock: For tests: the runtime's timers count this clock's time
    ///     instead of the system's, so they fire only when the test moves it
    ///     (see ``ManualClock``).
    /// - Important: A runtime made this way is never deallocated, and its
    ///   threads never stop: make one per process (or per benchmark
    ///   configuration), not per task. (The runtime of a checked run,
    ///   ``run(processors:file:line:_:)``, ends with the run.)
    public convenience init(processors count: Int, clock: ManualClock? = nil) {
        self.init(processors: count, clock: clock, endsWithRun: false)
    }

    /// `endsWithRun`: the runtime of a checked run, which `end()` stops
    /// when the run ends; otherwise it lives as long as the process.
    init(processors count: Int, clock: ManualClock?, endsWithRun: Bool) {
        if count < 1 { goPanic("GOMAXPROCS: GoRuntime(processors: \(count)): at least 1 processor") }
        id = GoRuntime.nextID.add(1, ordering: .relaxed).oldValue
        isMortal = endsWithRun
        timers = TimerQueue(clock: clock)
        goroutines = GoroutineRegistry(processors: count)
        // An empty table until `changeProcessorCount` sizes it.
        peerTable = Atomic(UnsafeMutablePointer<Unmanaged<Processor>>.allocate(capacity: 1))
        timers.attach(to: self)
        if !endsWithRun {
            // It lives as long as the process: its worker threads and
            // goroutine records use it without reference counting.
            _ = Unmanaged.passRetained(self)
        }
        GoRuntime.runtimes.withLock { $0[id] = WeakRuntime(self) }
        clock?.attach(to: self)
        changeProcessorCount(count)
    }

    deinit {
        // Only a runtime that ended gets here, once its threads are gone and
        // nothing refers to it (see `end`).
        GoRuntime.runtimes.withLock { _ = $0.removeValue(forKey: id) }
        dropQueuedEntries()
        #if os(Linux)
        if let poller = pollerSlot.load(ordering: .acquiring) {
            poller.takeUnretainedValue().shutdown()
            poller.release()
        }
        #endif
        peers.deallocate()
        for table in replacedPeerTables { table.deallocate() }
    }

    /// The processor whose worker thread is the calling thread, if any.
    var currentProcessor: Processor? {
        currentProcessorReference?.takeUnretainedValue()
    }

    /// The same, unretained: for hot paths that borrow it (a retain would
    /// write the processor's first cache line, which thieves read). Nil on a
    /// thread of another runtime (the slot, a C thread-local, is the
    /// process's: a thread runs one runtime's processors only).
    var currentProcessorReference: Unmanaged<Processor>? {
        guard let pointer = goconcurrency_current_processor() else { return nil }
        let processor = Unmanaged<Processor>.fromOpaque(pointer)
        return processor._withUnsafeGuaranteedRef { $0.runtime === self } ? processor : nil
    }

    /// Every runtime that exists in this process, by `id`, held weakly: a
    /// checked run's runtime goes once it has ended and nothing refers to it.
    private static let runtimes = Locked<[UInt: WeakRuntime]>([:])

    static func allRuntimes() -> [GoRuntime] {
        runtimes.withLock { $0.values.compactMap(\.runtime) }
    }

    /// The identities of the tasks the processors are running right now.
    func runningTasks() -> [UInt] {
        processors.compactMap { processor in
            let task = processor.runningTask.load(ordering: .relaxed)
            return task == 0 ? nil : task
        }
    }

}

/// A runtime in the list of every runtime: held weakly if it can end (a
/// checked run's), unretained otherwise. Not weakly for every runtime: a weak
/// reference gives the object a side table, and every retain and release of
/// it then takes the runtime's slow path (spawn took 12% more instructions
/// when the shared runtime was listed weakly).
struct WeakRuntime {
    private weak var mortal: GoRuntime?
    private let immortal: Unmanaged<GoRuntime>?

    init(_ runtime: GoRuntime) {
        if runtime.isMortal {
            mortal = runtime
            immortal = nil
        } else {
            immortal = Unmanaged.passUnretained(runtime)
        }
    }

    var runtime: GoRuntime? { immortal?.takeUnretainedValue() ?? mortal }
}
