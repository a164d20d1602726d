// A channel's FIFO of parked senders or receivers (Go's waitq).
//
// Invariants (the queue is protected by its channel's lock):
// - Entries are served first-in first-out (rule 4).
// - A parked task's entry is live until it is popped or removed, both under
//   the lock. A node's entry is *stale* once its waiter was claimed elsewhere
//   (its select chose another case, or the select was cancelled or timed out):
//   stale entries are skipped and dropped by whoever meets them.
// - A select that lost takes its nodes out by `unregister`, which counts them
//   and compacts the queue once they could be half of it. So removal is O(1)
//   amortised, a loop of selects does not grow memory (rule 25), and a lost
//   case never pairs with anyone (rule 23): its waiter cannot be claimed.

import DequeModule

@usableFromInline
struct WaitQueue<Entry: ParkedOperation> {
    @usableFromInline var entries = Deque<Entry>()
    /// Nodes unregistered since the last compaction: an upper bound on the
    /// stale entries still queued.
    @usableFromInline var unregistered = 0

    @inlinable
    init() {}

    @inlinable
    mutating func append(_ entry: Entry) {
        entries.append(entry)
    }

    /// Pops entries from the front until one is claimed: a task's entry is
    /// claimed by popping it, a node's by claiming its waiter for its case.
    /// Stale nodes on the way are dropped.
    @inlinable
    mutating func popFirstClaimed() -> Entry? {
        while let entry = entries.popFirst() {
            guard let node = entry.node else { return entry }
            if node.owner.tryClaim(Waiter.selected(node.caseIndex)) {
                return entry
            }
        }
        return nil
    }

    /// Whether some entry could be claimed by an operation of `waiter`: its
    /// own nodes do not count, so a select never pairs with itself (rule 22).
    @inlinable
    func hasClaimable(otherThan waiter: Waiter) -> Bool {
        for entry in entries {
            guard let node = entry.node else { return true }
            let owner = node.owner
            if owner !== waiter && owner.isWaiting { return true }
        }
        return false
    }

    /// Removes and returns the entry of the cancelled `task`, if still queued.
    @inlinable
    mutating func removeTask(_ task: TaskIdentity) -> Entry? {
        // The pointer is never nil for a task; nodes carry `.none`.
        guard let index = entries.firstIndex(where: { $0.task == task }) else { return nil }
        return entries.remove(at: index)
    }

    /// A select that lost is done with `node`.
    @inlinable
    mutating func unregister(_ node: WaitNode) {
        // A short queue is searched, so it never keeps a stale entry at all.
        if entries.count <= 8 {
            if let index = entries.firstIndex(where: { $0.node == node }) {
                entries.remove(at: index)
            }
            return
        }
        unregistered += 1
        if unregistered >= 16 && unregistered * 2 >= entries.count {
            entries.removeAll { entry in
                guard let node = entry.node else { return false }
                return !node.owner.isWaiting
            }
            unregistered = 0
        }
    }

    /// Claims every entry that can be claimed and returns them; drops the rest.
    @inlinable
    mutating func claimAll() -> [Entry] {
        var claimed: [Entry] = []
        while let entry = popFirstClaimed() {
            claimed.append(entry)
        }
        unregistered = 0
        return claimed
    }
}
