// An OS thread that runs a processor's loop (Go's M).
//
// A runtime starts one machine per processor. `blocking { }` (Go's system
// call) hands the caller's processor to another machine — an idle one, or a
// new one while the runtime is under its thread limit — so the goroutines
// queued there keep running while the call blocks; afterwards the caller takes
// its processor back (the machine that ran it meanwhile goes idle again).
//
// Invariants:
// - A machine runs at most one processor's loop at a time, and a processor is
//   run by at most one machine: `assigned` is set by whoever hands the
//   processor over, before it unparks the machine.
// - Idle machines are listed in the runtime's `idleMachines` (under its lock)
//   and parked on their `parker`.
// - A machine's thread holds a strong reference to its runtime from before
//   the thread starts until it leaves (a runtime that ended: `GoRuntime.end`),
//   and counts in `threadCount` until then; the last thread to leave an ended
//   runtime clears what is left in it (`GoRuntime.lastThreadLeft`). Until
//   then the runtime cannot be freed under a thread that uses it unretained.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

final class Machine: @unchecked Sendable {
    unowned(unsafe) let runtime: GoRuntime
    let parker = ThreadParker()
    /// The processor to run next; protected by `runtime.idleMachines`' lock
    /// while the machine is idle, else owned by the machine's thread.
    var assigned: Processor?

    /// The machine of the calling thread, if it is one of a runtime's.
    static var current: Machine? {
        guard let pointer = pthread_getspecific(Machine.key) else { return nil }
        return Unmanaged<Machine>.fromOpaque(pointer).takeUnretainedValue()
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        if pthread_key_create(&key, nil) != 0 { goFatal("GoRuntime: no thread-specific key left") }
        return key
    }()

    init(runtime: GoRuntime, processor: Processor?) {
        self.runtime = runtime
        self.assigned = processor
    }

    /// Starts the machine's thread, which lives until its runtime ends.
    func start() {
        var thread = pthread_t()
        // The thread's references to the runtime and to this machine,
        // released as it leaves.
        _ = Unmanaged.passRetained(runtime)
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<Machine>.fromOpaque(context!).takeUnretainedValue().main()
        }, context)
        if result != 0 { goFatal("GoRuntime: cannot start a thread (pthread_create: \(result))") }
        pthread_detach(thread)
    }

    private func main() -> UnsafeMutableRawPointer? {
        pthread_setspecific(Machine.key, Unmanaged.passUnretained(self).toOpaque())
        while true {
            // A processor handed to us is run even after the runtime ended:
            // the blocking call that handed it off waits to take it back.
            let (processor, leave) = runtime.idleMachines.withLock { idle -> (Processor?, Bool) in
                if let processor = assigned {
                    assigned = nil
                    return (processor, false)
                }
                if runtime.hasEnded { return (nil, true) }
                idle.append(self)
                return (nil, false)
            }
            if leave { break }
            if let processor {
                // Returns when the processor is taken back, or the runtime ended.
                if processor.run(on: self) { break }
            } else {
                parker.park()  // until a processor is assigned to us, or the runtime ends
            }
        }
        pthread_setspecific(Machine.key, nil)
        Waiter.dropThreadSpare()
        let held = Unmanaged.passUnretained(runtime)
        if held._withUnsafeGuaranteedRef({ $0.threadCount.subtract(1, ordering: .acquiringAndReleasing).newValue }) == 0 {
            held._withUnsafeGuaranteedRef { $0.lastThreadLeft() }
        }
        Unmanaged.passUnretained(self).release()
        held.release()  // may free the runtime
        return nil
    }
}

/// A runtime has no thread left for a blocking call (Go: "program exceeds
/// 10000-thread limit").
public struct ThreadLimitExceeded: Error, CustomStringConvertible {
    /// The limit that was reached: ``GoRuntime/maxThreads``.
    public let limit: Int

    public var description: String {
        "GoRuntime: program exceeds \(limit)-thread limit (a blocking call needs a thread to hand its processor to; raise GoRuntime.maxThreads)"
    }
}

/// Runs `body`, a call that blocks its thread (a system call, a C library, a
/// lock of another system), without stalling the goroutines that share the
/// caller's processor (Go runs every system call this way).
///
/// On one of a runtime's threads, the processor is handed to another thread
/// for the duration of the call and taken back after it, as Go's scheduler
/// hands a P from an M blocked in a system call to another M. Anywhere else
/// `body` simply runs.
///
///     let line = try blocking { readLine() }
///
/// Meanwhile a goroutine dump shows the goroutine in a "syscall" at the call's
/// place, and the runtime reports no deadlock.
///
/// - Throws: what `body` throws, or ``ThreadLimitExceeded`` if the runtime would
///   need more than ``GoRuntime/maxThreads`` threads.
@discardableResult
public func blocking<T>(file: StaticString = #fileID, line: UInt = #line, _ body: () throws -> T) throws -> T {
    guard let machine = Machine.current, let processor = Processor.current else {
        return try body()
    }
    let goroutine = Goroutine.rooted(at: TaskIdentity.current)
    goroutine?._withUnsafeGuaranteedRef { $0.parked(.blockingCall, at: SourceLocation(fileID: file, line: line)) }
    defer { goroutine?._withUnsafeGuaranteedRef { $0.unparked() } }
    machine.runtime.blockingCalls.add(1, ordering: .sequentiallyConsistent)
    defer { machine.runtime.blockingCalls.subtract(1, ordering: .sequentiallyConsistent) }
    let job = try processor.handOff()
    defer { processor.takeBack(to: machine, running: job) }
    return try body()
}
