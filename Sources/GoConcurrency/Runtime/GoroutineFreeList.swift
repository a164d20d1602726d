// Ended goroutines' records, kept for the next `go` (Go's gFree lists).
//
// `go` makes a record on the starter's processor and the goroutine often
// ends on another one (stolen with half a queue), so a record freed by
// malloc was freed by a thread other than the one that made it: glibc then
// takes the maker's arena lock for each free while the maker takes it for
// each malloc. Kept and reused, a record crosses between processors in
// batches, one lock for `localLimit` records.
//
// Invariants:
// - A record is put here only by the task that ran its goroutine, after the
//   goroutine left the registry, when that task held its only reference
//   (`isKnownUniquelyReferenced`): nothing can reach it but this list.
// - Each processor keeps up to `localLimit` records of its own (owner thread
//   only, no lock) and then hands them all on as one batch; this
//   runtime-wide list holds such batches, at most `globalLimit` records
//   (beyond, records are freed: a burst of a million goroutines must not pin
//   their records for good).
// - `batchCount` is the number of batches, written under the lock; read
//   without it, it only spares a `go` that finds no batch the lock (as Go's
//   gfget looks at its global list before locking it), and a full list's
//   giver the batch: a batch given (or taken) meanwhile only makes a later
//   `go` find one (or a later giver keep its records).

import Synchronization

final class GoroutineFreeList: @unchecked Sendable {
    /// A processor keeps this many records, and then hands them all on as
    /// one batch.
    static let localLimit = 64
    static let globalLimit = 4_096

    /// Whole batches: an array moves in and out as one value, so its records
    /// are not retained and released one by one on the way.
    private let batches = Locked<[[Goroutine]]>([])
    private let batchCount = Atomic<Int>(0)

    /// Takes all of `local`, which is full, as one batch (beyond the limit,
    /// its records are freed).
    func give(from local: inout [Goroutine]) {
        if batchCount.load(ordering: .relaxed) >= GoroutineFreeList.globalLimit / GoroutineFreeList.localLimit {
            // Full (read without the lock, as `take` reads it): the records
            // are let go where they are, and the processor keeps its array's
            // buffer, where a batch would have cost a new one.
            local.removeAll(keepingCapacity: true)
            return
        }
        var batch: [Goroutine] = []
        batch.reserveCapacity(GoroutineFreeList.localLimit)
        swap(&batch, &local)
        batches.withLock { batches in
            if batches.count < GoroutineFreeList.globalLimit / GoroutineFreeList.localLimit {
                batches.append(batch)
                batchCount.store(batches.count, ordering: .relaxed)
            }
        }
    }

    /// Refills `local`, which is empty, with a batch; false if there was none.
    @inline(__always)
    func take(into local: inout [Goroutine]) -> Bool {
        if batchCount.load(ordering: .relaxed) == 0 { return false }
        return takeLocked(into: &local)
    }

    private func takeLocked(into local: inout [Goroutine]) -> Bool {
        let batch = batches.withLock { batches in
            let batch = batches.popLast()
            batchCount.store(batches.count, ordering: .relaxed)
            return batch
        }
        guard let batch else { return false }
        local = batch
        return true
    }
}
