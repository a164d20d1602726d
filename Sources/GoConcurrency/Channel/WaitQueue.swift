// A channel's FIFO of parked senders or receivers (Go's waitq).
//
// Invariants (the queue is protected by its channel's lock):
// - Entries are served first-in first-out (Guarantees, rule 4).
// - A parked task's entry is live until it is popped or removed, both under
//   the lock. A node's entry is *stale* once its waiter was claimed elsewhere
//   (its select chose another case, or the select was cancelled or timed out):
//   stale entries are skipped and dropped by whoever meets them.
// - A select that lost takes its nodes out by `unregister`, which counts them
//   and compacts the queue once they could be half of it. So removal is O(1)
//   amortised, a loop of selects does not grow memory (Guarantees, rule 25), and a lost
//   case never pairs with anyone (Guarantees, rule 23): its waiter cannot be claimed.
// - The first entry is kept apart from the others (`head`), and `head` is nil
//   only when `rest` is empty too: most queues hold no entry or one (a
//   ping-pong pair, a stream's one parked side), and then a park and its
//   hand-off touch no deque buffer and no uniqueness check.

import DequeModule

@usableFromInline
struct WaitQueue<Entry: ParkedOperation> {
    /// The first entry, if any.
    @usableFromInline var head: Entry?
    /// The entries after `head`, in order.
    @usableFromInline var rest = Deque<Entry>()
    /// Nodes unregistered since the last compaction: an upper bound on the
    /// stale entries still queued.
    @usableFromInline var unregistered = 0

    @inlinable
    init() {}

    /// Entries queued, stale ones included.
    @inlinable
    var count: Int { head == nil ? 0 : 1 + rest.count }

    @inlinable
    mutating func append(_ entry: Entry) {
        if head == nil {
            head = entry
        } else {
            rest.append(entry)
        }
    }

    @inlinable
    mutating func popFirst() -> Entry? {
        guard let first = head else { return nil }
        head = rest.isEmpty ? nil : rest.removeFirst()
        return first
    }

    /// Calls `body` with each entry, first to last, until it returns false.
    @inlinable
    func forEach(_ body: (Entry) -> Bool) {
        guard let head, body(head) else { return }
        for entry in rest where !body(entry) {
            return
        }
    }

    /// Pops entries from the front until one is claimed: a task's entry is
    /// claimed by popping it, a node's by claiming its waiter for its case.
    /// Stale nodes on the way are dropped.
    @inlinable
    mutating func popFirstClaimed() -> Entry? {
        while let entry = popFirst() {
            guard let node = entry.node else { return entry }
            if node.owner.tryClaim(Waiter.selected(node.caseIndex)) {
                return entry
            }
        }
        return nil
    }

    /// Whether some entry could be claimed by an operation of `waiter`: its
    /// own nodes do not count, so a select never pairs with itself (Guarantees, rule 22).
    @inlinable
    func hasClaimable(otherThan waiter: Waiter) -> Bool {
        var found = false
        forEach { entry in
            guard let node = entry.node else {
                found = true
                return false
            }
            let owner = node.owner
            found = owner !== waiter && owner.isWaiting
            return !found
        }
        return found
    }

    /// Removes and returns the entry of the cancelled `task`, if still queued.
    @inlinable
    mutating func removeTask(_ task: TaskIdentity) -> Entry? {
        // The task is never `.none`; nodes carry `.none`.
        if let head, head.task == task {
            return popFirst()
        }
        guard let index = rest.firstIndex(where: { $0.task == task }) else { return nil }
        return rest.remove(at: index)
    }

    /// A select that lost is done with `node`.
    @inlinable
    mutating func unregister(_ node: WaitNode) {
        if let head, head.node == node {
            _ = popFirst()
            return
        }
        // A short queue is searched, so it never keeps a stale entry at all.
        if rest.count <= 8 {
            if let index = rest.firstIndex(where: { $0.node == node }) {
                rest.remove(at: index)
            }
            return
        }
        unregistered += 1
        if unregistered >= 16 && unregistered * 2 >= rest.count {
            rest.removeAll { entry in
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
