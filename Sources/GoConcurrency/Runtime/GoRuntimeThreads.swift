// A runtime's threads (Go's Ms): the thread limit, and handing a processor to
// an idle or a new thread while a `blocking` call holds its own.

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
    /// The most threads this runtime may start (Go: `debug.SetMaxThreads`,
    /// default 10,000). Each processor has one; each `blocking` call in
    /// progress needs one more. A `blocking` call that would exceed it throws
    /// ``ThreadLimitExceeded``.
    public var maxThreads: Int {
        get { threadLimit.load(ordering: .relaxed) }
        set {
            if newValue < 1 { goPanic("GoRuntime.maxThreads must be at least 1, got \(newValue)") }
            threadLimit.store(newValue, ordering: .relaxed)
        }
    }

    /// Hands `processor` to an idle machine, or to a new one if the thread
    /// limit allows.
    func startMachine(for processor: Processor) throws {
        let idle = idleMachines.withLock { idle -> Machine? in
            guard let machine = idle.popLast() else { return nil }
            machine.assigned = processor
            return machine
        }
        if let idle {
            idle.parker.unpark()
            return
        }
        let limit = maxThreads
        if threadCount.add(1, ordering: .relaxed).newValue > limit {
            threadCount.subtract(1, ordering: .relaxed)
            throw ThreadLimitExceeded(limit: limit)
        }
        Machine(runtime: self, processor: processor).start()
    }
}
