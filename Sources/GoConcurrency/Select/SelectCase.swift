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
/// Make cases with ``Chan/onReceive(_:)-(ReceiveHandler<Element,Result>)``,
/// ``Chan/onSend(_:_:)-(_,SelectHandler<Result>)``,
/// ``after(_:_:)-(_,SelectHandler<Result>)`` and
/// ``otherwise(_:)-(SelectHandler<Result>)``. A case made from an optional channel
/// with `channel?.onReceive { ... }` is *disabled* when the channel is `nil`:
/// it is never chosen, as Go's nil channel never is.
public struct SelectCase<Result> {
    @usableFromInline
    enum Kind {
        case channel(ChannelCase<Result>)
        case timeout(Duration, CaseHandler<Result>)
        case otherwise(CaseHandler<Result>)
        case disabled
        /// The cases of a nested block (`if`, `switch`, `for`, an array);
        /// flattened before the select runs.
        case group([SelectCase])
    }

    @usableFromInline let kind: Kind
    /// A channel case's channel, which this keeps alive; the case itself
    /// holds it unretained (see ``ChannelCase``).
    @usableFromInline let channel: ChannelCore?

    @inlinable
    init(_ kind: Kind) {
        self.kind = kind
        self.channel = nil
    }

    @inlinable
    init(_ channelCase: ChannelCase<Result>, of channel: ChannelCore) {
        self.kind = .channel(channelCase)
        self.channel = channel
    }

    /// Carries out `step` if this is a channel case, borrowing it in place;
    /// nil otherwise.
    @inlinable @inline(__always)
    func step(_ step: SelectStep) -> SelectStepReply<Result>? {
        // A `switch`, not `guard case`: its binding borrows the payload for
        // the case's body, where `guard case` copies it out.
        switch kind {
        case .channel(let channelCase): channelCase.step(step)
        default: nil
        }
    }

    /// Whether this is a channel case.
    @inlinable @inline(__always)
    var isChannel: Bool {
        if case .channel = kind { true } else { false }
    }

    /// A case that is never ready.
    @inlinable
    public static var disabled: SelectCase { SelectCase(.disabled) }
}

/// The steps select asks of a channel case (see ``SelectHandle``).
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
    /// select with a default (Guarantees, rule 24).
    case pollLocked
}

/// How a channel case's step went (see ``ChannelCase/step``): a plain value,
/// so that a step that did not complete its case leaves nothing to destroy.
@usableFromInline
enum SelectStepStatus {
    case notReady
    case registered
    /// The case completed (or failed): its reply was written.
    case replied
}

@usableFromInline
enum SelectStepReply<Result> {
    case notReady
    /// The case completed: run this (after every lock is released) to wake
    /// its partner, if any, and call its handler.
    case ready(SelectHandler<Result>)
    /// A node for the case is queued on the channel.
    case registered
    /// The case completed and its synchronous handler returned this.
    case done(Result)
    /// The case completed and its synchronous handler threw this (or, for a
    /// send, the channel was closed).
    case failed(any Error)
}

extension SelectStepReply {
    /// Writes this reply to `reply` if the case completed; how the step went.
    @inlinable @inline(__always)
    consuming func store(into reply: UnsafeMutablePointer<SelectStepReply<Result>>) -> SelectStepStatus {
        switch consume self {
        case .notReady: return .notReady
        case .registered: return .registered
        case let completed:
            reply.initialize(to: completed)
            return .replied
        }
    }

    /// What the select returns for a case this reply completed: the result
    /// of a synchronous handler, its error, or what the returned call gives;
    /// nil if the case did not complete.
    @inlinable @inline(__always)
    nonisolated(nonsending) func outcome() async throws -> Result? {
        switch self {
        case .done(let result): result
        case .failed(let error): throw error
        case .ready(let run): try await run()
        case .notReady, .registered: nil
        }
    }
}

/// The handler of a timeout or default case, as it was written: with or
/// without `await`. Calling it is a direct call (no executor switch after
/// it); only an async handler is an indirect async call.
@usableFromInline
enum CaseHandler<Result> {
    case async(SelectHandler<Result>)
    case sync(() throws -> Result)

    @inlinable
    nonisolated(nonsending) func callAsFunction() async throws -> Result {
        switch self {
        case .async(let handler): try await handler()
        case .sync(let handler): try handler()
        }
    }
}

/// A channel case, its element type erased without an allocation.
///
/// It holds its channel unretained, so a select, which copies a case each time
/// it looks at it (a dozen times: poll, queue, unqueue, finish), does not
/// retain and release the channel each time; the ``SelectCase`` around it
/// keeps the channel alive.
///
/// `step` carries out a ``SelectStep`` on the case's ``SelectHandle`` (for a
/// channel, `ChannelReceiveHandle` or `ChannelSendHandle`, in the Channel
/// layer), so select reaches the case's source only through that contract.
/// It is made where the case is written (in `onReceive` / `onSend`, which
/// are `@inlinable`), so the caller's module compiles it for the concrete
/// handle and element type. A receive case's `step` captures nothing, so it is a plain
/// function pointer and building the case allocates nothing: what it works on
/// travels beside it, the channel's storage and the handler. A receive
/// handler is stored by `unsafeBitCast` as the handler of a case without a
/// value (`SelectHandler<Result>`, or `() throws -> Result` when it does not
/// await) and cast back to its real type, which takes the value, only inside
/// `step`, which knows it; each pair is two thick functions of one layout and
/// one kind (async or not), and the value is never called as the type it is
/// stored as. A send case's `step` captures the value to send (one allocation,
/// as any closure holding it would be).
///
/// `step` is synchronous, so polling a case that is not ready costs no async
/// call. A step that completes its case calls a synchronous handler itself;
/// for an async handler it returns the call as a closure for the select to
/// run (and under the locks of the last poll before a default, it returns
/// the call of either kind: user code never runs under a channel lock).
@usableFromInline
struct ChannelCase<Result> {
    /// The channel: a `ChannelStorage<Element>`, not retained.
    @usableFromInline let channel: Unmanaged<ChannelCore>
    /// The handler, its type erased (see above); `.sync` when it was written
    /// without `await`. A completed step calls a synchronous handler at once
    /// and returns its result (`.done`): no async call, no closure, and none
    /// of the executor switches the compiler emits after every indirect async
    /// call.
    @usableFromInline let handler: CaseHandler<Result>
    /// Writes a completed case's reply through a pointer rather than
    /// returning it: a pointer is passed by address whatever `Result` is, so
    /// the closure made for a concrete `Result` is stored as it is, with no
    /// reabstraction thunk around it (a returned `SelectStepReply<Result>`
    /// is indirect when `Result` is generic and direct when it is not, and
    /// every step went through the thunk that converts one to the other).
    /// It returns how the step went, a plain value, and initializes the
    /// reply only for `.replied`: a step that does not complete its case
    /// (most polls, every register and unregister) leaves nothing to
    /// destroy (an `inout` reply was destroyed and written on every step).
    @usableFromInline let step: (SelectStep, ChannelCase, UnsafeMutablePointer<SelectStepReply<Result>>) -> SelectStepStatus

    @inlinable
    init(
        channel: ChannelCore,
        handler: CaseHandler<Result>,
        step: @escaping (SelectStep, ChannelCase, UnsafeMutablePointer<SelectStepReply<Result>>) -> SelectStepStatus
    ) {
        self.channel = Unmanaged.passUnretained(channel)
        self.handler = handler
        self.step = step
    }

    @inlinable @inline(__always)
    func step(_ step: SelectStep) -> SelectStepReply<Result> {
        withUnsafeTemporaryAllocation(of: SelectStepReply<Result>.self, capacity: 1) { buffer in
            let reply = buffer.baseAddress.unsafelyUnwrapped
            switch self.step(step, self, reply) {
            case .notReady: return .notReady
            case .registered: return .registered
            case .replied: return reply.move()
            }
        }
    }

    /// The handler called with `value`, as one async call. A receive
    /// handler is stored as the handler of a case without a value, its type
    /// erased (see above), and cast back here, where `Element` is known.
    @inlinable
    func call<Element>(with value: Element?) -> SelectHandler<Result> {
        switch handler {
        case .sync(let erased):
            let handler = unsafeBitCast(erased, to: ((Element?) throws -> Result).self)
            return { try handler(value) }
        case .async(let erased):
            let handler = unsafeBitCast(erased, to: ReceiveHandler<Element, Result>.self)
            return { try await handler(value) }
        }
    }

    /// A completed receive: calls a synchronous handler with `value` now, or
    /// returns the call of an async one. Never under a channel lock.
    @inlinable
    func received<Element>(_ value: Element?) -> SelectStepReply<Result> {
        if case .sync(let erased) = handler {
            let handler = unsafeBitCast(erased, to: ((Element?) throws -> Result).self)
            do { return .done(try handler(value)) } catch { return .failed(error) }
        }
        return .ready(call(with: value))
    }

    /// A completed send: calls a synchronous handler now, or returns the
    /// async one to call.
    @inlinable
    func sent() -> SelectStepReply<Result> {
        switch handler {
        case .sync(let handler):
            do { return .done(try handler()) } catch { return .failed(error) }
        case .async(let handler):
            return .ready(handler)
        }
    }

    /// A case completed under the locks of a select's last poll: `call`,
    /// deferred until the locks are released, after `wake` (which resumes the
    /// partner the case paired with, if any). User code never runs under a
    /// channel lock, so even a synchronous handler is called this way.
    @inlinable
    static func completedLocked(_ call: @escaping SelectHandler<Result>, waking wake: @escaping () -> Void) -> SelectStepReply<Result> {
        .ready {
            wake()
            return try await call()
        }
    }
}

/// A timeout case: chosen when `duration`, counted from the start of the
/// select, passes with no other case ready (Go: `case <-time.After(d):`).
///
/// No timer is armed unless the select actually has to wait.
@inlinable
public func after<Result>(_ duration: Duration, _ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
    SelectCase(.timeout(duration, .async(handler)))
}

/// A timeout case whose handler does not suspend: it runs inside the select.
@inlinable
public func after<Result>(_ duration: Duration, _ handler: @escaping () throws -> Result) -> SelectCase<Result> {
    SelectCase(.timeout(duration, .sync(handler)))
}

/// The default case: chosen at once when no other case is ready, so the select
/// never blocks (Go: `default:`).
@inlinable
public func otherwise<Result>(_ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
    SelectCase(.otherwise(.async(handler)))
}

/// The default case, with a handler that does not suspend: it runs inside the
/// select.
@inlinable
public func otherwise<Result>(_ handler: @escaping () throws -> Result) -> SelectCase<Result> {
    SelectCase(.otherwise(.sync(handler)))
}
