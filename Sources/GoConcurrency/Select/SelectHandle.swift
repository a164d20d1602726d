// What a select needs from anything it can wait on: the contract between
// select and a case's source. A channel implements it (in Channel/); so can
// any future source of select cases, each in a file of its own. Select calls
// nothing else of the source's own methods.

/// Something a select can wait on, seen from one case of the select.
///
/// Select drives every case through the same steps: ``poll(_:)`` in its
/// first pass; ``register(_:caseIndex:)`` when nothing was ready, then ``unregister(_:)``
/// for each case that lost; ``complete(_:_:)`` for the case that won; and, for a
/// select with a default, ``pollLocked(_:)`` while it holds every channel's
/// lock. A handle that completes a case reports it through `selectCase`
/// (``ChannelCase/received(_:)``, ``ChannelCase/sent()``), which calls the
/// handler or returns its call; the handle never calls user code itself.
///
/// The protocol is only a generic constraint: a case's type-erased step
/// (``ChannelCase/step``) is compiled for its concrete handle where the case
/// is written, so no existential and no witness call is made per step.
@usableFromInline
protocol SelectHandle {
    /// Completes the case now if it is ready (the handle takes its own lock);
    /// `.notReady` if it is not.
    func poll<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result>

    /// Queues a node of `waiter` for case `caseIndex`, so that the operation
    /// that makes the case ready claims the waiter for it
    /// (`Waiter.Outcome.selected(caseIndex)`). False, and nothing queued, if
    /// the case is ready now.
    func register(_ waiter: Waiter, caseIndex: Int) -> Bool

    /// The select is done with `node`: it lost, or the wait was cancelled or
    /// aborted. The node may already be gone from the handle's queue.
    func unregister(_ node: WaitNode)

    /// The case whose `node` was claimed: what its claimer handed over,
    /// reported as the case's completion.
    func complete<Result>(_ node: WaitNode, _ selectCase: ChannelCase<Result>) -> SelectStepReply<Result>

    /// As ``poll(_:)``, with the handle's lock already held by the select
    /// (its last look before a default). Whatever a completion wakes, and the
    /// handler, run only in the returned `.ready` call, after the select
    /// releases every lock.
    func pollLocked<Result>(_ selectCase: ChannelCase<Result>) -> SelectStepReply<Result>
}

extension SelectStep {
    /// Carries out this step of `selectCase` on its handle; a completed
    /// case's reply goes to `reply`.
    @inlinable @inline(__always)
    func run<Handle: SelectHandle, Result>(
        on handle: Handle, _ selectCase: ChannelCase<Result>, into reply: UnsafeMutablePointer<SelectStepReply<Result>>
    ) -> SelectStepStatus {
        switch self {
        case .poll:
            return handle.poll(selectCase).store(into: reply)
        case .register(let waiter, let caseIndex):
            return handle.register(waiter, caseIndex: caseIndex) ? .registered : .notReady
        case .unregister(let node):
            handle.unregister(node)
            return .notReady
        case .finish(let node):
            return handle.complete(node, selectCase).store(into: reply)
        case .pollLocked:
            return handle.pollLocked(selectCase).store(into: reply)
        }
    }
}
