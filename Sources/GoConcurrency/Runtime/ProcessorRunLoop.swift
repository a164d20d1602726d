// A processor's scheduling loop (Go's schedule): the thread that runs it,
// the job it runs next, the tasks it makes to start goroutines and the ended
// goroutines' records it keeps for reuse.

import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension Processor {
    /// Starts the processor's first machine (thread).
    func start() {
        Machine(runtime: runtime, processor: self).start()
    }

    /// The scheduling loop, run by `machine` until the machine that handed this
    /// processor away in `blocking` takes it back (false), or the runtime
    /// ends (true: the thread leaves).
    func run(on machine: Machine) -> Bool {
        Processor.setCurrent(self)
        let executor = runtime.asUnownedTaskExecutor()
        // Just back from a park: the processor was woken to look for work, and
        // looks as a spinner, so that what it finds hands the search on to one
        // more idle processor (Go's M woken by wakep starts spinning). Without
        // that, enqueuers that saw a spinner woke nobody, and a burst of jobs
        // could wait in a queue while processors slept.
        var woken = false
        while true {
            if takeBackRequested.load(ordering: .acquiring), giveBack() {
                return false
            }
            if !isActive {
                if retire() {
                    leaveEndedRuntime()
                    return true
                }
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

    /// Keeps the record of a goroutine that ended here, which the caller
    /// alone references, for a later `go`.
    func recycle(_ record: consuming Goroutine) {
        if freeRecords.count >= GoroutineFreeList.localLimit {
            runtimeReference._withUnsafeGuaranteedRef { $0.freeRecords.give(from: &freeRecords) }
        }
        freeRecords.append(record)
    }

    /// A record to reuse for a goroutine `go` starts here, if one is kept.
    func takeFreeRecord() -> Goroutine? {
        // Through the unretained runtime: a retain of the shared list would
        // cost every `go` two reference counts, found or not.
        if freeRecords.isEmpty,
           !runtimeReference._withUnsafeGuaranteedRef({ $0.freeRecords.take(into: &freeRecords) }) {
            return nil
        }
        recordsReused.wrappingAdd(1, ordering: .relaxed)
        return freeRecords.popLast()
    }

    /// Makes the task of `goroutine`, which was queued with none, and returns
    /// its first job, to run now. The task is made here, on the thread that
    /// runs it, so it is usually freed by the thread that allocated it.
    func startGoroutine(_ goroutine: Goroutine) -> UnownedJob {
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
}
