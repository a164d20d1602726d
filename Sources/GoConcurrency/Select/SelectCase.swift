// One case of a `select`: a receive, a send, a timeout, the default, or a
// disabled case (Go's nil channel).

/// A select case's handler. It runs on the task that ran the select, in that
/// task's isolation (no hop to another executor to call it).
public typealias SelectHandler<Result> = nonisolated(nonsending) () async throws -> Result

/// A receive case's handler: gets the value, or `nil` once the channel is
/// closed and drained.
public typealias ReceiveHandler<Element, Result> = nonisolated(nonsending) (Element?) async throws -> Result

/// One case of ``select(file:line:_:)``.
///
/// Make cases with ``Chan/onReceive(_:)``, ``Chan/onSend(_:_:)``,
/// ``after(_:_:)`` and ``otherwise(_:)``. A case made from an optional channel
/// with `channel?.onReceive { ... }` is *disabled* when the channel is `nil`:
/// it is never chosen, as Go's nil channel never is.
public struct SelectCase<Result> {
    @usableFromInline
    enum Kind {
        case channel(ChannelCase<Result>)
        case timeout(Duration, SelectHandler<Result>)
        case otherwise(SelectHandler<Result>)
        case disabled
        /// The cases of a nested block (`if`, `for`, an array); flattened
        /// before the select runs.
        case group([SelectCase])
    }

    @usableFromInline let kind: Kind

    @inlinable
    init(_ kind: Kind) {
        self.kind = kind
    }

    /// A case that is never ready.
    @inlinable
    public static var disabled: SelectCase { SelectCase(.disabled) }
}

/// The steps select asks of a channel case.
@usableFromInline
enum SelectStep {
    /// Pass 1: complete now if the channel is ready.
    case poll
    /// Pass 2: queue a node for the select's waiter as this case's index.
    case register(Waiter, caseIndex: Int)
    /// Pass 3: this case lost; its node is done with its channel's queue.
    case unregister(WaitNode)
    /// The node that was claimed for this case: collect its outcome.
    case finish(WaitNode)
    /// Poll while the select holds the channel's lock: the atomic poll of a
    /// select with a default (rule 24).
    case pollLocked
    /// Which channel: for a select that locks all of its channels.
    case channel
}

@usableFromInline
enum SelectStepReply<Result> {
    case notReady
    /// The case completed: run this to call its handler.
    case ready(SelectHandler<Result>)
    case registered(WaitNode)
    case channel(any SelectLockable)
}

/// A channel case, type-erased as one closure. The closure is made where the
/// case is written (in `onReceive` / `onSend`, which are `@inlinable`), so the
/// caller's module compiles it for the concrete element type. It is the case's
/// only reference: copying a case (as a select does, per case and pass) costs
/// one retain.
@usableFromInline
struct ChannelCase<Result> {
    @usableFromInline let step: (SelectStep) -> SelectStepReply<Result>

    @inlinable
    init(_ step: @escaping (SelectStep) -> SelectStepReply<Result>) {
        self.step = step
    }

    /// The channel, to lock several in one order.
    @inlinable
    var channel: any SelectLockable {
        guard case .channel(let channel) = step(.channel) else { preconditionFailure("select: a case without a channel") }
        return channel
    }

    @inlinable
    static func receive<Element>(
        from storage: ChannelStorage<Element>,
        _ handler: @escaping ReceiveHandler<Element, Result>
    ) -> ChannelCase {
        ChannelCase { step in
            switch step {
            case .channel:
                return .channel(storage)
            case .poll:
                switch storage.tryReceive() {
                case .value(let value):
                    return .ready { try await handler(value) }
                case .closed:
                    return .ready { try await handler(nil) }
                case .empty:
                    return .notReady
                }
            case .register(let waiter, let caseIndex):
                let node = WaitNode(owner: waiter, caseIndex: caseIndex)
                return storage.enqueueReceiver(node) ? .registered(node) : .notReady
            case .unregister(let node):
                storage.unregisterReceiver(node)
                return .notReady
            case .finish(let node):
                let value = node.owner.takeReceived(Element.self)
                return .ready { try await handler(value) }
            case .pollLocked:
                switch storage.receiveLocked() {
                case .value(let value, let wake):
                    // Run after every lock is released.
                    return .ready {
                        wake?.resume()
                        return try await handler(value)
                    }
                case .closed:
                    return .ready { try await handler(nil) }
                case .wouldBlock:
                    return .notReady
                }
            }
        }
    }

    @inlinable
    static func send<Element>(
        _ value: Element,
        to storage: ChannelStorage<Element>,
        _ handler: @escaping SelectHandler<Result>
    ) -> ChannelCase {
        ChannelCase { step in
            switch step {
            case .channel:
                return .channel(storage)
            case .poll:
                switch storage.trySend(value) {
                case .sent:
                    return .ready(handler)
                case .closed:
                    return .ready { throw ChannelError.sendOnClosedChannel }
                case .full:
                    return .notReady
                }
            case .register(let waiter, let caseIndex):
                let node = WaitNode(owner: waiter, caseIndex: caseIndex)
                return storage.enqueueSender(node, value) ? .registered(node) : .notReady
            case .unregister(let node):
                storage.unregisterSender(node)
                return .notReady
            case .finish(let node):
                if node.owner.closed {
                    return .ready { throw ChannelError.sendOnClosedChannel }
                }
                return .ready(handler)
            case .pollLocked:
                switch storage.sendLocked(value) {
                case .sent(let wake):
                    // Run after every lock is released.
                    return .ready {
                        wake?.resume()
                        return try await handler()
                    }
                case .closed:
                    return .ready { throw ChannelError.sendOnClosedChannel }
                case .wouldBlock:
                    return .notReady
                }
            }
        }
    }
}

/// A timeout case: chosen when `duration`, counted from the start of the
/// select, passes with no other case ready (Go: `case <-time.After(d):`).
///
/// No timer is armed unless the select actually has to wait.
@inlinable
public func after<Result>(_ duration: Duration, _ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
    SelectCase(.timeout(duration, handler))
}

/// The default case: chosen at once when no other case is ready, so the select
/// never blocks (Go: `default:`).
@inlinable
public func otherwise<Result>(_ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
    SelectCase(.otherwise(handler))
}
