// select: wait on several channel operations at once and run the handler of
// the one that happens (Go's selectgo).
//
// The algorithm, after crossbeam-channel's and Go's:
//  0. Evaluate every case once, in source order (Guarantees, rule 16), and shuffle the
//     poll order (Guarantees, rule 17).
//  1. Poll the enabled channel cases in that order, each under its own
//     channel's lock; the first that can complete, completes. Otherwise, if
//     there is a default, poll once more with every channel locked (in
//     address order, as Go does), so that "nothing was ready" is true at one
//     instant (Guarantees, rule 24), and take the default (Guarantees, rule 18). Otherwise take an
//     expired timeout.
//  2. Park: publish one waiter and queue one node per case on its channel.
//     Queuing re-checks readiness under that channel's lock; a case that became
//     ready aborts the wait (the waiter claims itself as aborted) and the
//     select starts again from step 1. Then arm the timeout, if any.
//     From the first queued node on, any channel operation may claim the
//     waiter for its case; the claim is a compare-and-swap, so exactly one
//     case (or the timeout, or cancellation) wins.
//  3. Woken: take every losing node out of its queue (Guarantees, rule 23), disarm the
//     timer, and run the winner's handler.
// Only that last poll before a default holds several channel locks; nothing
// is resumed while it does, and no task is spawned.

/// Waits until one of `cases` can proceed, carries out that one operation, and
/// returns what its handler returns (Go's `select`).
///
///     let result = try await select {
///         c1.onReceive { message in "received \(message!)" }
///         c2.onSend(42) { "sent" }
///         after(.seconds(1)) { "timeout" }
///     }
///
/// - When several cases are ready, one is chosen uniformly at random.
/// - With an ``otherwise(_:)-(SelectHandler<Result>)`` case, select never blocks.
/// - A receive case on a closed channel is always ready and gets `nil`; a send
///   case on a closed channel is ready and throws ``ChannelError/sendOnClosedChannel``.
/// - A select with no enabled case (and no timeout) blocks until cancelled.
/// - Cancellation while blocked throws `CancellationError`; no case happened then.
///
/// Handlers run on the calling task after the operation completed; they may
/// suspend and throw. A handler with no `await` in it is taken as a
/// synchronous function (each case constructor has both forms, and Swift picks
/// this one for such a closure): the select calls it itself, with no async
/// call in between, which spares the executor switch the compiler emits after
/// every call through an async closure.
@inlinable @inline(__always)
public nonisolated(nonsending) func select<Result>(
    file: StaticString = #fileID,
    line: UInt = #line,
    @SelectBuilder<Result> _ cases: () throws -> SelectCases<Result>
) async throws -> Result {
    // Always inlined into the caller: called, `select` is an async function
    // whose frame (the cases, the plan) the task's allocator makes and frees
    // on every select; inlined, they live in the caller's frame, made once
    // (select4: about 230 instructions less per value, select_timeout 160).
    let cases = try cases()
    // Steps 0 and 1 here, before `run`: a select that finds a case ready
    // (most of them) makes no async call to `run`, whose frame the task's
    // allocator would make and free, with the cases copied in.
    let plan = SelectPlan(cases)
    if let reply = Select.poll(cases, plan) {
        return try await reply.outcome().unsafelyUnwrapped
    }
    return try await Select.run(cases, plan, at: SourceLocation(fileID: file, line: line))
}

@usableFromInline
enum Select {
    // `run` is an async function: every value it holds across a suspension
    // lives in its task's allocator frame, and the optimizer also puts there
    // much of what it only holds between two (copies of cases and replies):
    // written in one piece, its frame was 1.3 KB, more than the first slab of
    // a task's allocator. So the steps around the park are functions of their
    // own, not inlined (`@inline(never)`, still specialised for the caller's
    // `Result`), whose temporaries live on the thread's stack: 672 bytes for
    // select4's. The plan and the first poll are made in `select` itself
    // (compiled in the caller's module, where the optimizer specialises it
    // for the call's cases): a select that finds a case ready makes no async
    // call to `run`, whose frame the task's allocator would make and free,
    // the cases copied in (select_timeout 0.77×, paired). Out of line they
    // cost the fast path a fifth (measured), and `outcome()`, an async call,
    // must be inlined or it allocates a frame of its own each time.

    /// Steps 1 (from its second part) to 3, for a select whose first poll,
    /// by the caller, found no case ready.
    @inlinable
    nonisolated(nonsending) static func run<Result>(
        _ cases: SelectCases<Result>, _ plan: SelectPlan, at location: SourceLocation
    ) async throws -> Result {
        var polled = true
        while true {
            // Step 1 (again after an aborted wait).
            if !polled, let reply = poll(cases, plan) {
                return try await reply.outcome().unsafelyUnwrapped
            }
            polled = false
            if plan.hasDefault {
                if let run = pollWithEveryChannelLocked(cases, plan) {
                    return try await run()
                }
                return try await plan.handler(at: plan.defaultIndex, of: cases)()
            }
            if plan.timedOut {
                return try await plan.handler(at: plan.timeoutIndex, of: cases)()
            }

            // Step 2.
            let waiter = Waiter.forSelect(reason: plan.channelCases > 0 ? .select : .selectNoCases, location: location)
            // The cases at positions 0..<visited of the poll order have their
            // nodes queued (the ones that are channel cases).
            var visited = 0
            var timer: TimerEntry?
            await Parking.park(waiter, on: { query in answer(query, for: cases) }) { waiter in
                register(waiter, cases, plan, visited: &visited, timer: &timer)
            }

            // Step 3.
            // Every node is out of its queue and the winner's outcome is
            // read: the waiter can serve this thread's next select.
            let outcome = finishWaiting(waiter, cases, plan, visited: visited, timer: timer)
            switch outcome {
            case .cancelled:
                Waiter.recycle(consume waiter)
                throw CancellationError()
            case .aborted:
                Waiter.recycle(consume waiter)
                continue
            case .timedOut:
                Waiter.recycle(consume waiter)
                return try await plan.handler(at: plan.timeoutIndex, of: cases)()
            default:
                let winner = outcome.selectedCase.unsafelyUnwrapped
                let reply = finish(cases, winner: winner, of: waiter)
                Waiter.recycle(consume waiter)
                return try await reply.outcome().unsafelyUnwrapped
            }
        }
    }

    /// Step 1: polls the channel cases in the plan's order; the reply of the
    /// first that completed, if any.
    @inlinable @inline(__always)
    static func poll<Result>(_ cases: SelectCases<Result>, _ plan: SelectPlan) -> SelectStepReply<Result>? {
        if plan.channelCases == 0 { return nil }
        for position in 0..<cases.count {
            switch cases.step(.poll, at: plan.order[position]) {
            case .none, .notReady, .registered:
                continue
            case let reply:
                return reply
            }
        }
        return nil
    }

    /// Step 2, run once the waiter's continuation is published: queues a
    /// node on each channel case's channel (`visited` counts the poll order's
    /// positions done) and arms the timeout. Stops at the first case found
    /// ready, claiming the waiter as aborted so that the select runs again.
    @inlinable @inline(never)
    static func register<Result>(
        _ waiter: Waiter, _ cases: SelectCases<Result>, _ plan: SelectPlan,
        visited: inout Int, timer: inout TimerEntry?
    ) {
        for position in 0..<cases.count {
            let index = plan.order[position]
            guard cases.isChannel(at: index) else {
                visited = position + 1
                continue
            }
            guard waiter.isWaiting else { return }  // already claimed: stop queuing
            switch cases.step(.register(waiter, caseIndex: index), at: index) {
            case .registered:
                visited = position + 1
            default:
                if waiter.tryClaim(.aborted) {
                    waiter.resume()
                }
                return
            }
        }
        if let timers = plan.timers {
            if plan.timedOut {
                // Expired while queuing: time out here, on this thread.
                if waiter.tryClaim(.timedOut) {
                    waiter.resume()
                }
                return
            }
            timer = timers.schedule(at: plan.deadline) {
                if waiter.tryClaim(.timedOut) {
                    waiter.resume()
                }
            }
        }
    }

    /// Step 3: the waiter was claimed. Disarms the timer and takes every
    /// losing node out of its queue (Guarantees, rule 23); returns the outcome.
    @inlinable @inline(never)
    static func finishWaiting<Result>(
        _ waiter: Waiter, _ cases: SelectCases<Result>, _ plan: SelectPlan,
        visited: Int, timer: TimerEntry?
    ) -> Waiter.Outcome {
        let outcome = waiter.outcome
        if let timer, let timers = plan.timers {
            timers.cancel(timer)
        }
        for position in 0..<visited {
            let index = plan.order[position]
            // The winner's claimer already took its node out of the queue.
            guard outcome != .selected(index), cases.isChannel(at: index) else { continue }
            _ = cases.step(.unregister(WaitNode(owner: waiter, caseIndex: index)), at: index)
        }
        return outcome
    }

    /// The reply of the channel case `index`, which was claimed for it.
    @inlinable @inline(never)
    static func finish<Result>(_ cases: SelectCases<Result>, winner index: Int, of waiter: Waiter) -> SelectStepReply<Result> {
        let reply = cases.step(.finish(WaitNode(owner: waiter, caseIndex: index)), at: index)
        switch reply {
        case .none:
            preconditionFailure("select: woken for case \(index), which is not a channel case")
        case .notReady, .registered:
            preconditionFailure("select: woken for case \(index), which did not complete")
        case .some(let reply):
            return reply
        }
    }

    /// Polls every channel case with all the select's channels locked: the
    /// last look before a default is taken. The returned run wakes the partner
    /// (after the locks are released) and calls the handler.
    @inlinable
    static func pollWithEveryChannelLocked<Result>(
        _ cases: SelectCases<Result>, _ plan: SelectPlan
    ) -> SelectHandler<Result>? {
        if plan.channelCases < 2 {
            return nil  // at most one case: the first poll was already atomic
        }
        var channels: [Unmanaged<ChannelCore>] = []
        for index in 0..<cases.count {
            if let channel = cases.channel(at: index) { channels.append(channel) }
        }
        channels.sort { $0.toOpaque() < $1.toOpaque() }
        var distinct: [Unmanaged<ChannelCore>] = []
        for channel in channels where distinct.last.map({ $0.toOpaque() != channel.toOpaque() }) ?? true {
            distinct.append(channel)
        }
        for channel in distinct {
            channel._withUnsafeGuaranteedRef { $0.lockForSelect() }
        }
        var ready: SelectHandler<Result>?
        for position in 0..<cases.count {
            switch cases.step(.pollLocked, at: plan.order[position]) {
            case .none:
                continue
            case .ready(let run):
                ready = run
            case .failed(let error):
                ready = { throw error }
            case .done:
                preconditionFailure("select: a locked poll ran a handler under the channels' locks")
            case .notReady, .registered:
                continue
            }
            break
        }
        for channel in distinct.reversed() {
            channel._withUnsafeGuaranteedRef { $0.unlockForSelect() }
        }
        return ready
    }
}

/// Answers a park's question about the channels of a select's enabled cases
/// (`WaitObjectQuery`).
@inlinable
func answer<Result>(_ query: WaitObjectQuery, for cases: SelectCases<Result>) -> Bool {
    for index in 0..<cases.count {
        guard let channel = cases.channel(at: index) else { continue }
        switch query {
        case .mayBeUsedOutside(let runtime):
            if channel._withUnsafeGuaranteedRef({ $0.mayBeUsedOutside(of: runtime) }) { return true }
        case .shareWithOutsideUnlessFamily:
            channel._withUnsafeGuaranteedRef { $0.shareWithOutsideUnlessFamily() }
        }
    }
    return false
}
