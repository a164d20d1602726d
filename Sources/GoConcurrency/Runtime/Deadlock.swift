// Go's checkdead: "fatal error: all goroutines are asleep - deadlock!".
//
// What the detector proves, and when it speaks (the DocC article "Debugging
// stuck programs" says the same to users):
// A runtime is deadlocked when none of its goroutines can ever run again
// unless code outside the runtime acts, and the runtime can see that no such
// code is there. Precisely, at one instant, checked twice with nothing moving
// in between:
//  1. every processor is idle (listed so, running no job; one beyond
//     GOMAXPROCS asleep as retired, its queues handed on) and every run queue
//     (runnext, local, global) empty, no job ran and no processor woke
//     between the two looks, no timer of this runtime is armed (sleep,
//     after, Timer, Ticker, a select's timeout: a goroutine arms its timers
//     on its own runtime), and no `blocking` call is in flight;
//  2. the runtime has at least one goroutine, and every one of them is parked
//     in a channel operation, a select (with or without cases) or a sync
//     primitive of GoConcurrency. A goroutine awaiting anything else (a
//     continuation, an actor, `Task.sleep`, a child task) may be resumed by
//     that thing, so it is never counted as stuck; nor is one in an I/O
//     wait (`WaitReason.ioWait`): the descriptor's peer is outside the
//     runtime. While any wait (a plain task's too) is parked on the
//     runtime's poller, the check stops there, before walking the
//     goroutines. A goroutine whose I/O wait ended (readied, or its
//     descriptor closed) and that then parks on a channel counts as any other;
//  3. none of those waits is on an object shared with the outside: made
//     outside goroutines or by another runtime's goroutines, or used by a
//     plain task or thread that parked on it or by `blockingSend` /
//     `blockingReceive` (`WaitObject`); and no object made by one of the
//     runtime's goroutines was ever shared so, nor did a goroutine start one
//     on another runtime or the other way round (the runtime is then open to
//     the outside for good: code that got one of its objects may hold
//     others);
//  4. no plain Swift task started by one of the runtime's goroutines (or by
//     such a task, at any depth, and also after the goroutine that started it
//     has ended) is still alive: such a task may be about to send the value a
//     goroutine waits for (`Goroutine.plainTasksAlive`);
//  5. no child task (async let, a task group's) ever ran on the runtime: a
//     goroutine may park while its children run or wait elsewhere, and their
//     end is invisible, so the first child job a processor runs opens the
//     runtime (`SwiftRuntimeABI.isChildTask`).
// What it cannot see, and so may misjudge: code outside goroutines that got
// hold of an object made by a goroutine by some other way than being started
// by it (a thread, a C callback, a global, an actor, a detached task) and has
// not used it yet, or only without parking (a buffered send that found room).
// A program that hands a goroutine's channel to such code says so with
// `Chan.markUsedOutsideGoroutines()`. The article names each case.
//
// Invariants:
// - Only a processor that is about to park with no timer pending runs the
//   check, and only while the runtime has a deadlock handler.
// - The handler is called at most once per runtime (`deadlockReported`).

import Synchronization

/// Every goroutine of a runtime is blocked for ever (Go: "fatal error: all
/// goroutines are asleep - deadlock!"), with the dump that shows where.
public struct Deadlock: Error, Sendable, CustomStringConvertible {
    /// The stuck goroutines.
    public let dump: GoroutineDump

    /// Go's message.
    public static let message = "fatal error: all goroutines are asleep - deadlock!"

    /// Go's report: the message, a blank line, the dump.
    public var description: String {
        "\(Deadlock.message)\n\n\(dump)"
    }
}

extension GoRuntime {
    /// What the runtime does when it finds that every goroutine is blocked for
    /// ever (Go's checkdead); `nil` turns detection off.
    ///
    /// Off on a runtime you make yourself and on ``shared`` until
    /// ``main(route:file:line:_:)`` sets it to Go's behaviour (print the
    /// message and the dump, exit with status 2). ``run(processors:file:line:_:)``
    /// sets it to throw ``Deadlock``.
    public var deadlockHandler: (@Sendable (Deadlock) -> Void)? {
        get { deadlockHandlerSlot.withLock { $0 } }
        set {
            deadlockHandlerSlot.withLock { $0 = newValue }
            deadlockCheck.store(newValue != nil, ordering: .sequentiallyConsistent)
        }
    }

    /// Go's behaviour: the report on standard error, then exit status 2.
    static let exitOnDeadlock: @Sendable (Deadlock) -> Void = { deadlock in
        writeToStandardError("\(deadlock)\n")
        exitProgram(2)
    }

    /// Run by a processor about to park with no timer pending.
    func checkForDeadlock() {
        guard deadlockCheck.load(ordering: .relaxed),
              !deadlockReported.load(ordering: .relaxed),
              !anyWaitOnThePoller(),
              let deadlock = provenDeadlock(),
              !deadlockReported.exchange(true, ordering: .sequentiallyConsistent),
              let handler = deadlockHandler
        else { return }
        handler(deadlock)
    }

    /// Whether a wait is parked on the runtime's network poller (a
    /// goroutine's, or a plain task's): its peer may act at any moment, so
    /// nothing is proven stuck, and the check stops before it walks the
    /// goroutines. It runs each time the last processor goes idle, which a
    /// server with one busy connection does once per message.
    private func anyWaitOnThePoller() -> Bool {
        #if os(Linux)
        if let poller, poller.waiters.load(ordering: .acquiring) > 0 { return true }
        #endif
        return false
    }

    /// The runtime's deadlock, if it has one now (see the file's comment for
    /// what counts).
    func provenDeadlock() -> Deadlock? {
        let moves = idleMoves.load(ordering: .sequentiallyConsistent)
        let jobs = jobsRun()
        guard !openedToOutside.load(ordering: .sequentiallyConsistent),
              isQuiescent(), !anyOutlivingTasks() else { return nil }
        // Read under the registry's locks: a goroutine listed there is alive,
        // and so is its handle.
        var stuck: [(goroutine: Goroutine, wait: Goroutine.Wait)] = []
        var provable = true
        goroutines.forEach { goroutine in
            guard provable else { return }
            guard let wait = goroutine.waitingFor, wait.reason.blocksForEver, !wait.outside,
                  goroutine.plainTasksAlive == 0
            else {
                provable = false
                return
            }
            stuck.append((goroutine, wait))
        }
        guard provable, !stuck.isEmpty else { return nil }
        // Nothing moved meanwhile: no job ran, no processor woke, no goroutine
        // re-parked.
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        guard isQuiescent(), idleMoves.load(ordering: .sequentiallyConsistent) == moves, jobsRun() == jobs,
              stuck.allSatisfy({ $0.goroutine.waitWord.load(ordering: .acquiring) == $0.wait.word })
        else { return nil }
        let now = Monotonic.coarseNow()
        let infos = stuck.sorted { $0.goroutine.id < $1.goroutine.id }
            .map { GoroutineInfo($0.goroutine, wait: $0.wait, places: .none, now: now) }
        return Deadlock(dump: GoroutineDump(goroutines: infos))
    }

    /// Jobs the processors have run so far.
    private func jobsRun() -> UInt {
        let created = createdCount.load(ordering: .acquiring)
        var total: UInt = 0
        for index in 0..<created {
            total &+= peers[index]._withUnsafeGuaranteedRef { $0.scheduled.load(ordering: .sequentiallyConsistent) }
        }
        return total
    }

    /// Every processor idle (listed so, and running no job; beyond GOMAXPROCS,
    /// asleep as retired), every queue empty, no timer, no blocking call.
    private func isQuiescent() -> Bool {
        guard idleCount.load(ordering: .sequentiallyConsistent) >= activeCount.load(ordering: .sequentiallyConsistent),
              globalCount.load(ordering: .sequentiallyConsistent) == 0,
              blockingCalls.load(ordering: .sequentiallyConsistent) == 0,
              timers.earliest.load(ordering: .sequentiallyConsistent) == .max,
              !anyQueuedWork()  // local queues and runnext, every processor
        else { return false }
        let created = createdCount.load(ordering: .acquiring)
        for index in 0..<created where peers[index]._withUnsafeGuaranteedRef({
            $0.runningTask.load(ordering: .sequentiallyConsistent) != 0
        }) {
            return false
        }
        // A processor beyond GOMAXPROCS that is not asleep as retired may be
        // carrying a job it stole just before the count went down.
        let active = min(activeCount.load(ordering: .sequentiallyConsistent), created)
        for index in active..<created where !peers[index]._withUnsafeGuaranteedRef({
            $0.sleepsRetired.load(ordering: .sequentiallyConsistent)
        }) {
            return false
        }
        return true
    }

    /// An object made by one of this runtime's goroutines was used from
    /// outside them: from now on the runtime cannot tell that nothing outside
    /// will act, and reports no deadlock.
    @usableFromInline
    func openToOutside() {
        if !openedToOutside.load(ordering: .relaxed) {
            openedToOutside.store(true, ordering: .sequentiallyConsistent)
        }
    }

    /// A goroutine ended while plain tasks it started were alive: keep an eye
    /// on them (through its handle) until they end.
    func watchOutliving(_ handle: GoroutineHandle) {
        outlivingTasks.withLock { $0.append(WeakHandle(handle)) }
    }

    private func anyOutlivingTasks() -> Bool {
        outlivingTasks.withLock { handles in
            handles.removeAll { $0.handle == nil }
            return !handles.isEmpty
        }
    }
}

struct WeakHandle {
    weak var handle: GoroutineHandle?

    init(_ handle: GoroutineHandle?) {
        self.handle = handle
    }
}

extension Goroutine {
    /// The goroutine's body returned (or panicked into a handler). True if
    /// plain tasks it started outlive it: the runtime then watches its
    /// handle until they end.
    @discardableResult
    func finished() -> Bool {
        if plainTasksAlive > 0, let handle {
            runtime.watchOutliving(handle)
            return true
        }
        return false
    }
}

extension WaitReason {
    /// Whether a goroutine parked for this reason can only be woken by
    /// another party of the runtime (not by a timer of its own, nor by its
    /// blocking call returning, nor by a descriptor, whose peer is outside).
    var blocksForEver: Bool {
        self != .sleep && self != .blockingCall && self != .ioWait
    }
}
