// What a cancellable context shares with the contexts derived from it without
// a cancel of their own (values): whether it is done and why, its `done`
// channel, the cancellable contexts derived from it, the functions waiting
// for it to be done, and its deadline's timer.
//
// Invariants (protected by `lock`):
// - `state.reason` goes from nil to set once, by the first cancellation
//   (its cancel function, its deadline's timer, its parent's cancellation, or
//   its parent being done already when it was made). Everything else a
//   cancellation does follows from that one change.
// - `state.children` holds every cancellable context made from this one and
//   not yet done, until this one's whole subtree is done; `state.waiting`
//   every function registered and not yet stopped, until it is done. The
//   cancellation takes the functions and the timer out under the lock and
//   acts on them after releasing it, so no lock is held while anything else
//   runs. A child made later, or a function registered later, is done at
//   once by its maker.
// - `done` is made with the canceller (by whoever makes the context, which the
//   deadlock detector needs to know) and is closed exactly once, under this
//   lock, in the same step that sets `reason` (the receivers it wakes are
//   resumed after the lock is released): `err` is nil exactly while `done`
//   is open, as in Go. It is shared with the outside from the start when its
//   parent's may be used outside the maker's runtime: the parent's
//   cancellation closes it.
// - A child holds its parent weakly, only to leave the parent's `children`
//   when it is cancelled first; the parent holds the child strongly until it
//   is done, as Go's parent keeps its children: a context is released once
//   it is done and nobody holds it, or once its parent is released while
//   nothing can cancel it any more.
// - `state.timer` is the armed deadline timer, if any; the entry holds the
//   canceller until it fires or is cancelled (a cancelled entry drops its
//   action at once), so a context with a deadline is done at its deadline
//   even when nobody holds it but the waiters on its `done` channel.
// - A cancellation runs through the descendants with a work list, not by
//   recursion (a chain of a million contexts cancels without a deep stack),
//   parents before children, and empties a node's `children` only after
//   its whole subtree is done (post-order). So a node whose reason is set
//   and whose `children` is empty has its whole subtree done, and a cancel
//   that finds a node done already still walks the children it has left:
//   when two cancels overlap (a parent's and a child's), each returns only
//   once every context below the one it cancelled is done (Guarantees,
//   rule 39). Whichever walk reaches a child first, it cancels it with the
//   reason its parent has, never with the walk's own: every context done
//   by its parent has its parent's err and cause.

import Synchronization

final class ContextCanceller: @unchecked Sendable {
    private let lock = Lock()
    private var state = CancelState()
    /// Closed when the context is done.
    let done = ChannelStorage<Void>(capacity: 0)
    private weak var parent: ContextCanceller?
    /// The queue of the deadline's timer.
    private let timers: TimerQueue?

    /// Makes the canceller of a new context whose nearest cancellable parent
    /// is `parent` (nil: nothing above it can cancel it), and links it to
    /// that parent, or cancels it at once if the parent is done already.
    init(parent: ContextCanceller?, timers: TimerQueue? = nil) {
        self.parent = parent
        self.timers = timers
        if let parent, parent.done.mayBeUsedOutside(of: done.madeByID) {
            // Whoever may cancel the parent may close this `done` too.
            done.shareWithOutside()
        }
        parent?.adopt(self)
    }

    /// Why it is done; nil while it is not.
    var reason: CancelState.Reason? {
        lock.lock()
        defer { lock.unlock() }
        return state.reason
    }

    /// Cancels it and everything derived from it, unless it is done already.
    /// `cause` nil means `err` itself is the cause.
    func cancel(_ err: ContextError, cause: (any Error)?) {
        // (node, reason): cancel it with `reason` and queue its children with
        // the reason it has (this one, or an earlier cancellation's: a child
        // is done with its parent's err and cause, as in Go); (node, nil): its
        // subtree is done, unlink its children.
        var pending: [(node: ContextCanceller, reason: CancelState.Reason?)] = [
            (self, CancelState.Reason(err: err, cause: cause ?? err))
        ]
        while let (node, reason) = pending.popLast() {
            node.lock.lock()
            guard let reason else {
                node.state.children = [:]
                node.lock.unlock()
                continue
            }
            let outcome = node.state.cancel(reason)
            let closing = outcome.first ? node.done.withLock { $0.close() } : nil
            node.lock.unlock()
            if let closing { try? node.done.finishClose(closing) }
            if let timer = outcome.timer { node.timers?.cancel(timer) }
            for function in outcome.waiting { function.start() }
            if !outcome.children.isEmpty {
                pending.append((node, nil))
                for child in outcome.children { pending.append((child, outcome.reason)) }
            }
        }
        // Everything below is done: leave the parent's children (if the
        // parent's cancellation is under way, it has its own list of them).
        parent?.disown(self)
    }

    /// Arms the deadline's timer for `deadline` (in `timers`' time): it
    /// cancels with `.deadlineExceeded` and `cause`. If the context is done
    /// already, the timer is not kept.
    func arm(at deadline: UInt64, cause: (any Error)?) {
        guard let timers else { return }
        let entry = timers.schedule(at: deadline) { [self] in
            cancel(.deadlineExceeded, cause: cause)
        }
        lock.lock()
        let kept = state.keep(timer: entry)
        lock.unlock()
        if !kept { timers.cancel(entry) }
    }

    /// Registers `function` to start once it is done; false if it is done
    /// already (the caller starts it).
    func register(_ function: ContextFunction) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return state.register(function)
    }

    /// Takes `function` out (it was stopped before it started).
    func unregister(_ function: ContextFunction) {
        lock.lock()
        state.waiting[ObjectIdentifier(function)] = nil
        lock.unlock()
    }

    /// How many cancellable contexts made from it are linked to it, and how
    /// many functions wait for it (for tests: both drop to zero when it is
    /// done).
    var links: (children: Int, waiting: Int, timer: Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (state.children.count, state.waiting.count, state.timer != nil)
    }

    private func adopt(_ child: ContextCanceller) {
        lock.lock()
        let reason = state.adopt(child)
        lock.unlock()
        if let reason { child.cancel(reason.err, cause: reason.cause) }
    }

    private func disown(_ child: ContextCanceller) {
        lock.lock()
        state.children[ObjectIdentifier(child)] = nil
        lock.unlock()
    }
}

/// The canceller's state machine: each change returns what the canceller must
/// do once its lock is released.
struct CancelState {
    struct Reason: @unchecked Sendable {
        /// What ``Context/err`` reports.
        let err: ContextError
        /// What ``Context/cause`` reports (`err` unless a cause was given).
        /// Any error: a cause is only ever read, never mutated.
        let cause: any Error
    }

    /// What a cancellation leaves to do outside the lock.
    struct Cancelled {
        /// Whether this cancellation made it done (else it was already).
        let first: Bool
        /// Why it is done: this cancellation's reason, or the earlier one's.
        /// Its children are cancelled with it.
        let reason: Reason
        /// The children still linked: their subtrees may not be done yet.
        let children: [ContextCanceller]
        let waiting: [ContextFunction]
        let timer: TimerEntry?
    }

    private(set) var reason: Reason?
    var children: [ObjectIdentifier: ContextCanceller] = [:]
    var waiting: [ObjectIdentifier: ContextFunction] = [:]
    private(set) var timer: TimerEntry?

    /// Done now, unless done already; the children stay linked until the
    /// canceller has walked them.
    mutating func cancel(_ reason: Reason) -> Cancelled {
        if let earlier = self.reason {
            return Cancelled(first: false, reason: earlier, children: Array(children.values), waiting: [], timer: nil)
        }
        self.reason = reason
        defer {
            waiting = [:]
            timer = nil
        }
        return Cancelled(first: true, reason: reason, children: Array(children.values), waiting: Array(waiting.values), timer: timer)
    }

    /// Links a new child; the reason to cancel it with if this is done already.
    mutating func adopt(_ child: ContextCanceller) -> Reason? {
        if let reason { return reason }
        children[ObjectIdentifier(child)] = child
        return nil
    }

    /// Keeps the deadline's timer; false if it is done already.
    mutating func keep(timer entry: TimerEntry) -> Bool {
        if reason != nil { return false }
        timer = entry
        return true
    }

    /// Registers a function to start when done; false if done already.
    mutating func register(_ function: ContextFunction) -> Bool {
        if reason != nil { return false }
        waiting[ObjectIdentifier(function)] = function
        return true
    }
}
