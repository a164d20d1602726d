// A processor's local run queue (Go's runq): a ring of 256 job slots that its
// owner fills and empties without a lock, and that other processors steal
// half of.
//
// Invariants:
// - `tail` is written only by the owner; jobs live in the slots from `head`
//   (inclusive) to `tail` (exclusive), counted modulo 2^32 and stored at
//   index mod 256, so `tail - head` is between 0 and 256.
// - The owner puts a job by storing its slot and then `tail`, so whoever
//   loads `tail` (acquire) sees the slot. That store is sequentially
//   consistent, not just a release: the putter next reads the idle count to
//   decide whether to wake a processor, while a processor going idle raises
//   that count and then reads `tail`; only a full fence between each side's
//   write and read keeps both from missing the other (a wake-up lost until
//   the putter's job ends). Go's runqput gets the same from its store.
// - Anyone takes jobs (the owner one, a thief half) by reading their slots
//   and then moving `head` past them with a compare-and-swap; a reader whose
//   swap fails took nothing and read slots that may since have been reused,
//   which is why slots are atomics, read and written relaxed.
// - A thief writes the jobs it takes into its own ring beyond its own `tail`
//   before its swap on the victim's `head`, and publishes them (all but the
//   one it runs) by storing its `tail` after: a stolen job is in one ring at
//   every moment but that window, during which the thief is running, not
//   idle, so the deadlock check (which waits for every processor to be idle)
//   cannot miss it.
// - When the ring is full, the owner moves half of it and the new job to the
//   global queue in one batch (Go's runqputslow).

import Synchronization

final class LocalRunQueue: @unchecked Sendable {
    static let capacity: UInt32 = 256

    private let head = Atomic<UInt32>(0)
    private let tail = Atomic<UInt32>(0)
    private let slots: UnsafeMutablePointer<Atomic<UInt>>

    init() {
        slots = .allocate(capacity: Int(LocalRunQueue.capacity))
        for index in 0..<Int(LocalRunQueue.capacity) {
            (slots + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        slots.deinitialize(count: Int(LocalRunQueue.capacity))
        slots.deallocate()
    }

    private func slot(_ position: UInt32) -> UnsafeMutablePointer<Atomic<UInt>> {
        slots + Int(position & (LocalRunQueue.capacity - 1))
    }

    /// How many jobs are queued (any thread; exact only when nobody is
    /// putting or taking).
    var count: Int {
        let first = head.load(ordering: .sequentiallyConsistent)
        let end = tail.load(ordering: .sequentiallyConsistent)
        return Int(end &- first)  // `head` was read first, so this is not negative
    }

    /// Owner only: queues `job` at the tail. If the ring is full, returns the
    /// jobs the caller must put on the global queue instead: the older half
    /// of the ring, then `job`.
    func put(_ job: UInt) -> [UInt]? {
        while true {
            let first = head.load(ordering: .acquiring)
            let end = tail.load(ordering: .relaxed)
            if end &- first < LocalRunQueue.capacity {
                slot(end).pointee.store(job, ordering: .relaxed)
                tail.store(end &+ 1, ordering: .sequentiallyConsistent)
                return nil
            }
            let half = (end &- first) / 2
            var overflow: [UInt] = []
            overflow.reserveCapacity(Int(half) + 1)
            for offset in 0..<half {
                overflow.append(slot(first &+ offset).pointee.load(ordering: .relaxed))
            }
            if head.compareExchange(expected: first, desired: first &+ half, ordering: .acquiringAndReleasing).exchanged {
                overflow.append(job)
                return overflow
            }
            // A thief took some meanwhile: there may be room now.
        }
    }

    /// Owner only: puts `count` jobs, each one `next()` gives, and publishes
    /// them with one store of `tail` (a batch from the global queue, taken
    /// under its lock: one fence, not one per job). Traps if they do not fit,
    /// which the caller rules out (a batch is at most half a ring, taken into
    /// an empty one); thieves only ever make room.
    func putBatch(count: Int, _ next: () -> UInt) {
        let first = head.load(ordering: .acquiring)
        let end = tail.load(ordering: .relaxed)
        precondition(Int(LocalRunQueue.capacity) - Int(end &- first) >= count,
                     "GoRuntime: a batch from the global queue overflowed a local queue")
        for offset in 0..<UInt32(count) {
            slot(end &+ offset).pointee.store(next(), ordering: .relaxed)
        }
        tail.store(end &+ UInt32(count), ordering: .sequentiallyConsistent)
    }

    /// Owner only: takes the job at the head.
    func take() -> UInt? {
        while true {
            let first = head.load(ordering: .acquiring)
            let end = tail.load(ordering: .relaxed)
            if end == first { return nil }
            let job = slot(first).pointee.load(ordering: .relaxed)
            if head.compareExchange(expected: first, desired: first &+ 1, ordering: .acquiringAndReleasing).exchanged {
                return job
            }
        }
    }

    /// A thief's call, on the victim's queue: moves the older half (rounded
    /// up) of it into `thief`, the thief's own queue, which must be empty.
    /// Returns one of the jobs, for the thief to run now, and how many it took
    /// in all; nil if there was nothing.
    func stealHalf(into thief: LocalRunQueue) -> (job: UInt, taken: Int)? {
        let thiefEnd = thief.tail.load(ordering: .relaxed)
        while true {
            let first = head.load(ordering: .acquiring)
            let end = tail.load(ordering: .acquiring)
            let queued = end &- first
            let taking = queued - queued / 2
            if taking == 0 { return nil }
            if taking > LocalRunQueue.capacity / 2 { continue }  // head and tail read at different moments
            for offset in 0..<taking {
                let job = slot(first &+ offset).pointee.load(ordering: .relaxed)
                thief.slot(thiefEnd &+ offset).pointee.store(job, ordering: .relaxed)
            }
            guard head.compareExchange(expected: first, desired: first &+ taking, ordering: .acquiringAndReleasing).exchanged else {
                continue
            }
            let last = thiefEnd &+ (taking - 1)
            let job = thief.slot(last).pointee.load(ordering: .relaxed)
            if taking > 1 {
                thief.tail.store(last, ordering: .releasing)
            }
            return (job, Int(taking))
        }
    }

    /// Any thread, for goroutine dumps: calls `body` with each job queued
    /// now. Without a lock, so only a snapshot: a job taken meanwhile may be
    /// listed, one put meanwhile missed, and a slot reused meanwhile read.
    func forEachQueued(_ body: (UInt) -> Void) {
        let first = head.load(ordering: .acquiring)
        let end = tail.load(ordering: .acquiring)
        let queued = min(end &- first, LocalRunQueue.capacity)  // head and tail read at different moments
        for offset in 0..<queued {
            body(slot(first &+ offset).pointee.load(ordering: .relaxed))
        }
    }
}
