// What a channel's wait queues hold: parked tasks, and nodes of selects and
// blocked threads.
//
// A plain `send` or `receive` that must wait parks its task's continuation
// right in the queue: no object is allocated, and the channel's lock alone
// decides who resumes it (a partner operation, `close`, or the task's
// cancellation handler, each under the lock). A select case or a blocked OS
// thread parks a `WaitNode`, whose owner waiter is claimed by compare-and-swap
// because a select waits on several channels at once.
//
// These are structs of optionals rather than enums with payloads on purpose:
// queue entries are copied on every hand-off, and a generic multi-payload enum
// is copied through value witnesses and runtime calls (a sixth of a hand-off
// in the profile), while these fields copy as plain words.

/// The identity of a task, to find its parked operation when it is cancelled.
/// A plain pointer: it holds no reference, the parked task outlives its entry.
@usableFromInline
struct TaskIdentity: Hashable, @unchecked Sendable {
    @usableFromInline let pointer: UnsafeRawPointer?

    @inlinable
    init(pointer: UnsafeRawPointer?) {
        self.pointer = pointer
    }

    /// The calling task. Channels are only awaited from tasks.
    @inlinable
    static var current: TaskIdentity {
        SwiftRuntimeABI.currentTask
    }

    /// The pointer's bits (never 0 for a task).
    @inlinable
    var bits: UInt { UInt(bitPattern: pointer) }

    /// No task: the entry of a node.
    @inlinable
    static var none: TaskIdentity { TaskIdentity(pointer: nil) }
}

@usableFromInline
protocol ParkedOperation {
    associatedtype Element
    /// The node of a select case or blocked thread; nil for a parked task.
    var node: WaitNode? { get }
    /// The task of a parked plain operation.
    var task: TaskIdentity { get }
    /// What a cancelled task's entry is overwritten with in the middle of its
    /// queue, so that no other entry moves: a node of `Waiter.removedEntry`,
    /// which is never waiting, so the entry is stale from the start.
    static var removed: Self { get }
}

extension TaskIdentity {
    /// The task a continuation resumes. A continuation *is* its task's
    /// address (`SwiftRuntimeABI`, assumption 3), so a queue entry needs no
    /// field of its own for the task: 8 bytes less per parked operation.
    @inlinable
    init<T, E>(of continuation: UnsafeContinuation<T, E>?) {
        self.init(pointer: SwiftRuntimeABI.taskAddress(of: continuation))
    }
}

/// A parked receiver: a task's continuation, or a node.
@usableFromInline
struct ParkedReceiver<Element: Sendable>: ParkedOperation {
    @usableFromInline let continuation: UnsafeContinuation<Element?, any Error>?
    @usableFromInline let node: WaitNode?

    @inlinable
    init(task: TaskIdentity, continuation: UnsafeContinuation<Element?, any Error>) {
        SwiftRuntimeABI.checkContinuation(continuation, of: task.pointer)
        self.continuation = continuation
        self.node = nil
    }

    @inlinable
    init(node: WaitNode) {
        self.continuation = nil
        self.node = node
    }

    @inlinable
    init(removed: Void) {
        self.continuation = nil
        self.node = WaitNode(owner: Waiter.removedEntry, caseIndex: 0)
    }

    @inlinable
    var task: TaskIdentity { TaskIdentity(of: continuation) }

    @inlinable
    static var removed: ParkedReceiver { ParkedReceiver(removed: ()) }
}

/// A parked sender, with the value it offers.
@usableFromInline
struct ParkedSender<Element: Sendable>: ParkedOperation {
    @usableFromInline let value: Element?
    @usableFromInline let continuation: UnsafeContinuation<Void, any Error>?
    @usableFromInline let node: WaitNode?

    @inlinable
    init(task: TaskIdentity, value: Element, continuation: UnsafeContinuation<Void, any Error>) {
        SwiftRuntimeABI.checkContinuation(continuation, of: task.pointer)
        self.value = value
        self.continuation = continuation
        self.node = nil
    }

    @inlinable
    init(node: WaitNode, value: Element) {
        self.value = value
        self.continuation = nil
        self.node = node
    }

    @inlinable
    init(removed: Void) {
        self.value = nil
        self.continuation = nil
        self.node = WaitNode(owner: Waiter.removedEntry, caseIndex: 0)
    }

    @inlinable
    var task: TaskIdentity { TaskIdentity(of: continuation) }

    @inlinable
    static var removed: ParkedSender { ParkedSender(removed: ()) }

    /// The value offered.
    @inlinable
    func takeValue() -> Element {
        value.unsafelyUnwrapped
    }

    /// Wakes the sender once its value is taken (after the lock is released).
    @inlinable
    func resume() {
        if let continuation {
            continuation.resume()
        } else {
            node.unsafelyUnwrapped.owner.resume()
        }
    }

    /// Wakes the sender with the send-on-closed error (after the lock is released).
    @inlinable
    func resumeClosed() {
        if let continuation {
            continuation.resume(throwing: ChannelError.sendOnClosedChannel)
        } else {
            node.unsafelyUnwrapped.owner.resume()
        }
    }
}

extension ParkedReceiver {
    /// Wakes the receiver with `value` (after the lock is released). A node
    /// already holds its value.
    @inlinable
    func resume(with value: Element?) {
        if let continuation {
            continuation.resume(returning: value)
        } else {
            node.unsafelyUnwrapped.owner.resume()
        }
    }
}

/// A receiver claimed by a send, and the value it gets: resumed once the
/// channel's lock is released.
@usableFromInline
struct ReceiverWake<Element: Sendable> {
    @usableFromInline let receiver: ParkedReceiver<Element>
    @usableFromInline let value: Element?

    @inlinable
    init(receiver: ParkedReceiver<Element>, value: Element?) {
        self.receiver = receiver
        self.value = value
    }

    @inlinable
    func resume() {
        receiver.resume(with: value)
    }
}
