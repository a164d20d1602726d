// The queue of tasks parked on a sync primitive, shared by all of them.
//
// Invariants (the owner's lock protects the queue):
// - Each parked task is queued once, with its continuation, until exactly one
//   party removes it under the lock and resumes it after unlocking: the
//   primitive granting what it waits for, or its own cancellation handler.

import DequeModule

struct SyncWaiter {
    let task: TaskIdentity
    let continuation: UnsafeContinuation<Void, any Error>
    /// What it waits for: a semaphore's weight, a reader (1) or writer (0) of
    /// an RWMutex; 1 elsewhere.
    let weight: Int
}

struct SyncWaiters {
    private(set) var queue = Deque<SyncWaiter>()

    var isEmpty: Bool { queue.isEmpty }
    var count: Int { queue.count }
    var first: SyncWaiter? { queue.first }

    mutating func append(_ waiter: SyncWaiter) {
        queue.append(waiter)
    }

    mutating func popFirst() -> SyncWaiter? {
        queue.popFirst()
    }

    /// Takes the waiter of `task` out (its cancellation), if still queued.
    mutating func remove(_ task: TaskIdentity) -> SyncWaiter? {
        guard let index = queue.firstIndex(where: { $0.task == task }) else { return nil }
        return queue.remove(at: index)
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
    try await Parking.park(task: task, reason: reason, at: location, on: object) { (continuation: UnsafeContinuation<Void, any Error>, _) in
        switch register(SyncWaiter(task: task, continuation: continuation, weight: weight)) {
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
