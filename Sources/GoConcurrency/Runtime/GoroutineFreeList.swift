// Ended goroutines' records, kept for the next `go` (Go's gFree lists).
//
// `go` makes a record on the starter's processor and the goroutine often
// ends on another one (stolen with half a queue), so a record freed by
// malloc was freed by a thread other than the one that made it: glibc then
// takes the maker's arena lock for each free while the maker takes it for
// each malloc. Kept and reused, a record crosses between processors in
// batches, one lock for `batch` records.
//
// Invariants:
// - A record is put here only by the task that ran its goroutine, after the
//   goroutine left the registry, when that task held its only reference
//   (`isKnownUniquelyReferenced`): nothing can reach it but this list.
// - Each processor keeps up to `localLimit` records of its own (owner thread
//   only, no lock); this runtime-wide list holds batches moved between
//   processors, at most `globalLimit` records (beyond, records are freed: a
//   burst of a million goroutines must not pin their records for good).

final class GoroutineFreeList: @unchecked Sendable {
    static let localLimit = 64
    static let batch = 32
    static let globalLimit = 4_096

    private let records = Locked<[Goroutine]>([])

    /// Takes a batch from `local`, which is full.
    func give(from local: inout [Goroutine]) {
        let moved = local.suffix(GoroutineFreeList.batch)
        local.removeLast(moved.count)
        records.withLock { records in
            if records.count + moved.count <= GoroutineFreeList.globalLimit {
                records.append(contentsOf: moved)
            }
        }
    }

    /// Refills `local`, which is empty, with up to a batch; false if there
    /// was none.
    func take(into local: inout [Goroutine]) -> Bool {
        records.withLock { records in
            let taken = records.suffix(GoroutineFreeList.batch)
            local.append(contentsOf: taken)
            records.removeLast(taken.count)
        }
        return !local.isEmpty
    }
}
