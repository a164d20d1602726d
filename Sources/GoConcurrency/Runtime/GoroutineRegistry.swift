// Every live goroutine (Go's allgs), for NumGoroutine, goroutine dumps and
// deadlock detection: cheap enough to leave on.
//
// Invariants:
// - A goroutine's record is in exactly one shard's list (shard = id % count)
//   from `go` until its body returns; each shard's list and `count` are
//   protected by that shard's lock. Sharding keeps processors that start and
//   end goroutines at the same time off each other's lock.
// - `live` is the sum of the shards' counts, kept in one atomic for
//   `GoRuntime.goroutineCount`.
// - A list holds each of its records through exactly one strong reference
//   (the shard's `head` or the predecessor's `next`); `previous` links are
//   unretained. Adding and removing move those references rather than copy
//   them: the records next to one are often another processor's.

import Synchronization

final class GoroutineRegistry: @unchecked Sendable {
    static let shared = GoroutineRegistry()

    private final class Shard: @unchecked Sendable {
        let lock = Lock()
        var head: Goroutine?
    }

    private static let shardCount = 16
    /// The shards, for the life of the process (the registry is never
    /// deallocated), held unretained so that reaching one touches no
    /// reference count: every processor starts and ends goroutines.
    private let shards: UnsafeMutableBufferPointer<Unmanaged<Shard>> = {
        let shards = UnsafeMutableBufferPointer<Unmanaged<Shard>>.allocate(capacity: GoroutineRegistry.shardCount)
        _ = shards.initialize(from: (0..<GoroutineRegistry.shardCount).map { _ in Unmanaged.passRetained(Shard()) })
        return shards
    }()
    let live = Atomic<Int>(0)

    func add(_ goroutine: Goroutine) {
        Scavenger.started(live: live.add(1, ordering: .relaxed).newValue)
        shards[goroutine.id % GoroutineRegistry.shardCount]._withUnsafeGuaranteedRef { shard in
            shard.lock.lock()
            // The list's reference to the old head moves to the new record.
            let head = shard.head.take()
            head?.previous = Unmanaged.passUnretained(goroutine)
            goroutine.next = head
            shard.head = goroutine
            shard.lock.unlock()
        }
    }

    func remove(_ goroutine: Goroutine) {
        shards[goroutine.id % GoroutineRegistry.shardCount]._withUnsafeGuaranteedRef { shard in
            shard.lock.lock()
            // The record's reference to its successor moves to the link that
            // held the record, which releases the list's reference to it.
            let next = goroutine.next.take()
            let previous = goroutine.previous.take()
            next?.previous = previous
            if let previous {
                previous._withUnsafeGuaranteedRef { $0.next = next }
            } else {
                shard.head = next
            }
            shard.lock.unlock()
        }
        live.subtract(1, ordering: .relaxed)
    }

    /// Calls `body` with every live goroutine, each under its shard's lock
    /// (so it stays registered, and alive, during the call). `body` must not
    /// start or end goroutines.
    func forEach(_ body: (Goroutine) -> Void) {
        for shard in shards {
            shard._withUnsafeGuaranteedRef { shard in
                shard.lock.lock()
                var node = shard.head
                while let current = node {
                    body(current)
                    node = current.next
                }
                shard.lock.unlock()
            }
        }
    }

    /// Every live goroutine's record, in id order.
    func all() -> [Goroutine] {
        var records: [Goroutine] = []
        forEach { records.append($0) }
        return records.sorted { $0.id < $1.id }
    }
}
