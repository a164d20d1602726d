// A channel's side of select: the receive and send cases of a channel, as
// the `SelectHandle`s that select drives. Only this file, of the channel,
// knows select's steps; select knows nothing of the channel's storage.

/// A receive case's handle: its channel, unretained (the ``SelectCase``
/// keeps it alive).
@usableFromInline
struct ChannelReceiveHandle<Element: Sendable>: SelectHandle {
    /// A `ChannelStorage<Element>`.
    @usableFromInline let channel: Unmanaged<ChannelCore>

    @inlinable
    init(_ channel: Unmanaged<ChannelCore>) {
        self.channel = channel
    }

    @inlinable
    func poll<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        switch channel.withStorage(Element.self, { $0.tryReceive() }) {
        case .value(let value): selectCase.received(value)
        case .closed: selectCase.received(Element?.none)
        case .empty: .notReady
        }
    }

    @inlinable
    func register(_ waiter: Waiter, caseIndex: Int) -> Bool {
        // The node is made inside the closure, so that it moves into the
        // queue: captured, it would be copied (a retain and release more).
        channel.withStorage(Element.self) { $0.enqueueReceiver(WaitNode(owner: waiter, caseIndex: caseIndex)) }
    }

    @inlinable
    func unregister(_ node: WaitNode) {
        channel.withStorage(Element.self) { $0.withLock { $0.receivers.unregister(node) } }
    }

    @inlinable
    func complete<Result>(_ node: WaitNode, _ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        // What `Waiter.takeReceived` does, with the value read in place
        // rather than by a dynamic cast (SwiftRuntimeABI, assumption 7).
        let waiter = node.owner
        if waiter.closed { return selectCase.received(Element?.none) }
        return selectCase.received(SwiftRuntimeABI.take(&waiter.received, as: Element.self))
    }

    @inlinable
    func pollLocked<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        // The select holds the lock: the state, not `withLock`. The sender
        // this pairs with is woken after every lock is released.
        switch channel.withStorage(Element.self, { $0.channelState.receive() }) {
        case .value(let value, let wake): ChannelCase.completedLocked(selectCase.call(with: value)) { wake?.resume() }
        case .closed: ChannelCase.completedLocked(selectCase.call(with: Element?.none)) {}
        case .wouldBlock: .notReady
        }
    }
}

/// A send case's handle: its channel, unretained (the ``SelectCase`` keeps
/// it alive), and the value to send.
@usableFromInline
struct ChannelSendHandle<Element: Sendable>: SelectHandle {
    /// A `ChannelStorage<Element>`.
    @usableFromInline let channel: Unmanaged<ChannelCore>
    @usableFromInline let value: Element

    @inlinable
    init(_ channel: Unmanaged<ChannelCore>, _ value: Element) {
        self.channel = channel
        self.value = value
    }

    @inlinable
    func poll<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        switch channel.withStorage(Element.self, { $0.trySend(value) }) {
        case .sent: selectCase.sent()
        case .closed: .failed(ChannelError.sendOnClosedChannel)
        case .full: .notReady
        }
    }

    @inlinable
    func register(_ waiter: Waiter, caseIndex: Int) -> Bool {
        channel.withStorage(Element.self) { $0.enqueueSender(WaitNode(owner: waiter, caseIndex: caseIndex), value) }
    }

    @inlinable
    func unregister(_ node: WaitNode) {
        channel.withStorage(Element.self) { $0.withLock { $0.senders.unregister(node) } }
    }

    @inlinable
    func complete<Result>(_ node: WaitNode, _ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        node.owner.closed ? .failed(ChannelError.sendOnClosedChannel) : selectCase.sent()
    }

    @inlinable
    func pollLocked<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result> {
        // The select holds the lock: the state, not `withLock`.
        switch channel.withStorage(Element.self, { $0.channelState.send(value) }) {
        case .sent(let wake):
            let handler = selectCase.handler
            return ChannelCase.completedLocked({ try await handler() }) { wake?.resume() }
        case .closed: return .failed(ChannelError.sendOnClosedChannel)
        case .wouldBlock: return .notReady
        }
    }
}

extension Unmanaged where Instance == ChannelCore {
    /// The channel's storage, a `ChannelStorage<Element>`, borrowed for
    /// `body`: no retain, no release (the select case keeps it alive).
    @inlinable @inline(__always)
    func withStorage<Element, R>(_: Element.Type, _ body: (ChannelStorage<Element>) -> R) -> R {
        _withUnsafeGuaranteedRef { body(unsafeDowncast($0, to: ChannelStorage<Element>.self)) }
    }
}

extension ChannelCase {
    /// A receive case with an async handler.
    @inlinable
    static func receive<Element>(
        from storage: ChannelStorage<Element>,
        _ handler: @escaping ReceiveHandler<Element, Result>
    ) -> SelectCase<Result> {
        receive(from: storage, erased: .async(unsafeBitCast(handler, to: SelectHandler<Result>.self)))
    }

    /// A receive case with a handler that does not suspend.
    @inlinable
    static func receive<Element>(
        from storage: ChannelStorage<Element>,
        synchronous handler: @escaping (Element?) throws -> Result
    ) -> SelectCase<Result> {
        receive(from: storage, erased: .sync(unsafeBitCast(handler, to: (() throws -> Result).self)))
    }

    /// A receive case. Its step captures nothing: the handle is made from
    /// the case's channel at each step.
    @inlinable
    static func receive<Element>(from storage: ChannelStorage<Element>, erased handler: CaseHandler<Result>) -> SelectCase<Result> {
        SelectCase(ChannelCase(channel: storage, handler: handler) { step, this, reply in
            step.run(on: ChannelReceiveHandle<Element>(this.channel), this, into: reply)
        }, of: storage)
    }

    /// A send case of `value`. Its step captures the value.
    @inlinable
    static func send<Element>(
        _ value: Element,
        to storage: ChannelStorage<Element>,
        _ handler: CaseHandler<Result>
    ) -> SelectCase<Result> {
        SelectCase(ChannelCase(channel: storage, handler: handler) { step, this, reply in
            step.run(on: ChannelSendHandle(this.channel, value), this, into: reply)
        }, of: storage)
    }
}
