// The queue of tasks parked on a sync primitive, shared by all of them.
//
// Invariants (the owner's lock protects the queue):
// - Each parked task is queued once, with its continuation, until exactly one
//   party removes it under the lock and resumes it after unlocking: the
//   primitive granting what it waits for, or its own cancellation handler.
// - Every position has a ticket: the slot at position p has ticket
//   `firstTicket + p`; a pop moves `firstTicket` on by one. A task that can be
//   cancelled is listed in `tickets` while it is queued, so its cancellation
//   finds its slot by the ticket and empties it in O(1), whatever the queue's
//   length; no other slot moves, so every ticket stays right.
// - The first slot is never empty (a pop drops the empty slots it uncovers);
//   once empty slots could be half of the queue, it is compacted and the
//   tickets renumbered, O(n) for at least n/2 removals.

import DequeModule

struct SyncWaiter {
    let task: TaskIdentity
    let continuation: UnsafeContinuation<Void, any Error>
    /// What it waits for: a semaphore's weight, a reader (1) or writer (0) of
    /// an RWMutex; 1 elsewhere.
    let weight: Int
    /// Whether its task can be cancelled (a goroutine's root task cannot).
    let cancellable: Bool
}

struct SyncWaiters {
    /// The queued waiters; nil for a slot emptied by a cancellation.
    private var queue = Deque<SyncWaiter?>()
    /// Empty slots in `queue`.
    private var emptied = 0
    /// The ticket of the first slot.
    private var firstTicket = 0
    /// The ticket of each queued waiter whose task can be cancelled.
    private var tickets: [TaskIdentity: Int] = [:]
    /// Slots looked at by the removals of cancelled tasks and by compactions:
    /// what tests count to see that a removal does not grow with the queue.
    private(set) var removalSteps = 0

    var isEmpty: Bool { queue.isEmpty }
    var count: Int { queue.count - emptied }
    var first: SyncWaiter? { queue.first ?? nil }

    /// The queued tasks, first to last.
    var tasks: [TaskIdentity] { queue.compactMap { $0?.task } }

    mutating func append(_ waiter: SyncWaiter) {
        if waiter.cancellable {
            tickets[waiter.task] = firstTicket + queue.count
        }
        queue.append(waiter)
    }

    mutating func popFirst() -> SyncWaiter? {
        guard let first = queue.popFirst() else { return nil }
        firstTicket += 1
        while emptied != 0, let next = queue.first, next == nil {
            queue.removeFirst()
            firstTicket += 1
            emptied -= 1
        }
        if let first, first.cancellable {
            tickets[first.task] = nil
        }
        return first
    }

    /// Takes the waiter of `task` out (its cancellation), if still queued:
    /// found by its ticket, in O(1) whatever the queue's length.
    mutating func remove(_ task: TaskIdentity) -> SyncWaiter? {
        guard let ticket = tickets.removeValue(forKey: task) else { return nil }
        removalSteps += 1
        let position = ticket - firstTicket
        if position == 0 { return popFirst() }
        let waiter = queue[position]
        queue[position] = nil
        emptied += 1
        if emptied >= 16 && emptied * 2 >= queue.count { compact() }
        return waiter
    }

    /// Drops the empty slots and renumbers the tickets.
    private mutating func compact() {
        removalSteps += queue.count
        queue.removeAll { $0 == nil }
        emptied = 0
        for (offset, waiter) in queue.enumerated() {
            if let waiter, waiter.cancellable {
                tickets[waiter.task] = firstTicket + offset
            }
        }
    }
}

/// What a primitive answers a task that asks to wait.
enum SyncRegistration {
    /// Granted at once: no wait.
    case granted
    /// Queued: resumed when granted (or cancelled).
    case queued
    /// The task was already cancelled: not queued.
    case cancelled
}

extension SyncWaiter {
    /// The same waiter, queued as one its task's cancellation cannot take
    /// back (see `SyncStorage.wait(cancellable:)`).
    var uncancellable: SyncWaiter {
        SyncWaiter(task: task, continuation: continuation, weight: weight, cancellable: false)
    }

    /// Whether the calling task is cancelled. A primitive asks this under its
    /// lock before queuing, so a cancellation that came before the queuing
    /// (and whose handler found nothing to take back) is not missed.
    static var callerIsCancelled: Bool {
        withUnsafeCurrentTask { $0?.isCancelled ?? false }
    }
}

/// Parks the calling task on a sync primitive. `register` runs once, on the
/// task, and under the primitive's lock either grants at once, queues the
/// waiter, or refuses because the task is cancelled; `cancel` takes the
/// waiter back out if it is still queued when the task is cancelled.
///
/// - Throws: `CancellationError` if the task is cancelled before it is granted.
func parkOnSync(
    reason: WaitReason,
    at location: SourceLocation,
    on object: some WaitObject,
    weight: Int = 1,
    register: (SyncWaiter) -> SyncRegistration,
    cancel: @escaping @Sendable (TaskIdentity) -> SyncWaiter?
) async throws {
    let task = TaskIdentity.current
    try await Parking.park(task: task, reason: reason, at: location, on: object) { (continuation: UnsafeContinuation<Void, any Error>, cancellable) in
        switch register(SyncWaiter(task: task, continuation: continuation, weight: weight, cancellable: cancellable)) {
        case .granted:
            continuation.resume()
        case .queued:
            break
        case .cancelled:
            continuation.resume(throwing: CancellationError())
        }
    } onCancel: {
        cancel(task)?.continuation.resume(throwing: CancellationError())
    }
}
