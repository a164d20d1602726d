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

import Synchronization

final class GoroutineRegistry: @unchecked Sendable {
    static let shared = GoroutineRegistry()

    private final class Shard: @unchecked Sendable {
        let lock = Lock()
        var head: Goroutine?
    }

    private static let shardCount = 16
    private let shards = (0..<GoroutineRegistry.shardCount).map { _ in Shard() }
    let live = Atomic<Int>(0)

    func add(_ goroutine: Goroutine) {
        live.add(1, ordering: .relaxed)
        let shard = shards[goroutine.id % GoroutineRegistry.shardCount]
        shard.lock.lock()
        goroutine.next = shard.head
        shard.head?.previous = goroutine
        shard.head = goroutine
        shard.lock.unlock()
    }

    func remove(_ goroutine: Goroutine) {
        let shard = shards[goroutine.id % GoroutineRegistry.shardCount]
        shard.lock.lock()
        let next = goroutine.next
        if let previous = goroutine.previous {
            previous.next = next
        } else {
            shard.head = next
        }
        next?.previous = goroutine.previous
        goroutine.previous = nil
        goroutine.next = nil
        shard.lock.unlock()
        live.subtract(1, ordering: .relaxed)
    }

    /// Calls `body` with every live goroutine, each under its shard's lock
    /// (so it stays registered, and alive, during the call). `body` must not
    /// start or end goroutines.
    func forEach(_ body: (Goroutine) -> Void) {
        for shard in shards {
            shard.lock.lock()
            var node = shard.head
            while let current = node {
                body(current)
                node = current.next
            }
            shard.lock.unlock()
        }
    }

    /// Every live goroutine's record, in id order.
    func all() -> [Goroutine] {
        var records: [Goroutine] = []
        forEach { records.append($0) }
        return records.sorted { $0.id < $1.id }
    }
}
