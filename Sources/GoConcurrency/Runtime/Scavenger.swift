// Giving memory back after a spike (what Go's scavenger does for its heap).
//
// A burst of goroutines (100,000 parked at once, say) costs a few kilobytes
// each: the task, its first allocator slab, the record. When they end, their
// memory goes back to malloc, and glibc keeps it: the process stays at its
// peak (about 400 MB after 100,000) until `malloc_trim` hands the free pages
// back to the system. So the runtime trims when it goes idle after a spike:
// the last processor of a runtime to park, with nothing to run, finds the
// number of live goroutines far below the peak seen since the last trim.
//
// Off the hot path: `go` only notes the count every 1,024 goroutines (a mask
// test on the count it already keeps), and the check costs a few relaxed
// loads on the way to a park; the trim itself (a pass over malloc's heap,
// milliseconds after a big spike) runs on a processor with nothing to do.
// Trims are paid for by goroutines, not rationed by a clock: the first of a
// spike needs the count to have fallen by `minimumDrop` and to a quarter of
// the peak, which resets the peak; each later one needs the count to have
// fallen to a quarter of what was left at the trim before. So one spike costs
// a few trims at most (one more each time what is left falls to a quarter),
// a new one needs `minimumDrop` goroutines more first, and the last processor
// to park when the spike is over always finds the trim it needs (a rate limit
// by time could refuse it, and nothing would ask again). The later trims
// matter when a spike ends slowly: goroutines released one by one from
// outside left the processors idle between them, the first trim came with
// 7,000 still alive, and what those freed afterwards stayed with the process
// (135 MB kept of 468, against 30-64 when the first trim came last).
// Only with glibc; elsewhere nothing happens.
//
// Invariants:
// - `peak` is at least the largest multiple of `sampleEvery` the live count
//   reached since the last trim, which resets it to the count then.
// - `leftAtTrim` is the live count at the last trim while goroutines of its
//   spike were still alive, 0 once one found none.
// - One trim at a time (`trimming`).

import Synchronization

#if canImport(Glibc)
/// glibc's `malloc_trim` (malloc.h, which the Glibc module does not export):
/// hands free pages of every arena back to the system.
@_silgen_name("malloc_trim")
private func mallocTrim(_ pad: Int) -> Int32
#endif

enum Scavenger {
    /// How often (in goroutines started) the live count is compared with
    /// the peak: a power of two.
    static let sampleEvery = 1_024
    /// A spike worth trimming after: this many goroutines more at the peak
    /// than now, and now at most a quarter of the peak.
    static let minimumDrop = 8_192
    private static let peak = Atomic<Int>(0)
    private static let leftAtTrim = Atomic<Int>(0)
    private static let trimming = Atomic<Bool>(false)
    /// Trims done, for tests.
    static let trims = Atomic<Int>(0)

    /// Called by `go` with the live count it just made: notes a new peak.
    @inline(__always)
    static func started(live: Int) {
        if live & (sampleEvery - 1) == 0, live > peak.load(ordering: .relaxed) {
            peak.store(live, ordering: .relaxed)
        }
    }

    /// Called by a processor of `runtime` about to park with nothing to run,
    /// listed idle: trims if it is the runtime's last to park and the spike
    /// is over.
    static func processorParks(in runtime: GoRuntime) {
        let highest = peak.load(ordering: .relaxed)
        let left = leftAtTrim.load(ordering: .relaxed)
        if highest < minimumDrop && left == 0 { return }
        let live = GoroutineRegistry.live.load(ordering: .relaxed)
        let spikeOver = highest >= minimumDrop && highest - live >= minimumDrop && live <= highest / 4
        let restOfSpikeOver = left > 0 && live <= left / 4
        guard spikeOver || restOfSpikeOver,
              runtime.idleCount.load(ordering: .relaxed) >= runtime.activeCount.load(ordering: .relaxed)
        else { return }
        guard !trimming.exchange(true, ordering: .acquiring) else { return }
        peak.store(live, ordering: .relaxed)
        leftAtTrim.store(live, ordering: .relaxed)
        #if canImport(Glibc)
        // The records the runtime keeps for reuse were made during the spike,
        // spread over its pages: each would keep a page from going back.
        var kept: [Goroutine] = []
        while runtime.freeRecords.take(into: &kept) { kept.removeAll() }
        _ = mallocTrim(0)
        trims.add(1, ordering: .relaxed)
        #endif
        trimming.store(false, ordering: .releasing)
    }
}
