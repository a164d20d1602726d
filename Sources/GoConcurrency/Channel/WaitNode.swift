// One case of a blocked select, or a blocked OS thread, parked on one channel.
//
// Invariants:
// - A node is immutable but for `nextOfOwner`, which chains the nodes of one
//   select and is touched only by the select's own task.
// - What the node's operation produced travels through its owner, not the
//   node: a sender's value rides in its queue entry, and whoever claims the
//   owner for a receiving case stores the value (or `closed`) in the owner's
//   `received` before it resumes it. Only one case of an owner is ever claimed.
// - Nodes are small and not generic on purpose: a blocked select makes one per
//   case, and a generic node cost a metadata lookup on every allocation and
//   release (a tenth of the select4 workload).

@usableFromInline
final class WaitNode: @unchecked Sendable {
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
