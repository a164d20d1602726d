// GOMAXPROCS: read from the environment as Go reads it, changed at run time
// (processors started, or retired: see `ProcessorHandOff`), and the table of
// processors (`peers`) that grows with it.

import DequeModule
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension GoRuntime {
    /// GOMAXPROCS at start: the `GOMAXPROCS` environment variable, or the
    /// usable cores.
    public static var defaultProcessorCount: Int {
        processorCount(fromEnvironment: getenv("GOMAXPROCS").map { String(cString: $0) }) ?? usableCores
    }

    /// GOMAXPROCS as Go reads it from the environment: a decimal number (an
    /// optional minus sign and digits, nothing else, within 32 bits) greater
    /// than 0. Anything else (empty, `abc`, `0`, `-3`, ` 4`) is ignored: nil.
    static func processorCount(fromEnvironment value: String?) -> Int? {
        guard var digits = value?.utf8[...] else { return nil }
        let negative = digits.first == UInt8(ascii: "-")
        if negative { digits = digits.dropFirst() }
        guard !digits.isEmpty, digits.count <= 10,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let count = digits.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
        guard count <= Int(Int32.max), !negative, count > 0 else { return nil }
        return count
    }

    /// The number of cores this process may run on.
    public static var usableCores: Int {
        max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// GOMAXPROCS: the number of logical processors that run goroutines.
    ///
    /// Setting it at run time (Go: `runtime.GOMAXPROCS(n)`) starts processors
    /// or retires some. A retired processor finishes the job it is running,
    /// moves what it had queued to the global queue and sleeps until the count
    /// grows again; from the moment the setter returns it starts no other job
    /// (one it was taking meanwhile, by stealing, goes to the global queue).
    /// A goroutine that lowers the count goes on running on its processor
    /// until it next parks, even if that processor retires; from a goroutine,
    /// ``setProcessorCount(_:)`` also moves the caller onto an active
    /// processor, as Go's stop-the-world does.
    ///
    /// Any count from 1 up works (each processor has a thread of its own,
    /// counted against ``maxThreads``).
    ///
    /// - Precondition: `newValue >= 1`; 0 or less ends the program with a
    ///   panic (a setter cannot query: ``setProcessorCount(_:)`` with 0 does).
    public var processorCount: Int {
        get { activeCount.load(ordering: .acquiring) }
        set {
            if newValue < 1 {
                goPanic("GOMAXPROCS: processorCount must be at least 1, got \(newValue)",
                        detail: "To read GOMAXPROCS, read processorCount or call setProcessorCount(0), which changes nothing, as Go's runtime.GOMAXPROCS(0) does.")
            }
            changeProcessorCount(newValue)
        }
    }

    /// Sets GOMAXPROCS (``processorCount``) from a goroutine the way Go's
    /// `runtime.GOMAXPROCS(n)` does, and returns the previous value: when the
    /// call returns, the caller runs on one of the `count` active processors,
    /// so the goroutines it starts next are scheduled there in Go's order
    /// (the last started runs first, from `runnext`). A `count` of 0 or less
    /// changes nothing: `setProcessorCount(0)` reads GOMAXPROCS, as Go's
    /// `runtime.GOMAXPROCS(0)` does.
    @discardableResult
    public func setProcessorCount(_ count: Int) async -> Int {
        if count < 1 { return processorCount }
        let previous = changeProcessorCount(count)
        if let processor = Processor.current, processor.runtime === self, !processor.isActive {
            // To the back of this processor's queue, which it hands to the
            // global queue as it retires; an active processor picks it up.
            await GoRuntime.yield()
        }
        return previous
    }

    /// Sets GOMAXPROCS to `count` (at least 1); returns the previous value.
    @discardableResult
    func changeProcessorCount(_ count: Int) -> Int {
        processorList.withLock { processors in
            // An ended runtime stays at 0 processors (see `end`).
            if hasEnded { return activeCount.load(ordering: .relaxed) }
            let previous = activeCount.load(ordering: .relaxed)
            if count > processors.count {
                let threads = threadCount.load(ordering: .relaxed) + count - processors.count
                if threads > maxThreads {
                    goFatal("thread exhaustion",
                            detail: "GOMAXPROCS \(count) needs \(threads) threads, past maxThreads (\(maxThreads)): each processor runs on a thread of its own.")
                }
                growPeerTable(to: count)
            }
            let made = processors.count
            var started: [Processor] = []
            while processors.count < count {
                let processor = Processor(id: processors.count, runtime: self)
                peers[processor.id] = Unmanaged.passUnretained(processor)
                processors.append(processor)
                started.append(processor)
            }
            createdCount.store(processors.count, ordering: .releasing)
            activeCount.store(count, ordering: .sequentiallyConsistent)
            if !started.isEmpty {
                threadCount.add(started.count, ordering: .relaxed)
                for processor in started { processor.start() }
            }
            // Wake the processors that come back, and the ones that must
            // retire (if they sleep as idle, they retire when they wake).
            for processor in processors[min(previous, count)..<min(max(previous, count), made)] {
                processor.wake()
            }
            return previous
        }
    }

    /// Makes room in `peers` for `count` processors. Called under
    /// `processorList`'s lock, before `createdCount` grows.
    func growPeerTable(to count: Int) {
        guard count > peerCapacity else { return }
        let capacity = peerCapacity == 0 ? count : max(count, 2 * peerCapacity)
        let table = UnsafeMutablePointer<Unmanaged<Processor>>.allocate(capacity: capacity)
        let old = peerTable.load(ordering: .relaxed)
        let created = createdCount.load(ordering: .relaxed)
        table.initialize(from: old, count: created)
        peerTable.store(table, ordering: .releasing)
        replacedPeerTables.append(old)
        peerCapacity = capacity
    }
}
