// A processor's run queues and where it looks for work: `runnext`, the local
// queue, the global queue, due timers, the network poller (its hooks are in
// `ProcessorPoll`), and stealing from the other processors (Go's runqput,
// runqget, findrunnable's first half, runqsteal).
// The queues' invariants are in Processor.swift's opening comment.

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
    /// Puts a job readied by the running goroutine, or a goroutine it
    /// started. True if it was queued (rather than kept to run at once), and
    /// an idle processor should then be woken if none is spinning: the owner
    /// may run the running goroutine for a long time, and another processor
    /// must be able to take the job meanwhile (from runnext, after its grace).
    /// Called on the owner's thread only.
    @inline(__always)
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


    func append(_ entry: Runnable) {
        if let overflow = local.put(entry.bits) {
            runtime.putGlobal(overflow.map(Runnable.init(bits:)))
        }
    }

    func popLocal() -> Runnable? {
        local.take().map(Runnable.init(bits:))
    }

    func takeRunnext() -> Runnable? {
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

    func findRunnable() -> Runnable? {
        if let entry = handedBack.take() {
            return entry
        }
        // The runtime borrowed, not copied: every processor would otherwise
        // retain and release the runtime and its timer queue on each pick,
        // one cache line bouncing between the cores. Borrowed for each use
        // (closures small enough to inline), so that the common pick, from
        // runnext, is inlined into the run loop; what comes after runnext is
        // out of line (`findRunnableAfterRunnext`).
        let runtime = runtimeReference
        if runtime._withUnsafeGuaranteedRef({ $0.timers.anyDue() }) {
            // Their actions ready goroutines, into this processor's queues.
            runtime._withUnsafeGuaranteedRef { _ = $0.timers.runDue() }
        }
        #if os(Linux)
        // Sockets polled at least every 10 ms while every processor is busy
        // (`ProcessorPoll`); one load for a program without any (acquiring:
        // the poller it finds is read through; a plain load on x86).
        if let poller = runtime._withUnsafeGuaranteedRef({ $0.pollerSlot.load(ordering: .acquiring) }) {
            pollIfStarving(poller)
        }
        #endif
        tick &+= 1
        if tick % 61 == 0, let job = runtime._withUnsafeGuaranteedRef({ $0.popGlobal() }) {
            return job
        }
        // A pair handing off through runnext would run for ever and starve the
        // local queue; after `runnextTurns` picks in a row the queue goes
        // first (Go bounds this by the pair sharing one time slice).
        if runnextStreak >= Processor.runnextTurns {
            // Reset whether or not the queue had a job: an empty queue has
            // nothing waiting behind the pair, and a streak left at its
            // bound would make every later pick try the queue first.
            runnextStreak = 0
            if let job = popLocal() {
                return job
            }
        }
        if let job = takeRunnext() {
            runnextStreak &+= 1
            return job
        }
        runnextStreak = 0
        return findRunnableAfterRunnext()
    }

    /// `findRunnable` past runnext: the local queue, the global queue, the
    /// network poller, stealing.
    @inline(never)
    func findRunnableAfterRunnext() -> Runnable? {
        if let job = popLocal() {
            return job
        }
        return runtimeReference._withUnsafeGuaranteedRef { runtime -> Runnable? in
            if let job = runtime.popGlobal(sharingWith: self) {
                return job
            }
            #if os(Linux)
            // Before stealing, what the network poller readied (`ProcessorPoll`).
            if let poller = runtime.pollerSlot.load(ordering: .acquiring), let job = pollBeforeStealing(poller) {
                return job
            }
            #endif
            return steal()
        }
    }

    func steal() -> Runnable? {
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

    /// Any thread, for goroutine dumps: adds the address of each job in
    /// runnext and the local queue now (a snapshot; goroutines not started
    /// yet are left out: their records say so themselves).
    func collectQueuedJobs(into jobs: inout Set<UInt>) {
        let next = runnext.load(ordering: .acquiring)
        if next != 0, !Runnable(bits: next).isGoroutine { jobs.insert(next) }
        local.forEachQueued { bits in
            if !Runnable(bits: bits).isGoroutine { jobs.insert(bits) }
        }
    }
}
