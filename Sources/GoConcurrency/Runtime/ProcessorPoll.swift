// The network poller in the scheduling loop (Go's netpoll calls in
// findrunnable, stopm's sleep and sysmon), every hook in this one file:
// - a processor that finds no job in its queues or the global queue polls
//   without waiting before it steals, when descriptor waits are parked and no
//   processor sleeps in the poller (`pollBeforeStealing`);
// - the idle processor holding the sleeper role (`timerSleeper`) sleeps in
//   epoll instead of on its parker: until the earliest timer (to the
//   nanosecond; with a `ManualClock`, until woken), or, with waits parked and
//   no timer, until an event. Whatever would unpark it (an enqueue, `wake`,
//   an earlier timer, a take-back, retiring, the runtime's end) writes the
//   eventfd instead, once per sleep (`ThreadParker.parkPolling`);
// - while every processor is busy, each pick of a job checks that the
//   poller was polled within the last 10 ms, and polls if not
//   (`pollIfStarving`);
// - a wait parked while nobody sleeps in the poller wakes an idle processor,
//   which will (`Poller.waiterParked`).
// The goroutines a poll readies are resumed on the polling processor (its
// runnext and local queue, as Go's injectglist), and every enqueue wakes an
// idle processor for them if none is spinning.
//
// What a program that never registers a descriptor pays: one relaxed load
// of `pollerSlot` per pick, and one when a processor's queues are empty.

#if os(Linux)
import Synchronization
import SystemPackage

extension GoRuntime {
    /// The poller, if a descriptor was ever registered.
    var poller: Poller? {
        pollerSlot.load(ordering: .acquiring)?.takeUnretainedValue()
    }

    /// The poller, made on first use; nil once the runtime has ended without
    /// one.
    func makePoller() throws(Errno) -> Poller? {
        if let poller { return poller }
        let made = try pollerMaking.withLock { _ -> Result<Poller?, Errno> in
            if let poller { return .success(poller) }
            if hasEnded { return .success(nil) }
            do throws(Errno) {
                let poller = try Poller()
                pollerSlot.store(Unmanaged.passRetained(poller), ordering: .releasing)
                return .success(poller)
            } catch {
                return .failure(error)
            }
        }.get()
        // A timer sleeper parked before the poller existed sleeps in it from now on.
        let sleeper = timerSleeper.load(ordering: .sequentiallyConsistent)
        if sleeper >= 0 { peers[sleeper]._withUnsafeGuaranteedRef { $0.wake() } }
        return made
    }

    /// The last thread left the ended runtime: descriptors still open fail
    /// their waits with `.closed`, and the epoll and eventfd are closed.
    func shutDownPoller() {
        pollerMaking.withLock { _ in poller }?.shutdown()
    }
}

extension Poller {
    /// A wait was parked in a descriptor's slot (and counted in `waiters`):
    /// if nobody sleeps in the poller, an idle processor is woken to, so the
    /// event is not left unread while every processor sleeps on its parker.
    func waiterParked(on runtime: GoRuntime) {
        if sleeping.load(ordering: .sequentiallyConsistent) { return }
        runtime.wakeIdleProcessor()
    }

    var hasWaiters: Bool { waiters.load(ordering: .sequentiallyConsistent) > 0 }
}

extension Processor {
    /// The longest the poller goes unpolled while waits are parked and every
    /// processor is busy (Go's sysmon polls after 10 ms).
    static let pollStarvationNanoseconds: UInt64 = 10_000_000

    /// A processor found no job in its queues or the global queue: polls
    /// without waiting, if waits are parked and nobody sleeps in the poller,
    /// and returns a job it readied.
    @inline(never)
    func pollBeforeStealing(_ poller: Unmanaged<Poller>) -> Runnable? {
        let polled = poller._withUnsafeGuaranteedRef { poller -> Bool in
            guard poller.hasWaiters, !poller.sleeping.load(ordering: .relaxed) else { return false }
            var ready: [Waiter] = []
            poller.poll(timeout: 0, sleeper: false, into: &ready)
            resume(ready)
            return !ready.isEmpty
        }
        guard polled else { return nil }
        return takeRunnext() ?? popLocal()
    }

    /// Each pick of a job, with a poller: polls without waiting if waits are
    /// parked, nobody sleeps in the poller and it was last polled 10 ms ago.
    @inline(never)
    func pollIfStarving(_ poller: Unmanaged<Poller>) {
        poller._withUnsafeGuaranteedRef { poller in
            guard poller.waiters.load(ordering: .relaxed) > 0, !poller.sleeping.load(ordering: .relaxed),
                  Monotonic.coarseNow() &- poller.lastPoll.load(ordering: .relaxed) >= Processor.pollStarvationNanoseconds
            else { return }
            var ready: [Waiter] = []
            poller.poll(timeout: 0, sleeper: false, into: &ready)
            resume(ready)
        }
    }

    /// The sleeper role's sleep in the poller: until `deadline` (the queue's
    /// time; `.max`, or any deadline of a test clock's queue: until woken or
    /// an event). Returns whether it was unparked (woken), and the waiters
    /// the poll readied, for the caller to resume once it has left the idle
    /// list.
    func sleepPolling(_ poller: Poller, until deadline: UInt64) -> (unparked: Bool, ready: [Waiter]) {
        var timeout: UInt64?
        if deadline != .max && runtime.timers.clock == nil {
            let now = Monotonic.now()
            timeout = deadline > now ? deadline &- now : 0
        }
        var ready: [Waiter] = []
        let unparked = parker.parkPolling(in: poller) {
            poller.poll(timeout: timeout, sleeper: true, into: &ready)
        }
        return (unparked, ready)
    }

    /// Resumes the waiters a poll readied (claimed already): a goroutine's
    /// job goes to this processor's queues, a plain task's to its executor.
    func resume(_ ready: [Waiter]) {
        for waiter in ready { waiter.resume() }
    }
}
#endif
