// What a channel's wait queues hold: parked tasks, and nodes of selects and
// blocked threads.
//
// A plain `send` or `receive` that must wait parks its task's continuation
// right in the queue: no object is allocated, and the channel's lock alone
// decides who resumes it (a partner operation, `close`, or the task's
// cancellation handler, each under the lock). A select case or a blocked OS
// thread parks a `ChannelWaitNode`, whose waiter is claimed by compare-and-swap
// because a select waits on several channels at once.

/// The identity of a task, to find its parked operation when it is cancelled.
@usableFromInline
struct TaskIdentity: Equatable, @unchecked Sendable {
    @usableFromInline let task: UnsafeCurrentTask

    @inlinable
    init(_ task: UnsafeCurrentTask) {
        self.task = task
    }

    /// The calling task. Channels are only awaited from tasks.
    @inlinable
    static var current: TaskIdentity {
        withUnsafeCurrentTask { TaskIdentity($0.unsafelyUnwrapped) }
    }
}

@usableFromInline
protocol ParkedOperation {
    associatedtype Element
    /// The node of a select case or blocked thread; nil for a parked task.
    var node: ChannelWaitNode<Element>? { get }
    /// The task of a parked plain operation.
    var task: TaskIdentity? { get }
}

/// A parked receiver.
@usableFromInline
enum ParkedReceiver<Element>: ParkedOperation {
    case task(TaskIdentity, UnsafeContinuation<Element?, any Error>)
    case node(ChannelWaitNode<Element>)

    @inlinable
    var node: ChannelWaitNode<Element>? {
        if case .node(let node) = self { return node }
        return nil
    }

    @inlinable
    var task: TaskIdentity? {
        if case .task(let task, _) = self { return task }
        return nil
    }
}

/// A parked sender, with the value it offers.
@usableFromInline
enum ParkedSender<Element>: ParkedOperation {
    case task(TaskIdentity, Element, UnsafeContinuation<Void, any Error>)
    case node(ChannelWaitNode<Element>)

    @inlinable
    var node: ChannelWaitNode<Element>? {
        if case .node(let node) = self { return node }
        return nil
    }

    @inlinable
    var task: TaskIdentity? {
        if case .task(let task, _, _) = self { return task }
        return nil
    }

    /// The value offered; a node's is taken out of it.
    @inlinable
    func takeValue() -> Element {
        switch self {
        case .task(_, let value, _): value
        case .node(let node): node.value.take().unsafelyUnwrapped
        }
    }
}

/// A receiver claimed by a send, to be resumed with the value once the
/// channel's lock is released.
@usableFromInline
enum ReceiverWake<Element: Sendable> {
    case task(UnsafeContinuation<Element?, any Error>, Element)
    /// The value is already in the node.
    case node(ChannelWaitNode<Element>)

    @inlinable
    func resume() {
        switch self {
        case .task(let continuation, let value): continuation.resume(returning: value)
        case .node(let node): node.waiter.resume()
        }
    }
}

/// A sender whose value was taken, to be resumed once the lock is released.
@usableFromInline
enum SenderWake<Element> {
    case task(UnsafeContinuation<Void, any Error>)
    case node(ChannelWaitNode<Element>)

    @inlinable
    func resume() {
        switch self {
        case .task(let continuation): continuation.resume()
        case .node(let node): node.waiter.resume()
        }
    }
}
