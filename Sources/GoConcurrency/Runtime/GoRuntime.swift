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

    /// GOMAXPROCS at start: the `GOMAXPROCS` environment variable, or the
    /// usable cores.
    public static var defaultProcessorCount: Int {
        processorCount(fromEnvironment: getenv("GOMAXPROCS").map { String(cString: $0) }) ?? usableCores
    }

    /// GOMAXPROCS as Go reads it from the environment: a decimal number (an
    /// optional minus sign and digits, nothing else, within 32 bits) greater
    /// than 0. Anything else (empty, `abc`, `0`, `-3`, ` 4`) is ignored: nil.
    static func processorCount(fromEnvironment value: String?) -> Int? {
        guard var digits = value?.utf8[...] else { return nil }
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 10,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let count = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard count <= Int(Int32.max), !negative, count > 0 else { return nil }
        return count
    }

    /// The number of cores this process may run on.
    public static var usableCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

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
    private let peerTable: Atomic<UnsafeMutablePointer<Unmanaged<Processor>>>
    /// Room in the current table. Under `processorList`'s lock.
    private var peerCapacity = 0
    /// Tables replaced by larger ones. Under `processorList`'s lock.
    private var replacedPeerTables: [UnsafeMutablePointer<Unmanaged<Processor>>] = []
    let createdCount = Atomic<Int>(0)
    let activeCount = Atomic<Int>(0)
    /// The thread-specific slot where a worker thread keeps its processor:
    /// one for the process, whatever the runtime (a thread runs one
    /// runtime's processors only). A key per runtime ran out after about a
    /// thousand runtimes; one made early is also one of the first 32, which
    /// glibc reads without its second-level table.
    static let processorKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "GoRuntime: no thread-specific key left")
        return key
    }()
    /// The same key, read from the runtime on the hot paths (no lazy
    /// global's check).
    let currentKey = GoRuntime.processorKey
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
    private let threadLimit = Atomic<Int>(10_000)

    /// The most threads this runtime may start (Go: `debug.SetMaxThreads`,
    /// default 10,000). Each processor has one; each `blocking` call in
    /// progress needs one more. A `blocking` call that would exceed it throws
    /// ``ThreadLimitExceeded``.
    public var maxThreads: Int {
        get { threadLimit.load(ordering: .relaxed) }
        set {
            if newValue < 1 { goPanic("GoRuntime.maxThreads must be at least 1, got \(newValue)") }
            threadLimit.store(newValue, ordering: .relaxed)
        }
    }

    /// Hands `processor` to an idle machine, or to a new one if the thread
    /// limit allows.
    func startMachine(for processor: Processor) throws {
        let idle = idleMachines.withLock { idle -> Machine? in
            guard let machine = idle.popLast() else { return nil }
            machine.assigned = processor
            return machine
        }
        if let idle {
            idle.parker.unpark()
            return
        }
        let limit = maxThreads
        if threadCount.add(1, ordering: .relaxed).newValue > limit {
            threadCount.subtract(1, ordering: .relaxed)
            throw ThreadLimitExceeded(limit: limit)
        }
        Machine(runtime: self, processor: processor).start()
    }

    /// Records of ended goroutines moving between processors.
    let freeRecords = GoroutineFreeList()

    /// The runtime's timers, fired by its processors.
    let timers: TimerQueue
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

    /// Whether some processor has jobs queued, in its local queue or its
    /// runnext: a processor about to park looks at every runnext too, since a
    /// busy owner may not come back to its own for a long time.
    func anyQueuedWork() -> Bool {
        let created = createdCount.load(ordering: .acquiring)
        for index in 0..<created where peers[index]._withUnsafeGuaranteedRef({
            $0.local.count > 0 || $0.hasRunnext
        }) {
            return true
        }
        return false
    }

    /// GOMAXPROCS: the number of logical processors that run goroutines.
    ///
    /// Setting it at run time (Go: `runtime.GOMAXPROCS(n)`) starts processors
    /// or retires some. A retired processor finishes the job it is running,
    /// moves what it had queued to the global queue and sleeps until the count
    /// grows again; from the moment the setter returns it starts no other job
    /// (one it was taking meanwhile, by stealing, goes to the global queue).
    /// A goroutine that lowers the count goes on running on its processor
    /// until it next parks, even if that processor retires; from a goroutine,
    /// ``setProcessorCount(_:)`` also moves the caller onto an active
    /// processor, as Go's stop-the-world does.
    ///
    /// Any count from 1 up works (each processor has a thread of its own,
    /// counted against ``maxThreads``).
    ///
    /// - Precondition: `newValue >= 1`; 0 or less ends the program with a
    ///   panic (a setter cannot query: ``setProcessorCount(_:)`` with 0 does).
    public var processorCount: Int {
        get { activeCount.load(ordering: .acquiring) }
        set {
            if newValue < 1 {
                goPanic("GOMAXPROCS: processorCount must be at least 1, got \(newValue)",
                        detail: "To read GOMAXPROCS, read processorCount or call setProcessorCount(0), which changes nothing, as Go's runtime.GOMAXPROCS(0) does.")
            }
            changeProcessorCount(newValue)
        }
    }

    /// Sets GOMAXPROCS (``processorCount``) from a goroutine the way Go's
    /// `runtime.GOMAXPROCS(n)` does, and returns the previous value: when the
    /// call returns, the caller runs on one of the `count` active processors,
    /// so the goroutines it starts next are scheduled there in Go's order
    /// (the last started runs first, from `runnext`). A `count` of 0 or less
    /// changes nothing: `setProcessorCount(0)` reads GOMAXPROCS, as Go's
    /// `runtime.GOMAXPROCS(0)` does.
    @discardableResult
    public func setProcessorCount(_ count: Int) async -> Int {
        if count < 1 { return processorCount }
        let previous = changeProcessorCount(count)
        if let processor = Processor.current, processor.runtime === self, !processor.isActive {
            // To the back of this processor's queue, which it hands to the
            // global queue as it retires; an active processor picks it up.
            await GoRuntime.yield()
        }
        return previous
    }

    /// Sets GOMAXPROCS to `count` (at least 1); returns the previous value.
    @discardableResult
    private func changeProcessorCount(_ count: Int) -> Int {
        processorList.withLock { processors in
            // An ended runtime stays at 0 processors (see `end`).
            if hasEnded { return activeCount.load(ordering: .relaxed) }
            let previous = activeCount.load(ordering: .relaxed)
            if count > processors.count {
                let threads = threadCount.load(ordering: .relaxed) + count - processors.count
                if threads > maxThreads {
                    goFatal("thread exhaustion",
                            detail: "GOMAXPROCS \(count) needs \(threads) threads, past maxThreads (\(maxThreads)): each processor runs on a thread of its own.")
                }
                growPeerTable(to: count)
            }
            let made = processors.count
            var started: [Processor] = []
            while processors.count < count {
                let processor = Processor(id: processors.count, runtime: self)
                peers[processor.id] = Unmanaged.passUnretained(processor)
                processors.append(processor)
                started.append(processor)
            }
            createdCount.store(processors.count, ordering: .releasing)
            activeCount.store(count, ordering: .sequentiallyConsistent)
            if !started.isEmpty {
                threadCount.add(started.count, ordering: .relaxed)
                for processor in started { processor.start() }
            }
            // Wake the processors that come back, and the ones that must
            // retire (if they sleep as idle, they retire when they wake).
            for processor in processors[min(previous, count)..<min(max(previous, count), made)] {
                processor.wake()
            }
            return previous
        }
    }

    /// Makes room in `peers` for `count` processors. Called under
    /// `processorList`'s lock, before `createdCount` grows.
    private func growPeerTable(to count: Int) {
        guard count > peerCapacity else { return }
        let capacity = peerCapacity == 0 ? count : max(count, 2 * peerCapacity)
        let table = UnsafeMutablePointer<Unmanaged<Processor>>.allocate(capacity: capacity)
        let old = peerTable.load(ordering: .relaxed)
        let created = createdCount.load(ordering: .relaxed)
        table.initialize(from: old, count: created)
        peerTable.store(table, ordering: .releasing)
        replacedPeerTables.append(old)
        peerCapacity = capacity
    }

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
        // An empty table until `changeProcessorCount` sizes it.
        peerTable = Atomic(UnsafeMutablePointer<Unmanaged<Processor>>.allocate(capacity: 1))
        timers.attach(to: self)
        if !endsWithRun {
            // It lives as long as the process: its worker threads and
            // goroutine records use it without reference counting.
            _ = Unmanaged.passRetained(self)
        }
        GoRuntime.runtimes.withLock { $0[id] = WeakRuntime(runtime: self) }
        clock?.attach(to: self)
        changeProcessorCount(count)
    }

    deinit {
        // Only a runtime that ended gets here, once its threads are gone and
        // nothing refers to it (see `end`).
        GoRuntime.runtimes.withLock { _ = $0.removeValue(forKey: id) }
        dropQueuedEntries()
        peers.deallocate()
        for table in replacedPeerTables { table.deallocate() }
    }

    /// The processor whose worker thread is the calling thread, if any.
    var currentProcessor: Processor? {
        currentProcessorReference?.takeUnretainedValue()
    }

    /// The same, unretained: for hot paths that borrow it (a retain would
    /// write the processor's first cache line, which thieves read). Nil on a
    /// thread of another runtime (the key is the process's).
    var currentProcessorReference: Unmanaged<Processor>? {
        guard let pointer = pthread_getspecific(currentKey) else { return nil }
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

    public func enqueue(_ job: consuming ExecutorJob) {
        place(Runnable(job: UnownedJob(job)), on: currentProcessorReference)
    }

    /// Queues `entry` (a readied job, or a goroutine `go` starts, which has
    /// no task yet) on `processor`, the caller's (`currentProcessorReference`),
    /// or on the global queue off this runtime's worker threads, and wakes a
    /// processor to take it if none is spinning and one is parked.
    func place(_ entry: Runnable, on processor: Unmanaged<Processor>?) {
        if let processor {
            if processor._withUnsafeGuaranteedRef({ $0.putLocal(entry) }) {
                wakeIdleProcessor()
            }
        } else {
            putGlobal(CollectionOfOne(entry))
            wakeForGlobalWork()
        }
    }

    /// After an enqueue on the global queue from outside: a napping spinner
    /// looks now (it would otherwise take the job only when its nap ends, a
    /// wait on every hand-off from a plain task to a goroutine), or, with no
    /// spinner, an idle processor is woken.
    private func wakeForGlobalWork() {
        if spinningCount.load(ordering: .sequentiallyConsistent) > 0 {
            let napping = napper.load(ordering: .sequentiallyConsistent)
            if napping >= 0 {
                peers[napping]._withUnsafeGuaranteedRef { $0.wake() }
            }
            return
        }
        wakeIdleProcessor()
    }

    /// Queues `entries` on the global queue: from outside the processors, a
    /// full local queue's overflow, a retiring processor's jobs. Counted
    /// before they are queued: a deadlock check that sees the count at 0 sees
    /// no job on its way.
    func putGlobal<Entries: Collection<Runnable>>(_ entries: Entries) {
        globalCount.add(entries.count, ordering: .sequentiallyConsistent)
        globalQueue.withLock { $0.append(contentsOf: entries) }
    }

    func popGlobal() -> Runnable? {
        // The count may run ahead of the queue for a moment (see `putGlobal`).
        if globalCount.load(ordering: .relaxed) == 0 { return nil }
        let entry = globalQueue.withLock { $0.popFirst() }
        if entry != nil {
            globalCount.subtract(1, ordering: .relaxed)
        }
        return entry
    }

    /// Takes the global queue's first entry to run now and, as Go's
    /// globrunqget does, a share of the ones behind it (the queue divided
    /// among the processors, at most half a local queue) into `processor`'s
    /// local queue, which must be empty: one lock for a batch, not one per
    /// entry, while a busy processor spills into the queue and another
    /// drains it.
    func popGlobal(sharingWith processor: Processor) -> Runnable? {
        let queued = globalCount.load(ordering: .relaxed)
        if queued == 0 { return nil }
        let share = min(queued / max(1, activeCount.load(ordering: .relaxed)) + 1, Int(LocalRunQueue.capacity / 2))
        if share == 1 { return popGlobal() }
        return globalQueue.withLock { queue -> Runnable? in
            guard let first = queue.popFirst() else { return nil }
            let more = min(share - 1, queue.count)
            processor.local.putBatch(count: more) { queue.removeFirst().bits }
            globalCount.subtract(1 + more, ordering: .relaxed)
            return first
        }
    }

    /// A timer earlier than every other was armed: the timer sleeper must
    /// sleep until it instead, and if nobody sleeps for timers, an idle
    /// processor must wake to become the sleeper.
    func earliestTimerChanged() {
        if hasEnded { return }
        let sleeper = timerSleeper.load(ordering: .sequentiallyConsistent)
        if sleeper >= 0 {
            peers[sleeper]._withUnsafeGuaranteedRef { $0.wake() }
        } else {
            wakeIdleProcessor()
        }
    }

    /// Wakes one parked processor, if any, unless one is spinning. Inlined:
    /// every enqueue calls it, and with no processor parked (the busy case)
    /// it is one load.
    @inline(__always)
    func wakeIdleProcessor() {
        if idleCount.load(ordering: .sequentiallyConsistent) == 0 { return }
        if spinningCount.load(ordering: .sequentiallyConsistent) > 0 { return }
        wakeParkedProcessor()
    }

    private func wakeParkedProcessor() {
        let processor = idleLock.withLock { idle -> Processor? in
            guard let processor = idle.popLast() else { return nil }
            processor.listedIdle.store(false, ordering: .relaxed)
            idleCount.subtract(1, ordering: .sequentiallyConsistent)
            idleMoves.add(1, ordering: .sequentiallyConsistent)
            return processor
        }
        processor?.wake()
    }
}

/// A runtime held weakly, in the list of every runtime.
struct WeakRuntime {
    weak var runtime: GoRuntime?
}
