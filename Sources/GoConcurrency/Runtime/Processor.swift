// A logical processor (Go's P) and the worker thread that runs it.
//
// Invariants:
// - `runningJob` and `tick` are touched only by the owner thread. `runnext` is
//   one atomic word, a `Runnable` (a job, or a goroutine with no task yet):
//   only the owner puts an entry there (an exchange), the owner takes it (an
//   exchange), and a thief may take it (a compare-and-swap) only when thieves
//   have seen the same entry waiting there for the grace period, across two
//   steal attempts, while the owner ran no other job (`scheduled`
//   unchanged): the owner is stuck in one long job (Go gives runnext the same
//   grace). So the hand-off of a ping-pong pair takes no lock and is never
//   stolen. What thieves saw is `runnextWatch`, under its own lock, which
//   only thieves take: one record per processor, however many there are.
// - `local` (the local queue) is a lock-free ring (see `LocalRunQueue`): the
//   owner puts and takes, other processors steal half of it.
// - `parker` is a permit: `wake` sets it, `park` waits for it and clears it;
//   a wake that finds the processor running just leaves a permit, and the next
//   park returns at once and looks for work again. A spinner's nap is a park
//   with a deadline: it consumes a permit, and ends early only if the wake
//   wants the processor back or retired, or a job waits in the global queue.
// - A job put in runnext is never left there while every other processor
//   sleeps: the putter wakes one if none is spinning, and a processor about
//   to park counts every processor's runnext in its last look (a spinner
//   that saw the job too early to take it looks again, after the grace).

import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

final class Processor: @unchecked Sendable {
    let id: Int
    /// The runtime outlives its processors' use of it (it is never deinitialised
    /// while its threads run), so no reference count is touched to reach it.
    unowned(unsafe) let runtime: GoRuntime
    private let runtimeReference: Unmanaged<GoRuntime>
    let local = LocalRunQueue()
    let stolen = Atomic<Int>(0)
    /// Tasks this processor made to start goroutines (the others ran on a
    /// task whose goroutine had ended), for tests.
    let tasksMade = Atomic<Int>(0)
    /// Ended goroutines' records this processor's `go` statements reused, for
    /// tests.
    let recordsReused = Atomic<Int>(0)
    /// The job that runs next: its address, or 0.
    private let runnext = Atomic<UInt>(0)
    /// Whether this processor is on the runtime's idle list; changed only
    /// under `idleLock`, read without it after a wake-up (an enqueuer that
    /// popped us cleared it before waking us).
    let listedIdle = Atomic<Bool>(false)
    /// Whether a job waits in `runnext` (for the deadlock check, and for
    /// another processor's last look before it parks).
    var hasRunnext: Bool { runnext.load(ordering: .sequentiallyConsistent) != 0 }
    /// Jobs this processor has started, for thieves to tell a stuck owner.
    let scheduled = Atomic<UInt>(0)
    /// What thieves saw in this processor's runnext on their last steal
    /// attempt: (this processor's `scheduled`, the job, since when). Taken by
    /// thieves only, never by the owner.
    private let runnextWatch = Locked(SeenRunnext())

    struct SeenRunnext {
        var scheduled: UInt = 0
        var job: UInt = 0
        /// When the thief first saw that job there (`Monotonic`).
        var since: UInt64 = 0
    }

    /// How long a job must wait in a busy processor's runnext before a thief
    /// takes it: long enough that a hand-off between two goroutines of one
    /// processor is never stolen. A spinning processor's nap lasts at least
    /// this long (see `spinForWork`), so its second look can take the job.
    static let runnextGraceNanoseconds: UInt64 = 20_000
    /// How many jobs in a row came from runnext.
    private var runnextStreak = 0
    static let runnextTurns = 64
    /// The owner's own random sequence for picking steal victims (xorshift):
    /// a shared generator's cache line would bounce between a spinning
    /// processor and the busy ones.
    private var stealRandom: UInt64
    private var runningJob: UnsafeRawPointer?
    /// Set while `startGoroutine` makes a task: `putLocal` keeps the task's
    /// first job in `captured` instead of queuing it. Owner thread only.
    private var capturing = false
    private var captured: UnownedJob?
    /// What the scheduler chose next while a goroutine's task looked for
    /// another goroutine to run (`nextGoroutine`) and found something else:
    /// run first once that task's job returns. Owner thread only; only ever
    /// set while this processor runs a job, so never seen by an idle one.
    private var handedBack: Runnable?
    /// Set when `nextGoroutine` searched and found nothing, just before the
    /// job it ran in returns: the run loop skips its own search once. Owner
    /// thread only.
    private var searchedEmpty = false
    /// Set by `GoRuntime.yield` on this processor's thread: the next job put
    /// here goes to the tail of the local queue. Owner thread only.
    var yielding = false
    /// `runningJob` for other threads (goroutine snapshots): its address, or 0.
    let runningTask = Atomic<UInt>(0)
    private var tick: UInt32 = 0
    private let parker = ThreadParker()

    init(id: Int, runtime: GoRuntime) {
        self.id = id
        self.runtime = runtime
        self.runtimeReference = Unmanaged.passUnretained(runtime)
        self.stealRandom = FastRandom.next() | 1
    }

    /// The processor of the calling worker thread, on whichever runtime.
    static var current: Processor? {
        Machine.current?.runtime.currentProcessor
    }

    // MARK: Queues

    /// Puts a job readied by the running goroutine, or a goroutine it
    /// started. True if it was queued (rather than kept to run at once), and
    /// an idle processor should then be woken if none is spinning: the owner
    /// may run the running goroutine for a long time, and another processor
    /// must be able to take the job meanwhile (from runnext, after its grace).
    /// Called on the owner's thread only.
    func putLocal(_ entry: Runnable) -> Bool {
        if !entry.isGoroutine {
            if capturing {
                // The first job of the task `startGoroutine` is making: it
                // runs now, not after what is queued.
                capturing = false
                captured = entry.job
                return false
            }
            if UnsafeRawPointer(bitPattern: entry.bits) == runningJob || yielding {
                // A yield: to the tail, behind the others. (Swift's Task.yield may
                // enqueue a job of its own that then readies the task, so the
                // first job a yielding goroutine enqueues goes to the tail.)
                yielding = false
                append(entry)
                return true
            }
        }
        // Sequentially consistent, like the local queue's put: the caller
        // next reads the idle and spinning counts, while a processor about to
        // park changes them and then reads every runnext; only a full fence
        // on each side keeps both from missing the other.
        if runnext.load(ordering: .relaxed) == 0 {
            // Empty: thieves only ever empty it, so a store is enough.
            runnext.store(entry.bits, ordering: .sequentiallyConsistent)
            return true
        }
        let previous = runnext.exchange(entry.bits, ordering: .sequentiallyConsistent)
        if previous != 0 {
            append(Runnable(bits: previous))
        }
        return true
    }


    private func append(_ entry: Runnable) {
        if let overflow = local.put(entry.bits) {
            runtime.putGlobal(overflow.map(Runnable.init(bits:)))
        }
    }

    private func popLocal() -> Runnable? {
        local.take().map(Runnable.init(bits:))
    }

    private func takeRunnext() -> Runnable? {
        if runnext.load(ordering: .relaxed) == 0 { return nil }
        let bits = runnext.exchange(0, ordering: .acquiringAndReleasing)
        return bits == 0 ? nil : Runnable(bits: bits)
    }

    /// A thief's look at this processor's runnext: the job, if thieves have
    /// seen the same one waiting there for the grace period while this
    /// processor started no other job (it is stuck in one long job).
    func stealRunnext() -> Runnable? {
        let job = runnext.load(ordering: .acquiring)
        if job == 0 { return nil }
        let started = scheduled.load(ordering: .acquiring)
        let now = Monotonic.now()
        let waited = runnextWatch.withLock { seen -> Bool in
            guard seen.job == job, seen.scheduled == started else {
                seen = SeenRunnext(scheduled: started, job: job, since: now)
                return false
            }
            return now &- seen.since >= Processor.runnextGraceNanoseconds
        }
        guard waited, runnext.compareExchange(expected: job, desired: 0, ordering: .acquiringAndReleasing).exchanged
        else { return nil }
        runnextWatch.withLock { $0 = SeenRunnext() }
        return Runnable(bits: job)
    }

    /// Steals half of this processor's local queue (not runnext) into
    /// `thief`'s, which is empty; returns one of the jobs to run now.
    func stealHalf(into thief: Processor) -> Runnable? {
        guard let (job, taken) = local.stealHalf(into: thief.local) else { return nil }
        thief.stolen.add(taken, ordering: .relaxed)
        return Runnable(bits: job)
    }

    // MARK: Starting goroutines

    /// Ended goroutines' records for this processor's `go` statements to
    /// reuse (see `GoroutineFreeList`). Owner thread only.
    private var freeRecords: [Goroutine] = []

    /// Keeps the record of a goroutine that ended here, which the caller
    /// alone references, for a later `go`.
    func recycle(_ record: Goroutine) {
        if freeRecords.count >= GoroutineFreeList.localLimit {
            runtime.freeRecords.give(from: &freeRecords)
        }
        freeRecords.append(record)
    }

    /// A record to reuse for a goroutine `go` starts here, if one is kept.
    func takeFreeRecord() -> Goroutine? {
        if freeRecords.isEmpty, !runtime.freeRecords.take(into: &freeRecords) {
            return nil
        }
        recordsReused.add(1, ordering: .relaxed)
        return freeRecords.popLast()
    }

    /// Makes the task of `goroutine`, which was queued with none, and returns
    /// its first job, to run now. The task is made here, on the thread that
    /// runs it, so it is usually freed by the thread that allocated it.
    private func startGoroutine(_ goroutine: Goroutine) -> UnownedJob {
        tasksMade.add(1, ordering: .relaxed)
        capturing = true
        makeGoroutineTask(goroutine)
        precondition(!capturing, "GoRuntime: a goroutine's task was not enqueued on its processor")
        return captured.take().unsafelyUnwrapped
    }

    /// Called by a goroutine's task whose goroutine just ended, on this
    /// processor's thread: the next goroutine to start, if that is what the
    /// scheduler would run next here, for the same task to run (no task made
    /// or freed: Go's reuse of a dead goroutine). Anything else it chose runs
    /// next once the task's job returns.
    func nextGoroutine() -> Goroutine? {
        guard isActive, !takeBackRequested.load(ordering: .acquiring), handedBack == nil else { return nil }
        guard let entry = findRunnable() else {
            // The run loop, next, need not search again: it spins at once.
            searchedEmpty = true
            return nil
        }
        // Not a goroutine, or GOMAXPROCS went down while it looked (a steal
        // may race the change): the run loop takes it (and a retiring
        // processor hands it on).
        guard entry.isGoroutine, isActive else {
            handedBack = entry
            return nil
        }
        scheduled.store(scheduled.load(ordering: .relaxed) &+ 1, ordering: .relaxed)  // single writer
        return entry.takeGoroutine()
    }

    // MARK: The worker loop

    /// Starts the processor's first machine (thread).
    func start() {
        Machine(runtime: runtime, processor: self).start()
    }

    /// The scheduling loop, run by `machine` until the machine that handed this
    /// processor away in `blocking` takes it back.
    func run(on machine: Machine) {
        pthread_setspecific(runtime.currentKey, Unmanaged.passUnretained(self).toOpaque())
        let executor = runtime.asUnownedTaskExecutor()
        // Just back from a park: the processor was woken to look for work, and
        // looks as a spinner, so that what it finds hands the search on to one
        // more idle processor (Go's M woken by wakep starts spinning). Without
        // that, enqueuers that saw a spinner woke nobody, and a burst of jobs
        // could wait in a queue while processors slept.
        var woken = false
        while true {
            if takeBackRequested.load(ordering: .acquiring), giveBack() {
                return
            }
            if !isActive {
                retire()
                continue
            }
            let searched = woken || searchedEmpty
            searchedEmpty = false
            if let entry = (searched ? nil : findRunnable()) ?? spinForWork(looked: !woken) {
                woken = false
                if !isActive {
                    // GOMAXPROCS went down while it looked (a steal may have
                    // raced the change): a retired processor runs nothing.
                    runtime.putGlobal(CollectionOfOne(entry))
                    runtime.wakeIdleProcessor()
                    continue
                }
                let job = entry.isGoroutine ? startGoroutine(entry.takeGoroutine()) : entry.job
                if runtime.deadlockCheck.load(ordering: .relaxed), SwiftRuntimeABI.isChildTask(job) {
                    runtime.openToOutside()
                }
                runningJob = SwiftRuntimeABI.address(of: job)
                runningTask.store(UInt(bitPattern: runningJob), ordering: .relaxed)
                scheduled.store(scheduled.load(ordering: .relaxed) &+ 1, ordering: .relaxed)  // single writer
                if runtime.runsAsGlobalExecutor {
                    job.runSynchronously(on: SwiftRuntimeABI.genericExecutor)
                } else {
                    job.runSynchronously(on: executor)
                }
                runningJob = nil
                runningTask.store(0, ordering: .relaxed)
            } else {
                parkUntilWork()
                woken = true
            }
        }
    }

    // MARK: GOMAXPROCS changes

    /// Whether this processor is one of the runtime's first GOMAXPROCS.
    var isActive: Bool { isActive(in: runtime) }

    @inline(__always)
    func isActive(in runtime: GoRuntime) -> Bool { id < runtime.activeCount.load(ordering: .relaxed) }

    /// Set while the processor sleeps retired, its queues handed on: the
    /// deadlock check's proof that a processor beyond GOMAXPROCS holds no job
    /// (one that was stealing when the count went down may hold one, on its
    /// way to the global queue, in no queue at all).
    let sleepsRetired = Atomic<Bool>(false)

    /// Leaves the scheduling while GOMAXPROCS is below this processor's id:
    /// its queued jobs move to the global queue (where the active processors
    /// take them) and it sleeps until it is active again or its processor is
    /// wanted back by a blocking call's thread.
    private func retire() {
        // While the jobs are in no queue, `sleepsRetired` is still false: the
        // deadlock check does not count this processor as quiet.
        var moved: [Runnable] = []
        if let entry = handedBack.take() { moved.append(entry) }
        if let job = takeRunnext() { moved.append(job) }
        runnextStreak = 0
        while let job = popLocal() { moved.append(job) }
        if !moved.isEmpty {
            runtime.putGlobal(moved)
        }
        // Before the baton is passed, so that the processor it wakes, if it
        // finds nothing and parks, sees this one retired in its deadlock check.
        sleepsRetired.store(true, ordering: .sequentiallyConsistent)
        // Pass the baton: an active processor looks at the global queue.
        runtime.wakeIdleProcessor()
        while !isActive && !takeBackRequested.load(ordering: .acquiring) {
            parker.park()
        }
        sleepsRetired.store(false, ordering: .sequentiallyConsistent)
    }

    // MARK: Blocking calls (Go's entersyscall / exitsyscall)

    /// Set while some machine that handed this processor off wants it back.
    private let takeBackRequested = Atomic<Bool>(false)
    /// Those machines, each waiting on its parker, in the order they asked
    /// (several, when a goroutine that ran meanwhile made a blocking call too).
    /// Protected by `runtime.idleMachines`' lock.
    private var returningMachines = Deque<Machine>()

    /// Called by the job running on this processor just before it blocks its
    /// thread: another machine runs the processor meanwhile. Returns the
    /// running job, to restore in `takeBack`.
    func handOff() throws -> UnsafeRawPointer? {
        let job = runningJob
        // From here on the calling thread is no processor's: what it enqueues
        // goes to the global queue.
        pthread_setspecific(runtime.currentKey, nil)
        do {
            try runtime.startMachine(for: self)
        } catch {
            pthread_setspecific(runtime.currentKey, Unmanaged.passUnretained(self).toOpaque())
            throw error
        }
        return job
    }

    /// Called on the thread that handed this processor off, once its blocking
    /// call returned: waits until the machine running the processor lets go
    /// of it (between two jobs), and carries on with `job`.
    func takeBack(to machine: Machine, running job: UnsafeRawPointer?) {
        runtime.idleMachines.withLock { _ in
            returningMachines.append(machine)
            takeBackRequested.store(true, ordering: .releasing)
        }
        wake()  // in case the processor is parked with nothing to do
        machine.parker.park()
        pthread_setspecific(runtime.currentKey, Unmanaged.passUnretained(self).toOpaque())
        runningJob = job
        runningTask.store(UInt(bitPattern: job), ordering: .relaxed)
    }

    /// The running machine's side of `takeBack`: hands the processor to the
    /// first machine waiting for it. False if none was.
    private func giveBack() -> Bool {
        let machine = runtime.idleMachines.withLock { _ -> Machine? in
            let machine = returningMachines.popFirst()
            takeBackRequested.store(!returningMachines.isEmpty, ordering: .relaxed)
            return machine
        }
        guard let machine else { return false }
        pthread_setspecific(runtime.currentKey, nil)
        machine.parker.unpark()
        return true
    }

    private func findRunnable() -> Runnable? {
        if let entry = handedBack.take() {
            return entry
        }
        // Borrowed, not copied: every processor would otherwise retain and
        // release the runtime and its timer queue on each pick, one cache
        // line bouncing between the cores.
        return runtimeReference._withUnsafeGuaranteedRef { findRunnable(in: $0) }
    }

    @inline(__always)
    private func findRunnable(in runtime: GoRuntime) -> Runnable? {
        if runtime.timers.anyDue() {
            // Their actions ready goroutines, into this processor's queues.
            runtime.timers.runDue()
        }
        tick &+= 1
        if tick % 61 == 0, let job = runtime.popGlobal() {
            return job
        }
        // A pair handing off through runnext would run for ever and starve the
        // local queue; after `runnextTurns` picks in a row the queue goes
        // first (Go bounds this by the pair sharing one time slice).
        if runnextStreak >= Processor.runnextTurns, let job = popLocal() {
            runnextStreak = 0
            return job
        }
        if let job = takeRunnext() {
            runnextStreak += 1
            return job
        }
        runnextStreak = 0
        if let job = popLocal() {
            return job
        }
        if let job = runtime.popGlobal(sharingWith: self) {
            return job
        }
        return steal()
    }

    private func steal() -> Runnable? {
        let count = runtime.activeCount.load(ordering: .acquiring)
        if count <= 1 { return nil }
        // After the count: the table then has room for it.
        let peers = runtime.peers
        stealRandom ^= stealRandom << 13
        stealRandom ^= stealRandom >> 7
        stealRandom ^= stealRandom << 17
        let start = Int(truncatingIfNeeded: stealRandom % UInt64(count))
        for offset in 0..<count {
            let index = (start + offset) % count
            if index == id { continue }
            if let job = peers[index]._withUnsafeGuaranteedRef({ $0.stealHalf(into: self) }) {
                return job
            }
            if let job = peers[index]._withUnsafeGuaranteedRef({ $0.stealRunnext() }) {
                stolen.add(1, ordering: .relaxed)
                return job
            }
        }
        return nil
    }

    /// Looks for work twice before parking (Go's spinning M), with a nap
    /// between the looks: a hand-off between processors then costs no futex
    /// wake, and while one processor spins, enqueuers on the processors wake
    /// nobody (an enqueue from outside ends the nap instead). `looked`
    /// says the caller has just looked (and found nothing), which then counts
    /// as the first look.
    ///
    /// It naps rather than polls. A processor that polled another's queues
    /// without pause (it once did, with `sched_yield` between looks) took
    /// every job the moment it was queued, although the owner would have run
    /// it a microsecond later: a group of goroutines handing values to one
    /// another on one processor (select4's four senders and their receiver)
    /// was pulled apart, one steal per value, and every value then crossed
    /// the cores, the Swift runtime's task-status lock and status words with
    /// it. What is queued before the first look is taken at once; what is
    /// queued during the nap waits for the second look, or for its owner, and
    /// a job still queued then is a backlog worth sharing. Go's spinning M
    /// pauses too, though only before taking a busy processor's runnext
    /// (`usleep(3)` in runqgrab; 80 µs on this machine): its second processor
    /// sat mostly idle in select4 (1.15 CPUs) while ours polled (1.97).
    ///
    /// The nap lasts the runnext grace from the end of the first look, so
    /// that a job seen in a busy processor's runnext at the first look has
    /// waited its grace by the second and is taken if its owner is stuck: the owner may be waiting
    /// for it. (One seen only at the second look keeps the processor from
    /// parking: its last look before parking counts every runnext, and it
    /// spins again.) A wake that ends the nap early (to give the processor
    /// back after a blocking call, to retire, or a permit left over) ends the
    /// spin if it was for one of the first two; otherwise the nap goes on,
    /// unless a job waits in the global queue: that one is nobody's to run
    /// soon, and an enqueue from outside wakes the napper to take it now (a
    /// plain task handing values to a goroutine would otherwise wait out a
    /// nap on every hand-off). With one processor there is nothing to steal,
    /// and only the global queue and timers to watch: it parks after one
    /// look, so that an enqueue from outside wakes it at once.
    private func spinForWork(looked: Bool) -> Runnable? {
        // Borrowed for the whole spin: a retain per look would write the
        // runtime's first cache line, which the busy processors read.
        runtimeReference._withUnsafeGuaranteedRef { spinForWork(in: $0, looked: looked) }
    }

    @inline(__always)
    private func spinForWork(in runtime: GoRuntime, looked: Bool) -> Runnable? {
        runtime.spinningCount.add(1, ordering: .sequentiallyConsistent)
        var job: Runnable?
        if !looked, isWanted(in: runtime) {
            job = findRunnable()
        }
        if job == nil, runtime.activeCount.load(ordering: .relaxed) > 1,
           nap(until: Monotonic.now() &+ Processor.runnextGraceNanoseconds, in: runtime) {
            job = findRunnable()
        }
        runtime.spinningCount.subtract(1, ordering: .sequentiallyConsistent)
        if job != nil {
            // Found work: there may be more, and nobody else is looking now.
            runtime.wakeIdleProcessor()
        }
        return job
    }

    /// Whether the processor may go on looking for work: it is not wanted
    /// back by a blocking call's thread, and not beyond GOMAXPROCS.
    @inline(__always)
    private func isWanted(in runtime: GoRuntime) -> Bool {
        !takeBackRequested.load(ordering: .relaxed) && isActive(in: runtime)
    }

    /// A spinner's nap: parks until `end` (counted from after the look
    /// before it, so that the look after it comes a full grace later), until
    /// a job waits in the global queue, or until a wake that wants the
    /// processor for something else; a permit left over from an earlier wake
    /// does not end it. True if the spin should look again.
    private func nap(until end: UInt64, in runtime: GoRuntime) -> Bool {
        // Listed as the napper before the global queue is read: an enqueuer
        // from outside publishes its job and then reads the napper, so either
        // the nap sees the job or the enqueuer wakes it (both sequentially
        // consistent). Only one spinner is listed; another one's nap ends on
        // time, and the global queue's job waits at most for that.
        runtime.napper.store(id, ordering: .sequentiallyConsistent)
        defer {
            _ = runtime.napper.compareExchange(expected: id, desired: -1, ordering: .relaxed)
        }
        while isWanted(in: runtime) {
            // A job in the global queue is nobody's to run soon: it ends the
            // nap, which only gives a busy owner time to run its own jobs.
            if Monotonic.now() >= end || runtime.globalCount.load(ordering: .sequentiallyConsistent) > 0 {
                return true
            }
            parker.park(until: end)
        }
        return false
    }

    private func parkUntilWork() {
        if !isActive { return }  // the run loop retires it
        runtime.idleLock.withLock { idle in
            idle.append(self)
            listedIdle.store(true, ordering: .relaxed)
            runtime.idleCount.add(1, ordering: .sequentiallyConsistent)
        }
        // Look once more, now that enqueuers can see us idle: at every
        // queue, other processors' runnext included (a busy owner may not
        // come back to its own for a long time, and its putter woke nobody if
        // it saw us spinning).
        if runtime.globalCount.load(ordering: .sequentiallyConsistent) > 0 || runtime.anyQueuedWork()
                || runtime.timers.anyDue() || takeBackRequested.load(ordering: .sequentiallyConsistent) || !isActive {
            if leaveIdleList() { return }
            // Someone already took us off the list and will wake us: consume it.
        }
        sleepUntilWakeOrTimer()
        // Woken by anything but an enqueuer (which takes us off the list
        // first) — to give the processor back, to retire, or by a wake-up left
        // over from one of those — we may still be listed as idle; a
        // processor that runs must not be (the deadlock check counts them).
        if listedIdle.load(ordering: .acquiring) {
            _ = leaveIdleList()
        }
    }

    /// Parks the thread: until the earliest timer if this processor becomes
    /// the timer sleeper, for ever otherwise (until `wake`).
    private func sleepUntilWakeOrTimer() {
        var sleeping = false  // holds the timer sleeper role
        defer {
            if sleeping { runtime.timerSleeper.store(-1, ordering: .sequentiallyConsistent) }
        }
        while true {
            let deadline = runtime.timers.earliest.load(ordering: .sequentiallyConsistent)
            if deadline == .max {
                runtime.checkForDeadlock()
                parker.park()
                return
            }
            if !sleeping {
                guard runtime.timerSleeper.compareExchange(
                    expected: -1, desired: id, ordering: .sequentiallyConsistent).exchanged
                else {
                    parker.park()  // another processor sleeps for the timers
                    return
                }
                sleeping = true
                // A timer armed just before we took the role may not have seen
                // us as the sleeper: look at the deadline again.
                continue
            }
            let unparked = runtime.timers.park(parker, until: deadline)
            // Still listed as idle: the deadline passed, or an earlier timer
            // was armed; either way, back to the run loop (which fires due
            // timers and parks again until the next). Not listed: woken for
            // work, so another idle processor takes over the timers.
            let wasListed = leaveIdleList()
            if unparked && !wasListed && runtime.timers.earliest.load(ordering: .relaxed) != .max {
                runtime.timerSleeper.store(-1, ordering: .sequentiallyConsistent)
                sleeping = false
                runtime.wakeIdleProcessor()
            }
            return
        }
    }

    /// Takes this processor off the idle list; false if it was not on it.
    private func leaveIdleList() -> Bool {
        runtime.idleLock.withLock { idle in
            guard let index = idle.firstIndex(where: { $0 === self }) else { return false }
            idle.remove(at: index)
            listedIdle.store(false, ordering: .relaxed)
            runtime.idleCount.subtract(1, ordering: .sequentiallyConsistent)
            runtime.idleMoves.add(1, ordering: .sequentiallyConsistent)
            return true
        }
    }

    func wake() {
        parker.unpark()
    }
}
