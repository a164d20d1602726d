// A program run on a runtime of its own, whose deadlock or panic comes back
// to the caller as a thrown error instead of ending the process: the test
// side of Go's checkdead. The run's runtime ends with it, as a Go program's
// goroutines end with its `main`.
//
// How a runtime ends (`end`), and what stays:
// - Its GOMAXPROCS drops to 0 for good: each processor finishes the job it
//   is running, hands its queues to the global queue as a retiring one does,
//   and its thread leaves; idle machines leave too (a machine running a
//   processor for a blocking call first gives it back). Nothing is waited
//   for: the caller of the run carries on at once.
// - The last thread to leave clears the runtime (`lastThreadLeft`): the
//   goroutines that never started are dropped (unregistered, their records
//   released), the jobs queued are dropped, and the processors with their
//   queues and kept records are freed.
// - A goroutine that was parked or queued when the run ended never runs
//   again: a job enqueued later (outside code waking it) lands in the global
//   queue, which nobody takes from, and timers of the runtime never fire
//   (arming one wakes nobody). Its task, and the record that dumps list, stay
//   (as a deadlock's always did); so does the runtime's object, which its
//   tasks and records refer to, with nothing of its scheduler but its
//   queues' heads. When none is left, the runtime is freed.
// - Nothing reaches a runtime through a stale number: records hold their
//   runtime (`Goroutine.runtimeReference`), and objects that only keep its
//   `id` look it up in the list of live runtimes (`GoRuntime.live(id:)`).
//
// Invariants:
// - `ended` is set once, before GOMAXPROCS drops to 0 (under the processor
//   list's lock, so no change of GOMAXPROCS revives it).
// - A thread of the runtime counts in `threadCount` until it leaves; the one
//   whose leave brings it to 0 after the end is the last to touch the
//   scheduler, and holds a reference to the runtime while it clears it.

import DequeModule
import Synchronization

extension GoRuntime {
    /// Runs `body` as the main goroutine of a new runtime with `processors`
    /// processors and returns what it returns, as a Go program's `main`.
    ///
    /// - Throws: ``Deadlock`` if every goroutine of that runtime blocks for
    ///   ever (the goroutines stay parked); ``GoroutinePanic`` if an error
    ///   escapes one of its goroutines (the main goroutine's own error is
    ///   thrown as it is).
    ///
    /// The runtime ends with the run, as a Go program ends when its `main`
    /// returns: its threads leave once the job each is running returns, and
    /// goroutines still queued, parked or sleeping then never run again,
    /// even if something outside later wakes them (they stay listed in
    /// dumps). So a process may make any number of checked runs, one after
    /// another.
    public static func run<T: Sendable>(
        processors: Int = 1,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let runtime = GoRuntime(processors: processors, clock: nil, endsWithRun: true)
        let outcome = Locked<CheckedContinuation<T, any Error>?>(nil)
        let finish: @Sendable (Result<T, any Error>) -> Void = { result in
            guard let continuation = outcome.withLock({ slot -> CheckedContinuation<T, any Error>? in
                defer { slot = nil }
                return slot
            }) else { return }
            runtime.end()
            continuation.resume(with: result)
        }
        return try await withCheckedThrowingContinuation { continuation in
            outcome.withLock { $0 = continuation }
            runtime.panicHandler = { panic in finish(.failure(panic)) }
            runtime.deadlockHandler = { deadlock in finish(.failure(deadlock)) }
            go(on: runtime, file: file, line: line) {
                do {
                    finish(.success(try await body()))
                } catch {
                    finish(.failure(error))
                }
            }
        }
    }

    /// Ends the runtime (see the file's opening comment). Called once its
    /// checked run has its outcome, often on one of its own threads.
    func end() {
        guard isMortal, !ended.exchange(true, ordering: .sequentiallyConsistent) else { return }
        // The handlers hold the run's outcome, which holds the runtime. A
        // goroutine that panics in the job it was running when the run ended
        // is dropped with the rest (not Go's exit: the run has its outcome).
        deadlockHandler = nil
        panicHandler = { _ in }
        timers.end()
        let processors = processorList.withLock { processors in
            activeCount.store(0, ordering: .sequentiallyConsistent)
            return processors
        }
        // Every processor retires, and, seeing the runtime ended, leaves.
        for processor in processors { processor.wake() }
        let idle = idleMachines.withLock { idle in
            defer { idle.removeAll() }
            return idle
        }
        for machine in idle { machine.parker.unpark() }
    }

    /// Called by the last thread to leave an ended runtime, which holds it:
    /// drops what is queued and frees the scheduler.
    ///
    /// The processors themselves stay until the runtime is freed: a thread
    /// outside the runtime may be about to wake one it read from `peers`
    /// (the napper, the timer sleeper) just before the run ended. Only what
    /// they keep is let go: their kept goroutine records, which hold the
    /// runtime and would keep it for ever.
    func lastThreadLeft() {
        dropQueuedEntries()
        #if os(Linux)
        shutDownPoller()
        #endif
        timerSleeper.store(-1, ordering: .sequentiallyConsistent)
        napper.store(-1, ordering: .sequentiallyConsistent)
        createdCount.store(0, ordering: .sequentiallyConsistent)
        let processors = processorList.withLock { $0 }
        for processor in processors {
            // Owner-only state, and no owner is left.
            processor.freeRecords.removeAll()
            processor.handedBack = nil
        }
        idleLock.withLock { $0.removeAll() }
        idleCount.store(0, ordering: .sequentiallyConsistent)
        var kept: [Goroutine] = []
        while freeRecords.take(into: &kept) { kept.removeAll() }
    }

    /// Empties the global queue of an ended runtime: goroutines that never
    /// started leave the registry and their records are released; jobs are
    /// dropped (their tasks stay suspended).
    func dropQueuedEntries() {
        var unstarted: [Goroutine] = []
        let dropped = globalQueue.withLock { queue -> Int in
            let count = queue.count
            while let entry = queue.popFirst() {
                if entry.isGoroutine { unstarted.append(entry.takeGoroutine()) }
            }
            queue = Deque()
            return count
        }
        globalCount.subtract(dropped, ordering: .sequentiallyConsistent)
        for goroutine in unstarted {
            goroutines.remove(goroutine)
        }
    }
}
