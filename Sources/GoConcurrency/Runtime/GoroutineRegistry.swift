// Every live goroutine (Go's allgs), for NumGoroutine, goroutine dumps and
// deadlock detection: cheap enough to leave on.
//
// One registry per runtime, so that a runtime's deadlock check walks its own
// goroutines only. With one for the whole process, each check of a checked
// run walked every goroutine of every runtime: a process that had made
// thousands of checked runs, each leaving a goroutine parked for ever (they
// stay listed), spent minutes per thousand runs in the walk, and a check
// beside a server's 100,000 goroutines would have paid for all of them.
// Dumps and `NumGoroutine` still see the whole process: they gather the
// registries of every runtime (`all()`) and one process-wide count (`live`).
//
// Invariants:
// - A goroutine's record is in exactly one shard's list (shard = id & shardMask)
//   from `go` until its body returns; each shard's list and `count` are
//   protected by that shard's lock. Sharding keeps processors that start and
//   end goroutines at the same time off each other's lock.
// - `live` is the sum of the shards' counts, kept in one atomic for
//   `GoRuntime.goroutineCount`.
// - A list holds each of its records through exactly one strong reference,
//   taken by `add` and given up by `remove` (`passRetained` / `release`); the
//   links themselves (`head`, `next`, `previous`) are unretained words, so
//   relinking touches no reference count: the records next to one are often
//   another processor's, and a counted link cost four retains and releases
//   per goroutine.

import Synchronization

final class GoroutineRegistry: @unchecked Sendable {

    private final class Shard: @unchecked Sendable {
        let lock = Lock()
        var head: Unmanaged<Goroutine>?
    }

    /// The shards, for the life of the registry (its runtime's), held
    /// unretained so that reaching one touches no reference count: every
    /// processor starts and ends goroutines. A power of two.
    private let shards: UnsafeMutableBufferPointer<Unmanaged<Shard>>
    private let shardMask: Int

    /// A registry for a runtime that starts with `processors` processors:
    /// about two shards per processor, at most 16. A checked run's runtime
    /// (often one processor) keeps a small one: a process may make hundreds
    /// of thousands of them, and one whose goroutines stay parked keeps its
    /// registry for good.
    init(processors: Int) {
        var count = 2
        while count < 2 * processors && count < 16 { count *= 2 }
        shards = UnsafeMutableBufferPointer<Unmanaged<Shard>>.allocate(capacity: count)
        _ = shards.initialize(from: (0..<count).map { _ in Unmanaged.passRetained(Shard()) })
        shardMask = count - 1
    }
    /// Live goroutines on every runtime of the process.
    static let live = Atomic<Int>(0)

    deinit {
        // Its runtime is gone, and with it every record it listed (each
        // holds the runtime until it leaves the list): a record still listed
        // here belonged to a runtime that cannot end, and is let go with it.
        for shard in shards {
            var node = shard._withUnsafeGuaranteedRef { $0.head }
            while let current = node {
                node = current._withUnsafeGuaranteedRef { $0.next }
                current.release()
            }
            shard.release()
        }
        shards.deallocate()
    }

    func add(_ goroutine: Goroutine) {
        Scavenger.started(live: GoroutineRegistry.live.wrappingAdd(1, ordering: .relaxed).newValue)
        shards[goroutine.id & shardMask]._withUnsafeGuaranteedRef { shard in
            // The list's own reference to the record.
            let record = Unmanaged.passRetained(goroutine)
            shard.lock.lock()
            let head = shard.head
            head?._withUnsafeGuaranteedRef { $0.previous = record }
            goroutine.next = head
            goroutine.previous = nil
            shard.head = record
            shard.lock.unlock()
        }
    }

    func remove(_ goroutine: Goroutine) {
        shards[goroutine.id & shardMask]._withUnsafeGuaranteedRef { shard in
            shard.lock.lock()
            let next = goroutine.next.take()
            let previous = goroutine.previous.take()
            next?._withUnsafeGuaranteedRef { $0.previous = previous }
            if let previous {
                previous._withUnsafeGuaranteedRef { $0.next = next }
            } else {
                shard.head = next
            }
            shard.lock.unlock()
        }
        // The list's reference (never the last: the caller holds the record).
        Unmanaged.passUnretained(goroutine).release()
        GoroutineRegistry.live.wrappingSubtract(1, ordering: .relaxed)
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
                    current._withUnsafeGuaranteedRef { body($0) }
                    node = current._withUnsafeGuaranteedRef { $0.next }
                }
                shard.lock.unlock()
            }
        }
    }

    /// Every live goroutine's record on every runtime, in id order.
    static func all() -> [Goroutine] {
        var records: [Goroutine] = []
        for runtime in GoRuntime.allRuntimes() {
            runtime.goroutines.forEach { records.append($0) }
        }
        return records.sorted { $0.id < $1.id }
    }
}
