// A channel's FIFO of parked senders or receivers (Go's waitq).
//
// Invariants (the queue is protected by its channel's lock):
// - Entries are served first-in first-out (rule 4).
// - A parked task's entry is live until it is popped or removed, both under
//   the lock. A node's entry is *stale* once its waiter was claimed elsewhere
//   (its select chose another case, or the select was cancelled or timed out):
//   stale entries are skipped and dropped by whoever meets them.
// - Every position has a ticket: the entry at position p (0 is `head`) has
//   ticket `headTicket + p`; a pop moves `headTicket` on by one while any
//   task is listed or any entry removed (otherwise no ticket is in use, and
//   the hot paths leave it alone). A task that
//   can be cancelled is listed in `tickets` from its append until its entry
//   leaves the queue, so its cancellation finds the entry by its ticket and
//   takes it out in O(1) (Go unlinks a cancelled waiter from its doubly-linked
//   queue): the entry is overwritten in place by a *removed* entry, so no
//   other entry moves and every ticket stays right. Tasks that cannot be
//   cancelled (a goroutine's root task, every hot path) are never listed.
// - `head` is never a removed entry: a pop that would uncover one drops it.
// - A select that lost takes its nodes out by `unregister`: a short queue's
//   node is overwritten as removed, a long queue's is left stale and counted.
//   Once stale and removed entries could be half of the queue, it is compacted
//   and the listed tickets renumbered, O(n) once n/2 entries are dead. So
//   removal is O(1) amortised, a loop of selects or cancellations does not
//   grow memory (rule 25), and a lost case never pairs with anyone (rule 23):
//   its waiter cannot be claimed.
// - The first entry is kept apart from the others (`head`), and `head` is nil
//   only when `rest` is empty too: most queues hold no entry or one (a
//   ping-pong pair, a stream's one parked side), and then a park and its
//   hand-off touch no deque buffer and no uniqueness check.

import DequeModule

@usableFromInline
struct WaitQueue<Entry: ParkedOperation> {
    /// The first entry, if any.
    @usableFromInline var head: Entry?
    /// The entries after `head`, in order, removed ones included.
    @usableFromInline var rest = Deque<Entry>()
    /// Nodes unregistered but left queued since the last compaction: an
    /// upper bound on the stale entries still queued.
    @usableFromInline var unregistered = 0
    /// Removed entries in `rest`.
    @usableFromInline var removed = 0
    /// The ticket of position 0 (`head`).
    @usableFromInline var headTicket = 0
    /// The ticket of each queued task that can be cancelled.
    @usableFromInline var tickets: [TaskIdentity: Int] = [:]
    /// How many tasks `tickets` lists: read by every pop, which must not
    /// touch the dictionary when it is empty.
    @usableFromInline var listed = 0
    /// Entries looked at by the removals of cancelled tasks and by
    /// compactions: what tests count to see that a removal does not grow
    /// with the queue.
    @usableFromInline var removalSteps = 0

    @inlinable
    init() {}

    /// Entries queued, stale ones included, removed ones not.
    @inlinable
    var count: Int { head == nil ? 0 : 1 + rest.count - removed }

    @inlinable
    mutating func append(_ entry: Entry) {
        if head == nil {
            head = entry
        } else {
            rest.append(entry)
        }
    }

    /// Appends the entry of a task that can be cancelled: `removeTask` can
    /// take it out.
    @inlinable
    mutating func appendCancellable(_ entry: Entry) {
        tickets[entry.task] = headTicket &+ (head == nil ? 0 : 1 + rest.count)
        listed += 1
        append(entry)
    }

    @inlinable
    mutating func popFirst() -> Entry? {
        guard let first = head else { return nil }
        head = rest.isEmpty ? nil : rest.removeFirst()
        if removed != 0 || listed != 0 { popped(first) }
        return first
    }

    /// After a pop in a queue with removed entries or listed tasks: the
    /// tickets move on by one, the popped `entry` is no longer listed, and
    /// the removed entries the pop uncovered are dropped, so `head` is live
    /// again. Out of line: the hot paths (no task that can be cancelled,
    /// nothing removed) never come here, and there no ticket is in use, so
    /// `headTicket` need not move.
    @inlinable @inline(never)
    mutating func popped(_ entry: Entry) {
        headTicket &+= 1
        if listed != 0, entry.node == nil, tickets.removeValue(forKey: entry.task) != nil {
            listed -= 1
        }
        while removed != 0, let next = head, next.isRemoved {
            removed -= 1
            head = rest.isEmpty ? nil : rest.removeFirst()
            headTicket &+= 1
        }
    }

    /// Calls `body` with each entry, first to last, until it returns false.
    /// Removed entries are skipped.
    @inlinable
    func forEach(_ body: (Entry) -> Bool) {
        guard let head, body(head) else { return }
        for entry in rest where !entry.isRemoved && !body(entry) {
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
    /// own nodes do not count, so a select never pairs with itself (rule 22).
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

    /// Removes and returns the entry of the cancelled `task`, if still queued:
    /// found by its ticket, in O(1) whatever the queue's length.
    @inlinable
    mutating func removeTask(_ task: TaskIdentity) -> Entry? {
        guard listed != 0, let ticket = tickets.removeValue(forKey: task) else { return nil }
        listed -= 1
        removalSteps += 1
        let position = ticket &- headTicket
        if position == 0 {
            return popFirst()
        }
        assert(position > 0 && position <= rest.count, "GoConcurrency: a wait queue's ticket points outside it")
        let entry = rest[position - 1]
        rest[position - 1] = Entry.removed
        removed += 1
        compactIfMostlyStale()
        return entry
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
                rest[index] = Entry.removed
                removed += 1
            }
            return
        }
        unregistered += 1
        compactIfMostlyStale()
    }

    /// Compacts once stale and removed entries could be half of the queue.
    @inlinable
    mutating func compactIfMostlyStale() {
        let dead = unregistered + removed
        if dead >= 16 && dead * 2 >= rest.count {
            compact()
        }
    }

    /// Drops every removed and stale entry after `head`, and renumbers the
    /// tickets of the tasks that move.
    @usableFromInline
    mutating func compact() {
        removalSteps += rest.count
        rest.removeAll { entry in
            if entry.isRemoved { return true }
            guard let node = entry.node else { return false }
            return !node.owner.isWaiting
        }
        unregistered = 0
        removed = 0
        if listed == 0 { return }
        for (offset, entry) in rest.enumerated() where entry.node == nil {
            let task = entry.task
            if tickets[task] != nil {
                tickets[task] = headTicket &+ 1 &+ offset
            }
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
