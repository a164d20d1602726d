// The state machine of one channel, buffered or not (Go's hchan). Pure: it is
// only ever run under its storage's lock, it never locks and never resumes
// anything; each event returns an action saying whom the caller must wake once
// the lock is released.
//
// Invariants:
// - `buffer.count <= capacity`; an unbuffered channel (capacity 0) never buffers.
// - At most one of `senders` and `receivers` holds claimable nodes: a receiver
//   parks only when the buffer is empty and no sender can be claimed, a sender
//   only when the buffer is full and no receiver can be claimed.
// - Senders park only while the buffer is full, so a receive that takes the
//   buffer's head moves the first parked sender's value to its tail (rule 3).
// - Once `isClosed`, both queues are empty of claimable nodes and stay so.

import DequeModule

@usableFromInline
struct ChannelState<Element> {
    @usableFromInline typealias Node = ChannelWaitNode<Element>

    @usableFromInline var buffer: Deque<Element>
    @usableFromInline let capacity: Int
    @usableFromInline var isClosed = false
    @usableFromInline var senders = WaitQueue<Element>()
    @usableFromInline var receivers = WaitQueue<Element>()

    @inlinable
    init(capacity: Int) {
        self.capacity = capacity
        // The ring is allocated here, once, at its full size.
        self.buffer = Deque(minimumCapacity: capacity)
    }

    @inlinable
    var count: Int { buffer.count }

    @usableFromInline
    enum SendAction {
        /// The value is in the buffer, or handed to `wake`, a claimed receiver.
        case sent(wake: Node?)
        case closed
        case wouldBlock
    }

    @inlinable
    mutating func send(_ value: Element) -> SendAction {
        if isClosed { return .closed }
        if let receiver = receivers.popFirstClaimed() {
            receiver.value = value
            return .sent(wake: receiver)
        }
        if buffer.count < capacity {
            buffer.append(value)
            return .sent(wake: nil)
        }
        return .wouldBlock
    }

    @usableFromInline
    enum ReceiveAction {
        /// A value, taken from the buffer or from `wake`, a claimed sender.
        case value(Element, wake: Node?)
        /// Closed and drained.
        case closed
        case wouldBlock
    }

    @inlinable
    mutating func receive() -> ReceiveAction {
        if buffer.count > 0 {
            let value = buffer.removeFirst()
            if let sender = senders.popFirstClaimed() {
                buffer.append(sender.value.take().unsafelyUnwrapped)
                return .value(value, wake: sender)
            }
            return .value(value, wake: nil)
        }
        if let sender = senders.popFirstClaimed() {
            return .value(sender.value.take().unsafelyUnwrapped, wake: sender)
        }
        if isClosed { return .closed }
        return .wouldBlock
    }

    /// Queues a receiver unless a receive could complete now (then false: the
    /// caller aborts its wait and tries again).
    @inlinable
    mutating func enqueueReceiver(_ node: Node) -> Bool {
        if buffer.count > 0 || isClosed || senders.hasClaimable(otherThan: node.waiter) {
            return false
        }
        receivers.append(node)
        return true
    }

    /// Queues a sender unless a send could complete now.
    @inlinable
    mutating func enqueueSender(_ node: Node) -> Bool {
        if isClosed || buffer.count < capacity || receivers.hasClaimable(otherThan: node.waiter) {
            return false
        }
        senders.append(node)
        return true
    }

    @usableFromInline
    enum CloseAction {
        case alreadyClosed
        /// Every parked receiver and sender, claimed and marked closed.
        case closed(wake: [Node])
    }

    @inlinable
    mutating func close() -> CloseAction {
        if isClosed { return .alreadyClosed }
        isClosed = true
        var wake = receivers.claimAll()
        wake += senders.claimAll()
        for node in wake {
            node.closed = true
        }
        return .closed(wake: wake)
    }
}
