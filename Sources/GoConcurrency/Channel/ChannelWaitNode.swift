// One case of a blocked select, or a blocked OS thread, parked on one channel.
//
// Invariants:
// - `value` and `closed` are written by whoever claims the owner for this
//   node's case, under the channel's lock, before it resumes the owner; the
//   owner reads them after it wakes. A sender's node holds its value until
//   claimed.
// - `nextOfOwner` chains the nodes of one select; only the select's own task
//   touches it.
// - Nodes are small on purpose (owner, case, chain, value): a blocked select
//   makes one per case, and their allocation and release were a tenth of the
//   select4 workload.

@usableFromInline
class WaitNode: @unchecked Sendable {
    /// The waiter to claim and resume for this node: its select's, or its thread's.
    @usableFromInline let owner: Waiter
    /// The select case this node stands for (0 for a blocked thread).
    @usableFromInline let caseIndex: Int
    /// The next node of the same select.
    @usableFromInline @exclusivity(unchecked) var nextOfOwner: WaitNode?

    @inlinable
    init(owner: Waiter, caseIndex: Int) {
        self.owner = owner
        self.caseIndex = caseIndex
    }
}

@usableFromInline
final class ChannelWaitNode<Element>: WaitNode, @unchecked Sendable {
    /// For a sender: the value it offers. For a receiver: the value handed to it.
    @usableFromInline @exclusivity(unchecked) var value: Element?
    /// Set by `close` when it is the closing of the channel that woke the node.
    @usableFromInline @exclusivity(unchecked) var closed = false

    @inlinable
    init(value: Element?, owner: Waiter, caseIndex: Int) {
        self.value = value
        super.init(owner: owner, caseIndex: caseIndex)
    }
}
