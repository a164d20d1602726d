// Go's notify list: waits that take a ticket, in order, before they park, and
// a notifier that reaches tickets in that order, whether or not their waiter
// has parked yet. `Sync.Cond` is built on it (a signal reaches one ticket),
// and so is the limit of a `Sync.ErrorGroup` (a freed slot reaches one).
//
// Invariants (in `NotifyStorage`, under its lock):
// - Tickets are handed out in order; every ticket below `notified` has been
//   notified. A ticket notified before its waiter parks finds itself
//   notified when it parks, and is granted at once: nothing sent between
//   taking a ticket and parking is lost.
// - `waiting` holds exactly the live tickets not yet notified: joined, or
//   parked with their waiter. A waiter that gives up (its task cancelled)
//   before its ticket is notified leaves it, and the notifier skips its
//   ticket, so nothing is spent on it; one notified first keeps what it got.
// - A parked waiter is taken out exactly once, under the lock, by the notify
//   that reaches its ticket or by its own cancellation, and is resumed after
//   the lock is released.

/// The tickets and the waiters parked on them. Pure: it never locks and
/// never resumes.
struct NotifyList {
    enum Slot {
        /// Joined: the waiter has its ticket and is on its way to park.
        case joined
        /// Parked, until a notify or its cancellation takes it out.
        case parked(SyncWaiter)
    }

    /// The ticket the next wait gets.
    private var nextTicket: UInt64 = 0
    /// Every ticket below it has been notified.
    private var notified: UInt64 = 0
    /// The live tickets not yet notified.
    private var waiting: [UInt64: Slot] = [:]

    /// Whether no live ticket waits to be notified.
    var isEmpty: Bool { waiting.isEmpty }

    /// How many waiters are parked (not only joined).
    var parkedCount: Int {
        waiting.values.count { if case .parked = $0 { true } else { false } }
    }

    /// A wait joins the list: its ticket.
    mutating func join() -> UInt64 {
        let ticket = nextTicket
        nextTicket += 1
        waiting[ticket] = .joined
        return ticket
    }

    /// Whether `ticket` has been notified.
    func isNotified(_ ticket: UInt64) -> Bool {
        ticket < notified
    }

    /// The waiter of `ticket`, not notified yet, parks.
    mutating func park(_ ticket: UInt64, _ waiter: SyncWaiter) {
        precondition(!isNotified(ticket), "a notified ticket parks")
        waiting[ticket] = .parked(waiter)
    }

    /// The waiter of `ticket` gives up: if nothing reached it first, its
    /// ticket leaves the list, and its waiter, if it had parked, is returned.
    mutating func abandon(_ ticket: UInt64) -> SyncWaiter? {
        guard let slot = waiting.removeValue(forKey: ticket), case .parked(let waiter) = slot else { return nil }
        return waiter
    }

    /// Notifies the oldest live ticket: nil if there is none (the notify
    /// reaches nobody), otherwise its slot (a parked waiter to resume, or one
    /// that will find its ticket notified when it parks).
    mutating func notifyOne() -> Slot? {
        while notified < nextTicket {
            let ticket = notified
            notified += 1
            // A ticket no longer listed was abandoned: skip it.
            if let slot = waiting.removeValue(forKey: ticket) { return slot }
        }
        return nil
    }

    /// Notifies every live ticket; returns how many there were and the
    /// parked waiters among them, oldest first.
    mutating func notifyAll() -> (count: Int, parked: [SyncWaiter]) {
        notified = nextTicket
        let count = waiting.count
        let parked = waiting.sorted { $0.key < $1.key }.compactMap { entry -> SyncWaiter? in
            if case .parked(let waiter) = entry.value { waiter } else { nil }
        }
        waiting.removeAll(keepingCapacity: true)
        return (count, parked)
    }
}

/// A notify list and the state of the primitive built on it, under one lock;
/// goroutines park on it.
final class NotifyStorage<State>: WaitObject, @unchecked Sendable {
    private let lock = Lock()
    /// Protected by `lock`.
    private var state: State
    private var list = NotifyList()

    init(_ state: State) {
        self.state = state
        super.init()
    }

    /// Runs `body` under the lock; `body` returns its result and the waiters
    /// it notified, which are resumed after the lock is released.
    func update<R>(_ body: (inout State, inout NotifyList) -> (R, [SyncWaiter])) -> R {
        updateList { list in body(&state, &list) }
    }

    /// The same, for a primitive with no state of its own (`State` is
    /// `Void`: a `Sync.Cond`). Its empty state is never passed `inout`: the
    /// thread sanitizer (Swift 6.3) reports such an access to a zero-sized
    /// field as a race with the other accesses under the lock.
    func updateList<R>(_ body: (inout NotifyList) -> (R, [SyncWaiter])) -> R {
        lock.lock()
        let (result, notified) = body(&list)
        lock.unlock()
        for waiter in notified { waiter.continuation.resume() }
        return result
    }

    /// Parks the calling task until `ticket` is notified (at once if it is).
    ///
    /// `cancellable: false` waits until then whatever happens to the task.
    ///
    /// - Throws: `CancellationError` if the task is cancelled (and
    ///   `cancellable`) before its ticket is notified; the ticket has then
    ///   left the list.
    func wait(
        for ticket: UInt64,
        reason: WaitReason,
        at location: SourceLocation,
        cancellable: Bool = true
    ) async throws {
        try await parkOnSync(reason: reason, at: location, on: self) { waiter in
            lock.lock()
            defer { lock.unlock() }
            // What reached the ticket is kept, cancelled or not.
            if list.isNotified(ticket) { return .granted }
            if cancellable && SyncWaiter.callerIsCancelled {
                _ = list.abandon(ticket)
                return .cancelled
            }
            list.park(ticket, waiter)
            return .queued
        } cancel: { _ in
            if !cancellable { return nil }
            self.lock.lock()
            let parked = self.list.abandon(ticket)
            self.lock.unlock()
            return parked
        }
    }

    /// How many waiters are parked.
    var parkedCount: Int {
        updateList { list in (list.parkedCount, []) }
    }
}
