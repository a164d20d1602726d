// A runtime's timers: one heap of pending deadlines, fired by the runtime's own
// processors (Go's per-P timers, simplified to one heap per runtime). There is
// no timer thread: a processor looks at the earliest deadline each time it
// picks a job, and a processor with nothing to run sleeps exactly until that
// deadline (or for ever when no timer is pending), so nothing wakes
// periodically while nothing is due.
//
// Invariants (all protected by `lock`):
// - `heap` holds every pending entry once, ordered by (deadline, sequence), and
//   may also hold cancelled entries; `cancelledCount` counts those.
// - An entry's `state` goes from pending to fired or cancelled, once.
// - `earliest` mirrors the smallest deadline in the heap (`UInt64.max` when it
//   is empty), cancelled entries included, so processors read it without the
//   lock; a stale value only makes a processor look once for nothing.
// - Actions run with no lock held, on the processor that found them due.
// - Cancelled entries are dropped when they reach the top, and the whole heap is
//   rebuilt without them once they are more than half of it, so a loop of
//   selects whose timeouts never fire does not grow memory (Guarantees, rule 25).
//   A cancelled entry drops its action at once: what armed it (a context, a
//   timer's core) is not kept until the entry leaves the heap.
// - Deadlines are in the queue's time: `Monotonic` nanoseconds, or those of
//   its `ManualClock` on a runtime made for tests. Whatever arms a timer reads
//   "now" from the queue (`now()`), never from `Monotonic` directly.
// - `running` is true until the runtime ends (a checked run's runtime,
//   whose threads hold it until then): a timer armed later (from outside, on
//   a `Timer` made by one of its goroutines) wakes nobody and never fires,
//   and the queue, which such a timer keeps, never reaches the runtime again.

import HeapModule
import Synchronization

@usableFromInline
final class TimerEntry: @unchecked Sendable {
    @usableFromInline enum State { case pending, fired, cancelled }

    let deadline: UInt64
    /// What runs when it fires; dropped when it is cancelled, so a cancelled
    /// entry still in the heap holds nothing of what armed it. Written only
    /// under the queue's lock while pending; read after the lock marked it
    /// fired (it then never changes again).
    private(set) var action: (@Sendable () -> Void)?
    /// Protected by the queue's lock.
    var state = State.pending

    init(deadline: UInt64, action: @escaping @Sendable () -> Void) {
        self.deadline = deadline
        self.action = action
    }

    /// Called by the queue, under its lock, as it cancels the entry.
    fileprivate func dropAction() {
        action = nil
    }
}

@usableFromInline
final class TimerQueue: @unchecked Sendable {
    private struct Item: Comparable {
        let deadline: UInt64
        let sequence: UInt64
        let entry: TimerEntry

        static func < (a: Item, b: Item) -> Bool {
            (a.deadline, a.sequence) < (b.deadline, b.sequence)
        }
        static func == (a: Item, b: Item) -> Bool {
            a.sequence == b.sequence
        }
    }

    /// The timers of ``GoRuntime/shared``.
    @usableFromInline
    static var shared: TimerQueue { GoRuntime.shared.timers }

    /// Where a timer armed by the caller goes: its goroutine's runtime, or
    /// ``GoRuntime/shared`` outside goroutines. A goroutine's timers are thus
    /// its own runtime's, which its deadlock check must see pending.
    /// (A plain task that a goroutine of an ended runtime started arms them
    /// on ``GoRuntime/shared``: that runtime fires none.)
    @usableFromInline
    static var current: TimerQueue {
        guard let runtime = Goroutine.current?.runtime, !runtime.hasEnded else { return GoRuntime.shared.timers }
        return runtime.timers
    }

    /// The runtime whose processors fire these timers (set once, by its init,
    /// before any of its threads start).
    unowned(unsafe) private(set) var runtime: GoRuntime!
    /// Whether the runtime has not ended. Protected by `lock`.
    private var running = true
    private let lock = Lock()
    private var heap = Heap<Item>()
    private var sequence: UInt64 = 0
    private var cancelledCount = 0
    /// The earliest deadline in the heap; `UInt64.max` when there is none.
    let earliest = Atomic<UInt64>(.max)
    /// The test clock whose time this queue counts, if any.
    let clock: ManualClock?

    init(clock: ManualClock? = nil) {
        self.clock = clock
    }

    /// Gives the queue to `runtime` (once, from its init).
    func attach(to runtime: GoRuntime) {
        self.runtime = runtime
    }

    /// The runtime ended: its processors fire nothing more, and arming wakes
    /// nobody.
    func end() {
        lock.lock()
        running = false
        lock.unlock()
    }

    /// Now, in the unit of the queue's deadlines.
    @usableFromInline
    func now() -> UInt64 {
        if let clock { return clock.read() }
        return Monotonic.now()
    }

    /// Parks the calling thread (the timer sleeper's) on `parker` until
    /// `deadline` on this queue's clock, or until it is unparked; false if the
    /// deadline passed first. The system's time is slept to; a test clock's
    /// moves only when the test moves it, which unparks the sleeper, so the
    /// thread parks until then.
    func park(_ parker: ThreadParker, until deadline: UInt64) -> Bool {
        guard clock == nil else {
            parker.park()
            return true
        }
        return parker.park(until: deadline)
    }

    /// The deadline, in the queue's time, of `instant` (a point in time as
    /// users give one, Go's `time.Time`): on a test clock's queue, that
    /// clock's instants (``ManualClock/now`` and later); otherwise the
    /// system's. An instant already past gives a deadline at or before `now()`.
    @usableFromInline
    func deadline(for instant: ContinuousClock.Instant) -> UInt64 {
        if let clock { return clock.deadline(for: instant) }
        let base = now()
        let current = ContinuousClock.now
        if instant >= current {
            return base &+ Monotonic.nanoseconds(instant - current)
        }
        return base &- min(base, Monotonic.nanoseconds(current - instant))
    }

    /// The instant a timer due at `deadline` sends, `now` being `now()`.
    func instant(at deadline: UInt64, now: UInt64) -> ContinuousClock.Instant {
        if let clock { return clock.instant(at: deadline) }
        return ContinuousClock.now.advanced(by: .nanoseconds(Int64(clamping: deadline &- now)))
    }

    /// Arms a timer that runs `action` on one of the runtime's processors at
    /// `deadline` (a `Monotonic` time).
    @usableFromInline
    func schedule(at deadline: UInt64, _ action: @escaping @Sendable () -> Void) -> TimerEntry {
        let entry = TimerEntry(deadline: deadline, action: action)
        lock.lock()
        sequence &+= 1
        heap.insert(Item(deadline: deadline, sequence: sequence, entry: entry))
        let becomesFirst = deadline < earliest.load(ordering: .relaxed)
        let wake = becomesFirst && running
        let mortal = wake && runtime.isMortal
        if becomesFirst {
            earliest.store(deadline, ordering: .sequentiallyConsistent)
        }
        if mortal {
            // Retained while the lock is held: a runtime that can end is
            // alive while `running` (its threads hold it), and must stay so
            // until it is woken.
            _ = Unmanaged.passUnretained(runtime).retain()
        }
        lock.unlock()
        if wake {
            runtime.earliestTimerChanged()
            if mortal { Unmanaged.passUnretained(runtime).release() }
        }
        return entry
    }

    /// Disarms `entry`. True if it was still pending: its action will not run.
    @usableFromInline
    @discardableResult
    func cancel(_ entry: TimerEntry) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard entry.state == .pending else { return false }
        entry.state = .cancelled
        entry.dropAction()
        cancelledCount += 1
        if cancelledCount > 256 && cancelledCount * 2 > heap.count {
            heap = Heap(heap.unordered.filter { $0.entry.state == .pending })
            cancelledCount = 0
            publishEarliest()
        }
        return true
    }

    /// Whether some timer's deadline has passed (cheap when none is armed: one
    /// atomic load, no clock read).
    @inline(__always)
    func anyDue() -> Bool {
        let first = earliest.load(ordering: .relaxed)
        return first != .max && first <= now()
    }

    /// Runs the actions of every timer that is due. True if it ran any.
    @discardableResult
    func runDue() -> Bool {
        if earliest.load(ordering: .relaxed) == .max { return false }
        let now = now()
        var due: [TimerEntry] = []
        lock.lock()
        while let first = heap.min, first.deadline <= now {
            heap.removeMin()
            if first.entry.state == .pending {
                first.entry.state = .fired
                due.append(first.entry)
            } else {
                cancelledCount -= 1
            }
        }
        publishEarliest()
        lock.unlock()
        for entry in due {
            entry.action?()
        }
        return !due.isEmpty
    }

    /// Drops cancelled entries from the top and republishes `earliest`.
    /// Called with the lock held.
    private func publishEarliest() {
        while let top = heap.min, top.entry.state == .cancelled {
            heap.removeMin()
            cancelledCount -= 1
        }
        earliest.store(heap.min?.deadline ?? .max, ordering: .sequentiallyConsistent)
    }

    /// Whether `entry` was cancelled (for tests).
    func isCancelled(_ entry: TimerEntry) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return entry.state == .cancelled
    }

    /// The number of timers armed and not yet fired or cancelled.
    var pendingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return heap.count - cancelledCount
    }

    /// The number of entries in the heap, cancelled ones included (for tests).
    var storedCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return heap.count
    }
}
