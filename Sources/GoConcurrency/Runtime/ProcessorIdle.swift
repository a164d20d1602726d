// What a processor does with nothing to run (the second half of Go's
// findrunnable and stopm): it spins, naps, looks once more, and parks, as
// the timer sleeper (in the network poller, once the runtime has one) or for
// ever; and how it leaves the idle list.

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
    /// and only the global queue, timers and the network poller to watch: it
    /// parks after one look (in the poller, if it sleeps for timers or
    /// descriptor waits), so that an enqueue from outside wakes it at once.
    func spinForWork(looked: Bool) -> Runnable? {
        // Borrowed for the whole spin: a retain per look would write the
        // runtime's first cache line, which the busy processors read.
        runtimeReference._withUnsafeGuaranteedRef { spinForWork(in: $0, looked: looked) }
    }

    @inline(__always)
    func spinForWork(in runtime: GoRuntime, looked: Bool) -> Runnable? {
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
    func isWanted(in runtime: GoRuntime) -> Bool {
        !takeBackRequested.load(ordering: .relaxed) && isActive(in: runtime)
    }

    /// A spinner's nap: parks until `end` (counted from after the look
    /// before it, so that the look after it comes a full grace later), until
    /// a job waits in the global queue, or until a wake that wants the
    /// processor for something else; a permit left over from an earlier wake
    /// does not end it. True if the spin should look again.
    func nap(until end: UInt64, in runtime: GoRuntime) -> Bool {
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

    func parkUntilWork() {
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
        if runtime.globalCount.load(ordering: .sequentiallyConsistent) > 0 || runtime.anyQueuedWork(stealable: true)
                || runtime.timers.anyDue() || takeBackRequested.load(ordering: .sequentiallyConsistent) || !isActive {
            if leaveIdleList() { return }
            // Someone already took us off the list and will wake us: consume it.
        } else {
            // Nothing to run: after a spike, give memory back (see `Scavenger`).
            Scavenger.processorParks(in: runtime)
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
    /// the timer sleeper, for ever otherwise (until `wake`). Once the runtime
    /// has a network poller, the timer sleeper sleeps in it instead (until
    /// the timer, or an event), and with descriptor waits parked and no
    /// timer one processor still takes the role, to sleep in the poller
    /// until an event (`ProcessorPoll`).
    func sleepUntilWakeOrTimer() {
        var sleeping = false  // holds the timer sleeper role
        defer {
            if sleeping { runtime.timerSleeper.store(-1, ordering: .sequentiallyConsistent) }
        }
        while true {
            let deadline = runtime.timers.earliest.load(ordering: .sequentiallyConsistent)
            #if os(Linux)
            let poller = runtime.poller
            let pollsForWaits = poller?.hasWaiters ?? false
            #else
            let pollsForWaits = false
            #endif
            if deadline == .max && !pollsForWaits {
                if sleeping {
                    // The timer or the waits went: give the role up, then
                    // look once more (a wait parked meanwhile may have seen
                    // the role taken and woken nobody).
                    runtime.timerSleeper.store(-1, ordering: .sequentiallyConsistent)
                    sleeping = false
                    continue
                }
                runtime.checkForDeadlock()
                parker.park()
                return
            }
            if !sleeping {
                if deadline == .max {
                    // Descriptor waits parked and no timer: the deadlock check
                    // still looks (a plain task may be the one waiting).
                    runtime.checkForDeadlock()
                }
                guard runtime.timerSleeper.compareExchange(
                    expected: -1, desired: id, ordering: .sequentiallyConsistent).exchanged
                else {
                    parker.park()  // another processor sleeps for the timers
                    return
                }
                sleeping = true
                // A timer armed (or a wait parked) just before we took the
                // role may not have seen us as the sleeper: look again.
                continue
            }
            #if os(Linux)
            if let poller {
                let (unparked, ready) = sleepPolling(poller, until: deadline)
                let wasListed = leaveIdleList()
                // Off the idle list: what the poll readied goes to this
                // processor's queues, and idle ones are woken for it.
                resume(ready)
                if (unparked && !wasListed || !ready.isEmpty)
                    && runtime.timers.earliest.load(ordering: .relaxed) != .max {
                    runtime.timerSleeper.store(-1, ordering: .sequentiallyConsistent)
                    sleeping = false
                    runtime.wakeIdleProcessor()
                }
                return
            }
            #endif
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
    func leaveIdleList() -> Bool {
        runtime.idleLock.withLock { idle in
            guard let index = idle.firstIndex(where: { $0 === self }) else { return false }
            idle.remove(at: index)
            listedIdle.store(false, ordering: .relaxed)
            runtime.idleCount.subtract(1, ordering: .sequentiallyConsistent)
            runtime.idleMoves.add(1, ordering: .sequentiallyConsistent)
            return true
        }
    }
}
