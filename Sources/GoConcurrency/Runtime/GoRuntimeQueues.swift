// Where a runtime puts the jobs it is given (the enqueue side of Go's
// runqput / globrunqput) and whom it wakes to run them (wakep); the
// processors' side, where they look, is `ProcessorQueues`.

import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension GoRuntime {
    public func enqueue(_ job: consuming ExecutorJob) {
        place(Runnable(job: UnownedJob(job)), on: currentProcessorReference)
    }

    /// Queues `entry` (a readied job, or a goroutine `go` starts, which has
    /// no task yet) on `processor`, the caller's (`currentProcessorReference`),
    /// or on the global queue off this runtime's worker threads, and wakes a
    /// processor to take it if none is spinning and one is parked.
    @inline(__always)
    func place(_ entry: Runnable, on processor: Unmanaged<Processor>?) {
        if let processor {
            if processor._withUnsafeGuaranteedRef({ $0.putLocal(entry) }) {
                wakeIdleProcessor()
            }
        } else {
            placeGlobal(entry)
        }
    }

    /// `place` off this runtime's worker threads: out of line, so that the
    /// processors' own enqueue (every hand-off) inlines the local branch only.
    @inline(never)
    func placeGlobal(_ entry: Runnable) {
        putGlobal(CollectionOfOne(entry))
        if hasEnded {
            // A checked run's runtime that has ended runs nothing more:
            // what outside code queues on it now (a goroutine it starts,
            // a wake-up) is dropped, not left to hold the runtime for
            // ever (see `CheckedRun`). Its queue is read under the
            // queue's lock after the entry was added, so either this
            // call or the last thread's drop sees it.
            dropQueuedEntries()
        } else {
            wakeForGlobalWork()
        }
    }

    /// After an enqueue on the global queue from outside: a napping spinner
    /// looks now (it would otherwise take the job only when its nap ends, a
    /// wait on every hand-off from a plain task to a goroutine), or, with no
    /// spinner, an idle processor is woken.
    func wakeForGlobalWork() {
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

    func wakeParkedProcessor() {
        let processor = idleLock.withLock { idle -> Processor? in
            guard let processor = idle.popLast() else { return nil }
            processor.listedIdle.store(false, ordering: .relaxed)
            idleCount.subtract(1, ordering: .sequentiallyConsistent)
            idleMoves.add(1, ordering: .sequentiallyConsistent)
            return processor
        }
        processor?.wake()
    }

    /// Whether some processor has jobs queued, in its local queue or its
    /// runnext: a processor about to park looks at every runnext too, since a
    /// busy owner may not come back to its own for a long time. `stealable`:
    /// only the active processors, the ones an idle processor may steal from
    /// (a processor beyond GOMAXPROCS hands its queue to the global queue
    /// when its running job returns; counting it would keep the idle ones
    /// spinning until then). The deadlock check counts them all.
    func anyQueuedWork(stealable: Bool = false) -> Bool {
        let created = createdCount.load(ordering: .acquiring)
        let count = stealable ? min(created, activeCount.load(ordering: .sequentiallyConsistent)) : created
        for index in 0..<count where peers[index]._withUnsafeGuaranteedRef({
            $0.local.count > 0 || $0.hasRunnext
        }) {
            return true
        }
        return false
    }
}
