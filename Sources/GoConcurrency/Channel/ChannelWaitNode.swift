// One case of a blocked select, or a blocked OS thread, parked on one channel.
//
// Invariants:
// - `value` and `closed` are written by whoever claims the waiter, under the
//   channel's lock, before it resumes the waiter; the owner reads them after
//   it wakes. A sender's node holds its value until claimed.
// - A blocked thread's node is its own waiter (`owner == nil`); the cases of a
//   select share their select's waiter.

@usableFromInline
final class ChannelWaitNode<Element>: Waiter, @unchecked Sendable {
    /// For a sender: the value it offers. For a receiver: the value handed to it.
    @usableFromInline @exclusivity(unchecked) var value: Element?
    /// Set by `close` when it is the closing of the channel that woke the node.
    @usableFromInline @exclusivity(unchecked) var closed = false
    @usableFromInline let owner: Waiter?

    /// A blocked thread's send (with `value`) or receive.
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
