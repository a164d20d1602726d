// One parked operation on one channel: a blocked send or receive, or one case
// of a blocked select. Linked into the channel's queue of senders or receivers.
//
// Invariants:
// - `next`, `previous` and `isLinked` are protected by the lock of the channel
//   whose queue holds the node.
// - `value` and `closed` are written by whoever claims the waiter, under that
//   lock, before it resumes the waiter; the owner reads them after it wakes.
// - A plain send or receive is its own waiter (`owner == nil`); the cases of a
//   select share their select's waiter.

@usableFromInline
final class ChannelWaitNode<Element>: Waiter, @unchecked Sendable {
    @usableFromInline @exclusivity(unchecked) var next: ChannelWaitNode<Element>?
    @usableFromInline @exclusivity(unchecked) unowned(unsafe) var previous: ChannelWaitNode<Element>?
    @usableFromInline @exclusivity(unchecked) var isLinked = false
    /// For a sender: the value it offers. For a receiver: the value handed to it.
    @usableFromInline @exclusivity(unchecked) var value: Element?
    /// Set by `close` when it is the closing of the channel that woke the node.
    @usableFromInline @exclusivity(unchecked) var closed = false
    @usableFromInline let owner: Waiter?

    /// A plain send (with `value`) or receive, parked on its own.
    @inlinable
    init(value: Element?, reason: WaitReason, location: SourceLocation) {
        self.value = value
        self.owner = nil
        super.init(reason: reason, location: location)
    }

    /// Case `caseIndex` of the select whose waiter is `owner`.
    @inlinable
    init(value: Element?, owner: Waiter, caseIndex: Int) {
        self.value = value
        self.owner = owner
        super.init(reason: owner.reason, location: owner.location, caseIndex: caseIndex)
    }

    /// The waiter to claim and resume for this node.
    @inlinable
    var waiter: Waiter { owner ?? self }
}
