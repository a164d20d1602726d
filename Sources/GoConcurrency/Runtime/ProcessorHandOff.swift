// A processor lent to another thread while its own blocks (Go's
// entersyscall / exitsyscall hand-off), and a processor leaving the
// scheduling when GOMAXPROCS goes down or its runtime ends (Go's procresize).

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
    /// Called by the job running on this processor just before it blocks its
    /// thread: another machine runs the processor meanwhile. Returns the
    /// running job, to restore in `takeBack`.
    func handOff() throws -> UnsafeRawPointer? {
        let job = runningJob
        // From here on the calling thread is no processor's: what it enqueues
        // goes to the global queue.
        Processor.setCurrent(nil)
        handOffs.add(1, ordering: .releasing)
        do {
            try runtime.startMachine(for: self)
        } catch {
            handOffs.subtract(1, ordering: .releasing)
            Processor.setCurrent(self)
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
        handOffs.subtract(1, ordering: .releasing)
        Processor.setCurrent(self)
        runningJob = job
        runningTask.store(UInt(bitPattern: job), ordering: .relaxed)
    }

    /// The running machine's side of `takeBack`: hands the processor to the
    /// first machine waiting for it. False if none was.
    func giveBack() -> Bool {
        let machine = runtime.idleMachines.withLock { _ -> Machine? in
            let machine = returningMachines.popFirst()
            takeBackRequested.store(!returningMachines.isEmpty, ordering: .relaxed)
            return machine
        }
        guard let machine else { return false }
        Processor.setCurrent(nil)
        machine.parker.unpark()
        return true
    }

    /// Whether this processor is one of the runtime's first GOMAXPROCS.
    var isActive: Bool { isActive(in: runtime) }

    @inline(__always)
    func isActive(in runtime: GoRuntime) -> Bool { id < runtime.activeCount.load(ordering: .relaxed) }


    /// Leaves the scheduling while GOMAXPROCS is below this processor's id:
    /// its queued jobs move to the global queue (where the active processors
    /// take them) and it sleeps until it is active again or its processor is
    /// wanted back by a blocking call's thread. True if the runtime ended
    /// instead (its count is 0 for good: see `GoRuntime.end`).
    func retire() -> Bool {
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
            // An ended runtime's processor still goes back to a blocking
            // call that handed it off (its caller waits for it) before its
            // thread leaves.
            if runtime.hasEnded && handOffs.load(ordering: .acquiring) == 0 { return true }
            parker.park()
        }
        sleepsRetired.store(false, ordering: .sequentiallyConsistent)
        return false
    }

    /// The runtime ended: this processor's thread leaves it, dropping what
    /// only this thread may touch (its records kept for reuse hold the
    /// runtime). Its queues were handed to the global queue as it retired.
    func leaveEndedRuntime() {
        freeRecords.removeAll()
        if listedIdle.load(ordering: .acquiring) {
            _ = leaveIdleList()
        }
        Processor.setCurrent(nil)
    }
}
