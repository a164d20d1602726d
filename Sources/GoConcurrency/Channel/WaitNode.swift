// One case of a blocked select, or a blocked OS thread, parked on one channel:
// which waiter to claim, and for which of its cases.
//
// Invariants:
// - A node is a value (a waiter and a case index) stored inside the queue
//   entry it stands for, so a blocked select allocates nothing per case. Two
//   nodes are the same node when both parts are equal: one select queues at
//   most one node per case, so the pair names one entry of one queue.
// - What the node's operation produced travels through its owner: a sender's
//   value rides in its queue entry, and whoever claims the owner for a
//   receiving case stores the value (or `closed`) in the owner's `received`
//   before it resumes it. Only one case of an owner is ever claimed.
// - The node is not generic on purpose: a generic payload would make every
//   queue entry's layout depend on metadata looked up at run time.

@usableFromInline
struct WaitNode: Equatable, @unchecked Sendable {
    /// The waiter to claim and resume for this node: its select's, or its thread's.
    @usableFromInline let owner: Waiter
    /// The select case this node stands for (0 for a blocked thread).
    @usableFromInline let caseIndex: Int

    @inlinable
    init(owner: Waiter, caseIndex: Int) {
        self.owner = owner
        self.caseIndex = caseIndex
    }

    @inlinable
    static func == (lhs: WaitNode, rhs: WaitNode) -> Bool {
        lhs.owner === rhs.owner && lhs.caseIndex == rhs.caseIndex
    }
}
