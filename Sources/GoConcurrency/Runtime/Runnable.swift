// What a run queue holds: a job of a task (a goroutine's first run or a
// resumption, or any other job on the runtime), or a goroutine that `go`
// started and that has no task yet.
//
// Invariants:
// - One word: a job's address, or a goroutine record's address with bit 0
//   set (records, like every Swift object, are at least 8-byte aligned, and
//   so are jobs, whose bit 0 is therefore always clear).
// - A goroutine entry owns one strong reference to its record, taken when
//   `go` queued it and given up by whoever takes the entry to start it.
//
// Why goroutines wait without a task: Go's `go` statement makes a goroutine
// and queues it; it runs later. Making its Swift task then, at `go`, costs a
// task and the first slab of its allocator (about 1.3 KB, two mallocs) for
// every goroutine queued, though most of a burst of `go` statements only run
// later, one at a time, on whichever processor takes them. Queued as a
// record, a goroutine costs its record alone until a processor starts it,
// and the task is then made on the thread that runs it (and usually frees
// it): see `Processor.startGoroutine(_:)` and `runGoroutines` for how one task then
// runs goroutine after goroutine.

struct Runnable {
    let bits: UInt

    init(job: UnownedJob) {
        bits = UInt(bitPattern: SwiftRuntimeABI.address(of: job))
    }

    /// A goroutine to start; the entry holds it retained.
    init(starting goroutine: Goroutine) {
        bits = UInt(bitPattern: Unmanaged.passRetained(goroutine).toOpaque()) | 1
    }

    init(bits: UInt) {
        self.bits = bits
    }

    /// Whether it is a goroutine with no task yet.
    var isGoroutine: Bool { bits & 1 != 0 }

    /// The job (only for an entry that is one).
    var job: UnownedJob {
        SwiftRuntimeABI.job(at: UnsafeRawPointer(bitPattern: bits).unsafelyUnwrapped)
    }

    /// The goroutine to start, with the entry's reference (only for an entry
    /// that is one; called once, by whoever starts it).
    func takeGoroutine() -> Goroutine {
        Unmanaged<Goroutine>.fromOpaque(UnsafeRawPointer(bitPattern: bits & ~1).unsafelyUnwrapped).takeRetainedValue()
    }
}
