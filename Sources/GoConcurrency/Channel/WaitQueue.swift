// A channel's FIFO of parked senders or receivers (Go's waitq).
//
// Invariants (the queue is protected by its channel's lock):
// - Entries are served first-in first-out (Guarantees, rule 4).
// - A parked task's entry is live until it is popped or removed, both under
//   the lock. A node's entry is *stale* once its waiter was claimed elsewhere
//   (its select chose another case, or the select was cancelled or timed out):
//   stale entries are skipped and dropped by whoever meets them.
// - Every position has a ticket: the entry at position p (0 is `head`) has
//   ticket `headTicket + p`; every pop moves `headTicket` on by one. The
//   tickets of tasks that can be cancelled are listed in `tickets` (goroutines'
//   root tasks, and so the hot paths, never are). A cancellation finds its
//   entry by its ticket and takes it out in O(1), whatever the queue's length
//   (Go unlinks a cancelled waiter from its doubly-linked queue): the entry is
//   overwritten in place by a *removed* entry, so no other entry moves and
//   every ticket stays right. A pop does not touch `tickets`: a listed ticket
//   below `headTicket` is a popped entry's (its task was resumed by whoever
//   popped it, and its cancellation finds nothing to take back); such tickets
//   are pruned when they could outnumber the queue, at the next listing.
// - A removed entry is a node of `Waiter.removedEntry`, a waiter claimed for
//   good: it is stale from the start, so the pops, `hasClaimable` and the
//   compaction skip and drop it as they do a lost select's node, and the hot
//   paths carry no test of their own for it.
// - A select that lost takes its nodes out by `unregister`: a short queue's
//   node is overwritten as removed, a long queue's is left stale. Both are
//   counted in `unregistered`; once stale entries could be half of the queue,
//   it is compacted and the listed tickets renumbered, O(n) once n/2 entries
//   are stale. So removal is O(1) amortised, a loop of selects or
//   cancellations does not grow memory (Guarantees, rule 25), and a lost case never pairs
//   with anyone (Guarantees, rule 23): its waiter cannot be claimed.
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
    /// Nodes unregistered and entries removed since the last compaction: an
    /// upper bound on the stale entries still queued.
    @usableFromInline var unregistered = 0
    /// The ticket of position 0 (`head`).
    @usableFromInline var headTicket = 0
    /// The tickets of tasks that can be cancelled: of every such task queued,
    /// and of some popped ones (below `headTicket`).
    @usableFromInline var tickets: [TaskIdentity: Int] = [:]
    /// Entries looked at by the removals of cancelled tasks and by
    /// compactions: what tests count to see that a removal does not grow
    /// with the queue.
    @usableFromInline var removalSteps = 0

    @inlinable
    init() {}

    /// Entries queued, stale and removed ones included.
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

    /// Appends the entry of a task that can be cancelled: `removeTask` can
    /// take it out. Out of line: the dictionary's code stays off the park
    /// it is called from.
    @inlinable @inline(never)
    mutating func appendCancellable(_ entry: Entry) {
        if tickets.count >= 16 && tickets.count > 2 * count {
            pruneTickets()
        }
        tickets[entry.task] = headTicket &+ (head == nil ? 0 : 1 + rest.count)
        append(entry)
    }

    /// Forgets the tickets of popped entries.
    @usableFromInline
    mutating func pruneTickets() {
        removalSteps += tickets.count
        let first = headTicket
        tickets = tickets.filter { $0.value >= first }
    }

    /// Pops the first entry, stale or not.
    @inlinable
    mutating func popFirst() -> Entry? {
        guard let first = head else { return nil }
        head = rest.isEmpty ? nil : rest.removeFirst()
        headTicket &+= 1
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
    /// Stale nodes (removed entries too) on the way are dropped.
    @inlinable
    mutating func popFirstClaimed() -> Entry? {
        while let entry = popFirst() {
            guard let node = entry.node else { return entry }
            if node.owner.tryClaim(.selected(node.caseIndex)) {
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

    /// Removes and returns the entry of the cancelled `task`, if still queued:
    /// found by its ticket, in O(1) whatever the queue's length.
    @inlinable
    mutating func removeTask(_ task: TaskIdentity) -> Entry? {
        guard let ticket = tickets.removeValue(forKey: task) else { return nil }
        removalSteps += 1
        let position = ticket &- headTicket
        if position < 0 { return nil }  // popped already: resumed by its partner
        assert(position <= rest.count, "GoConcurrency: a wait queue's ticket points past its end")
        if position == 0 {
            return popFirst()
        }
        let entry = rest[position - 1]
        rest[position - 1] = Entry.removed
        unregistered += 1
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
            }
            return
        }
        unregistered += 1
        compactIfMostlyStale()
    }

    /// Compacts once stale entries could be half of the queue.
    @inlinable
    mutating func compactIfMostlyStale() {
        if unregistered >= 16 && unregistered * 2 >= rest.count {
            compact()
        }
    }

    /// Drops every stale entry (removed ones too) after `head`, and renumbers
    /// the tickets of the tasks that move (forgetting those of popped entries).
    @usableFromInline
    mutating func compact() {
        removalSteps += rest.count
        rest.removeAll { entry in
            guard let node = entry.node else { return false }
            return !node.owner.isWaiting
        }
        unregistered = 0
        if tickets.isEmpty { return }
        var renumbered: [TaskIdentity: Int] = [:]
        if let head, head.node == nil, tickets[head.task] == headTicket {
            renumbered[head.task] = headTicket
        }
        for (offset, entry) in rest.enumerated() where entry.node == nil {
            let task = entry.task
            if let ticket = tickets[task], ticket > headTicket {  // queued, not a popped one's
                renumbered[task] = headTicket &+ 1 &+ offset
            }
        }
        tickets = renumbered
    }

    /// Claims every entry that can be claimed and returns them; drops the rest.
    @inlinable
    mutating func claimAll() -> [Entry] {
        var claimed: [Entry] = []
        while let entry = popFirstClaimed() {
            claimed.append(entry)
        }
        unregistered = 0
        tickets = [:]
        return claimed
    }
}
