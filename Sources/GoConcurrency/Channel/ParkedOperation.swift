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
// in the profile), while these fields copy as plain words. The wakes a
// hand-off returns (`SenderWake`, `ReceiverWake`) are enums on purpose: made
// once and dropped once, and neither payload's layout depends on the element
// type (a continuation is one word, a waiter one reference), so a parked
// task's wake is dropped without the release a whole entry's drop costs.

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

    /// Whom to wake once the value is taken: split by kind here, under the
    /// lock, so that the wake of a parked task is a plain word, and neither
    /// carrying nor dropping it touches a reference count (destroying a
    /// whole popped entry was an out-of-line call and a release per
    /// receive, for a node that a task's entry does not have).
    @inlinable
    var wake: SenderWake {
        if let node {
            return .node(node.owner)
        }
        return .task(continuation.unsafelyUnwrapped)
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

/// A sender claimed by a receive: resumed once the channel's lock is
/// released. A parked task's continuation, or a node's waiter (which holds
/// the value's hand-over: nothing to write).
@usableFromInline
enum SenderWake {
    case task(UnsafeContinuation<Void, any Error>)
    case node(Waiter)

    @inlinable
    func resume() {
        switch self {
        case .task(let continuation): continuation.resume()
        case .node(let owner): owner.resume()
        }
    }
}

/// A receiver claimed by a send, and the value it gets: resumed once the
/// channel's lock is released. Split by kind under the lock, as
/// `SenderWake`: a parked task's wake is its continuation and the value,
/// plain words for a plain element, dropped without a release.
@usableFromInline
struct ReceiverWake<Element: Sendable> {
    @usableFromInline enum Target {
        case task(UnsafeContinuation<Element?, any Error>)
        /// A node's waiter, which already holds its value's hand-over.
        case node(Waiter)
    }

    @usableFromInline let target: Target
    @usableFromInline let value: Element?

    /// The wake of `receiver`; `value` is what a task gets (a node's was
    /// written into its waiter).
    @inlinable
    init(receiver: ParkedReceiver<Element>, value: Element?) {
        if let node = receiver.node {
            self.target = .node(node.owner)
        } else {
            self.target = .task(receiver.continuation.unsafelyUnwrapped)
        }
        self.value = value
    }

    @inlinable
    func resume() {
        switch target {
        case .task(let continuation): continuation.resume(returning: value)
        case .node(let owner): owner.resume()
        }
    }
}
