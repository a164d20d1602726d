// The lock-owning core of a channel: runs `ChannelState` under a mutex and
// carries out the actions it returns, parking and waking waiters.
//
// Invariants:
// - `state` is only touched inside `state.withLock`.
// - No waiter is resumed while the lock is held: every action that wakes
//   someone is carried out after `withLock` returns. Resuming under the lock
//   could deadlock with a cancellation handler or a select that is unregistering
//   (it takes this lock), and would make the woken task wait for our unlock.
// - A parked operation is queued only by its own `register` step, inside the
//   parking path, after its continuation is published.

import Synchronization

@usableFromInline
final class ChannelStorage<Element: Sendable>: Sendable {
    @usableFromInline typealias Node = ChannelWaitNode<Element>

    @usableFromInline let state: Mutex<ChannelState<Element>>
    @usableFromInline let capacity: Int

    @inlinable
    init(capacity: Int) {
        precondition(capacity >= 0, "makechan: size out of range (a channel's capacity must be 0 or more, got \(capacity))")
        self.capacity = capacity
        self.state = Mutex(ChannelState(capacity: capacity))
    }

    // MARK: Send

    @inlinable
    nonisolated(nonsending) func send(_ value: Element, at location: SourceLocation) async throws {
        switch state.withLock({ $0.send(value) }) {
        case .sent(let wake):
            wake?.waiter.resume()
        case .closed:
            throw ChannelError.sendOnClosedChannel
        case .wouldBlock:
            try await sendParked(value, at: location)
        }
    }

    @inlinable
    nonisolated(nonsending) func sendParked(_ value: Element, at location: SourceLocation) async throws {
        while true {
            let node = Node(value: value, reason: .channelSend, location: location)
            await Parking.park(node) { _ in self.registerSender(node) }
            switch node.outcome {
            case Waiter.selected(0):
                if node.closed { throw ChannelError.sendOnClosedChannel }
                return
            case Waiter.cancelled:
                removeSender(node)
                throw CancellationError()
            default:  // aborted: the channel became ready while we queued
                if try sendWithoutWaiting(value) { return }
            }
        }
    }

    @inlinable
    func blockingSend(_ value: Element, at location: SourceLocation) throws {
        while true {
            if try sendWithoutWaiting(value) { return }
            let node = Node(value: value, reason: .channelSend, location: location)
            Parking.parkThread(node) { _ in self.registerSender(node) }
            if node.outcome == Waiter.selected(0) {
                if node.closed { throw ChannelError.sendOnClosedChannel }
                return
            }
        }
    }

    /// One attempt that never parks; false if the send would block.
    @inlinable
    func sendWithoutWaiting(_ value: Element) throws -> Bool {
        switch state.withLock({ $0.send(value) }) {
        case .sent(let wake):
            wake?.waiter.resume()
            return true
        case .closed:
            throw ChannelError.sendOnClosedChannel
        case .wouldBlock:
            return false
        }
    }

    @inlinable
    func trySend(_ value: Element) -> TrySendResult {
        switch state.withLock({ $0.send(value) }) {
        case .sent(let wake):
            wake?.waiter.resume()
            return .sent
        case .closed:
            return .closed
        case .wouldBlock:
            return .full
        }
    }

    /// Queues a plain sender, or aborts its wait if the channel is ready now.
    @inlinable
    func registerSender(_ node: Node) {
        if !enqueueSender(node), node.tryClaim(Waiter.aborted) {
            node.resume()
        }
    }

    /// Queues `node` as a parked sender; false (and not queued) if a send
    /// could complete now.
    @inlinable
    func enqueueSender(_ node: Node) -> Bool {
        state.withLock { $0.enqueueSender(node) }
    }

    /// Takes `node` out of the senders' queue if it is still there.
    @inlinable
    func removeSender(_ node: Node) {
        state.withLock { $0.senders.remove(node) }
    }

    // MARK: Receive

    @inlinable
    nonisolated(nonsending) func receive(at location: SourceLocation) async throws -> Element? {
        switch state.withLock({ $0.receive() }) {
        case .value(let value, let wake):
            wake?.waiter.resume()
            return value
        case .closed:
            return nil
        case .wouldBlock:
            return try await receiveParked(at: location)
        }
    }

    @inlinable
    nonisolated(nonsending) func receiveParked(at location: SourceLocation) async throws -> Element? {
        while true {
            let node = Node(value: nil, reason: .channelReceive, location: location)
            await Parking.park(node) { _ in self.registerReceiver(node) }
            switch node.outcome {
            case Waiter.selected(0):
                return node.value.take()
            case Waiter.cancelled:
                removeReceiver(node)
                throw CancellationError()
            default:  // aborted
                switch tryReceive() {
                case .value(let value): return value
                case .closed: return nil
                case .empty: continue
                }
            }
        }
    }

    @inlinable
    func blockingReceive(at location: SourceLocation) -> Element? {
        while true {
            switch tryReceive() {
            case .value(let value): return value
            case .closed: return nil
            case .empty: break
            }
            let node = Node(value: nil, reason: .channelReceive, location: location)
            Parking.parkThread(node) { _ in self.registerReceiver(node) }
            if node.outcome == Waiter.selected(0) {
                return node.value.take()
            }
        }
    }

    @inlinable
    func tryReceive() -> TryReceiveResult<Element> {
        switch state.withLock({ $0.receive() }) {
        case .value(let value, let wake):
            wake?.waiter.resume()
            return .value(value)
        case .closed:
            return .closed
        case .wouldBlock:
            return .empty
        }
    }

    @inlinable
    func registerReceiver(_ node: Node) {
        if !enqueueReceiver(node), node.tryClaim(Waiter.aborted) {
            node.resume()
        }
    }

    /// Queues `node` as a parked receiver; false (and not queued) if a receive
    /// could complete now.
    @inlinable
    func enqueueReceiver(_ node: Node) -> Bool {
        state.withLock { $0.enqueueReceiver(node) }
    }

    /// Takes `node` out of the receivers' queue if it is still there.
    @inlinable
    func removeReceiver(_ node: Node) {
        state.withLock { $0.receivers.remove(node) }
    }

    // MARK: Close and inspection

    @inlinable
    func close() throws {
        switch state.withLock({ $0.close() }) {
        case .alreadyClosed:
            throw ChannelError.closeOfClosedChannel
        case .closed(let wake):
            for node in wake {
                node.waiter.resume()
            }
        }
    }

    @inlinable
    var count: Int { state.withLock { $0.count } }

    @inlinable
    var isClosed: Bool { state.withLock { $0.isClosed } }
}
