// A channel's FIFO of parked senders or receivers: an intrusive doubly linked
// list, so that a select's losing cases and cancelled operations leave in O(1)
// (Go's waitq and dequeueSudoG do the same; see rule 23 and 25).
//
// Invariants (the queue is protected by its channel's lock):
// - `head` strongly holds the first node, each node its `next`; `tail` and
//   `previous` are unowned and always point to nodes the chain holds.
// - A node is in at most one queue, and `isLinked` says whether it is.
// - A queued node may have been claimed elsewhere (its select won on another
//   channel, or its task was cancelled): such nodes are *stale* and are dropped
//   by whoever meets them first.

@usableFromInline
struct WaitQueue<Element> {
    @usableFromInline typealias Node = ChannelWaitNode<Element>

    @usableFromInline var head: Node?
    @usableFromInline unowned(unsafe) var tail: Node?

    @inlinable
    init() {}

    @inlinable
    var isEmpty: Bool { head == nil }

    @inlinable
    mutating func append(_ node: Node) {
        node.isLinked = true
        node.next = nil
        node.previous = tail
        if let tail {
            tail.next = node
        } else {
            head = node
        }
        tail = node
    }

    /// Unlinks `node` if it is still queued here.
    @inlinable
    mutating func remove(_ node: Node) {
        guard node.isLinked else { return }
        node.isLinked = false
        let next = node.next
        if let previous = node.previous {
            previous.next = next
        } else {
            head = next
        }
        if let next {
            next.previous = node.previous
        } else {
            tail = node.previous
        }
        node.next = nil
        node.previous = nil
    }

    @inlinable
    mutating func popFirst() -> Node? {
        guard let first = head else { return nil }
        remove(first)
        return first
    }

    /// Pops nodes from the front until one can be claimed for its case, and
    /// returns it claimed; stale nodes on the way are dropped.
    @inlinable
    mutating func popFirstClaimed() -> Node? {
        while let node = popFirst() {
            if node.waiter.tryClaim(Waiter.selected(node.caseIndex)) {
                return node
            }
        }
        return nil
    }

    /// Whether some queued node of a waiter other than `waiter` could still be
    /// claimed. Drops stale nodes it meets; skips `waiter`'s own nodes, so a
    /// select never pairs with itself (rule 22).
    @inlinable
    mutating func hasClaimable(otherThan waiter: Waiter) -> Bool {
        var node = head
        while let current = node {
            node = current.next
            let owner = current.waiter
            if owner === waiter { continue }
            if owner.isWaiting { return true }
            remove(current)
        }
        return false
    }

    /// Claims every node that can still be claimed and returns them; drops the rest.
    @inlinable
    mutating func claimAll() -> [Node] {
        var claimed: [Node] = []
        while let node = popFirstClaimed() {
            claimed.append(node)
        }
        return claimed
    }
}
