// The state machine of one channel, buffered or not (Go's hchan). Pure: it is
// only ever run under its storage's lock, it never locks and never resumes
// anything; each event returns an action naming whom the caller must wake
// once the lock is released.
//
// Invariants:
// - `buffer.count <= capacity`; an unbuffered channel (capacity 0) never buffers.
// - At most one of `senders` and `receivers` holds claimable entries: a
//   receiver parks only when the buffer is empty and no sender can be claimed,
//   a sender only when the buffer is full and no receiver can be claimed.
// - Senders park only while the buffer is full, so a receive that takes the
//   buffer's head moves the first parked sender's value to its tail (Guarantees, rule 3).
// - Once `isClosed`, both queues are empty of claimable entries and stay so.

import DequeModule

@usableFromInline
struct ChannelState<Element: Sendable> {
    @usableFromInline typealias Node = WaitNode

    @usableFromInline var buffer: Deque<Element>
    @usableFromInline let capacity: Int
    @usableFromInline var isClosed = false
    @usableFromInline var senders = WaitQueue<ParkedSender<Element>>()
    @usableFromInline var receivers = WaitQueue<ParkedReceiver<Element>>()

    @inlinable
    init(capacity: Int) {
        self.capacity = capacity
        // The ring is allocated here, once, at its full size (none for
        // values of zero size, which a channel of any capacity may hold).
        self.buffer = Deque(minimumCapacity: MemoryLayout<Element>.size == 0 ? 0 : capacity)
    }

    @inlinable
    var count: Int { buffer.count }

    // MARK: Operations that do not wait

    @usableFromInline
    enum SendAction {
        /// The value is in the buffer, or handed to `wake`, a claimed receiver.
        case sent(wake: ReceiverWake<Element>?)
        case closed
        case wouldBlock
    }

    @inlinable
    mutating func send(_ value: Element) -> SendAction {
        if isClosed { return .closed }
        if let receiver = receivers.popFirstClaimed() {
            if let node = receiver.node {
                node.owner.received = value as Any  // boxed as Any, so a nil of an optional Element stays a value
                return .sent(wake: ReceiverWake(receiver: receiver, value: nil))
            }
            return .sent(wake: ReceiverWake(receiver: receiver, value: value))
        }
        if buffer.count < capacity {
            buffer.append(value)
            return .sent(wake: nil)
        }
        return .wouldBlock
    }

    @usableFromInline
    enum ReceiveAction {
        /// A value, from the buffer or from `wake`, a claimed sender.
        case value(Element, wake: SenderWake?)
        /// Closed and drained.
        case closed
        case wouldBlock
    }

    @inlinable
    mutating func receive() -> ReceiveAction {
        if buffer.count > 0 {
            let value = buffer.removeFirst()
            if let sender = senders.popFirstClaimed() {
                buffer.append(sender.takeValue())
                return .value(value, wake: sender.wake)
            }
            return .value(value, wake: nil)
        }
        if let sender = senders.popFirstClaimed() {
            return .value(sender.takeValue(), wake: sender.wake)
        }
        if isClosed { return .closed }
        return .wouldBlock
    }

    // MARK: Parking a task

    @usableFromInline
    enum ParkSenderAction {
        case parked
        case sent(wake: ReceiverWake<Element>?)
        case closed
        case cancelled
    }

    /// A task's send that found the channel not ready: tries once more, and
    /// queues `continuation` if it still cannot complete and the task is not
    /// cancelled.
    @inlinable
    mutating func parkSender(
        _ task: TaskIdentity, _ value: Element, _ continuation: UnsafeContinuation<Void, any Error>,
        cancellable: Bool
    ) -> ParkSenderAction {
        switch send(value) {
        case .sent(let wake): return .sent(wake: wake)
        case .closed: return .closed
        case .wouldBlock: break
        }
        // The cancellation handler takes this lock: checked here, cancellation
        // is either seen now or finds the entry queued. (A goroutine's root
        // task cannot be cancelled: no check.)
        if cancellable {
            if Task.isCancelled { return .cancelled }
            senders.appendCancellable(ParkedSender(task: task, value: value, continuation: continuation))
        } else {
            senders.append(ParkedSender(task: task, value: value, continuation: continuation))
        }
        return .parked
    }

    @usableFromInline
    enum ParkReceiverAction {
        case parked
        case value(Element, wake: SenderWake?)
        case closed
        case cancelled
    }

    @inlinable
    mutating func parkReceiver(
        _ task: TaskIdentity, _ continuation: UnsafeContinuation<Element?, any Error>,
        cancellable: Bool
    ) -> ParkReceiverAction {
        switch receive() {
        case .value(let value, let wake): return .value(value, wake: wake)
        case .closed: return .closed
        case .wouldBlock: break
        }
        if cancellable {
            if Task.isCancelled { return .cancelled }
            receivers.appendCancellable(ParkedReceiver(task: task, continuation: continuation))
        } else {
            receivers.append(ParkedReceiver(task: task, continuation: continuation))
        }
        return .parked
    }

    // MARK: Parking a node (a select case or a blocked thread)

    /// Queues a receiving node unless a receive could complete now (then
    /// false: the caller aborts its wait and tries again).
    @inlinable
    mutating func enqueueReceiver(_ node: consuming Node) -> Bool {
        if buffer.count > 0 || isClosed || senders.hasClaimable(otherThan: node.owner) {
            return false
        }
        receivers.append(ParkedReceiver(node: node))
        return true
    }

    /// Queues a sending node unless a send could complete now.
    @inlinable
    mutating func enqueueSender(_ node: consuming Node, _ value: Element) -> Bool {
        if isClosed || buffer.count < capacity || receivers.hasClaimable(otherThan: node.owner) {
            return false
        }
        senders.append(ParkedSender(node: node, value: value))
        return true
    }

    // MARK: Close

    @usableFromInline
    enum CloseAction {
        case alreadyClosed
        /// Every parked receiver and sender, claimed; nodes marked closed.
        case closed(receivers: [ParkedReceiver<Element>], senders: [ParkedSender<Element>])
    }

    @inlinable
    mutating func close() -> CloseAction {
        if isClosed { return .alreadyClosed }
        isClosed = true
        let parkedReceivers = receivers.claimAll()
        let parkedSenders = senders.claimAll()
        for node in parkedReceivers.lazy.compactMap(\.node) {
            node.owner.closed = true
        }
        for node in parkedSenders.lazy.compactMap(\.node) {
            node.owner.closed = true
        }
        return .closed(receivers: parkedReceivers, senders: parkedSenders)
    }
}
