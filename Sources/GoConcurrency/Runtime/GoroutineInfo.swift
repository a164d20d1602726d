// What a program can ask the runtime about its goroutines (Go's
// runtime.NumGoroutine, runtime.Gosched, and the lines of a goroutine dump).

/// A snapshot of one live goroutine.
public struct GoroutineInfo: Sendable, Hashable, CustomStringConvertible {
    /// What the goroutine is doing at the moment of the snapshot.
    public enum State: Sendable, Hashable {
        /// Running on a processor.
        case running
        /// Ready to run: queued for a processor (or started by `go` and not
        /// yet run).
        case runnable
        /// Suspended in an `await` the runtime does not manage: Swift's
        /// `Task.sleep`, an actor, an `AsyncStream`, another library's
        /// continuation, its own child tasks. The runtime cannot tell what it
        /// waits for, only that it is neither running nor queued to run, nor
        /// parked in one of GoConcurrency's operations (which would say so).
        case waitingOutside
        /// Parked in a blocking operation: what for, and where.
        case waiting(WaitReason, at: SourceLocation)
    }

    /// Go's goroutine id.
    public let id: Int
    /// Where `go` started it.
    public let createdAt: SourceLocation
    public let state: State
    /// How long it has been waiting, while it waits (to the kernel's tick).
    public let waitDuration: Duration?
    /// Whether code outside the runtime's goroutines may end its wait (it
    /// waits on something made or used outside them): such a wait is never
    /// counted as part of a deadlock.
    public let mayBeWokenFromOutside: Bool
    /// The runtime it runs on.
    public let runtime: GoRuntime
    /// When its wait began (`Monotonic.coarseNow`), 0 if it is not waiting:
    /// tells two waits of one goroutine apart.
    let waitSince: UInt64

    public static func == (a: GoroutineInfo, b: GoroutineInfo) -> Bool {
        a.id == b.id && a.createdAt == b.createdAt && a.state == b.state && a.waitDuration == b.waitDuration
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(id)
        hasher.combine(state)
    }

    /// The bracket of Go's header line: the state, and the wait's length
    /// once it reaches a minute ("chan receive, 2 minutes").
    public var stateText: String {
        switch state {
        case .running: return "running"
        case .runnable: return "runnable"
        case .waitingOutside: return "waiting outside the runtime"
        case .waiting(let reason, _):
            guard let waitDuration else { return reason.description }
            let minutes = waitDuration.components.seconds / 60
            return minutes >= 1 ? "\(reason), \(minutes) minute\(minutes == 1 ? "" : "s")" : reason.description
        }
    }

    /// A goroutine dump's header line, as Go writes it:
    /// `goroutine 7 [chan receive]:`, then where it waits and where it was created.
    public var description: String {
        switch state {
        case .running, .runnable, .waitingOutside:
            return "goroutine \(id) [\(stateText)]:\ncreated at \(createdAt)"
        case .waiting(_, let location):
            return "goroutine \(id) [\(stateText)]:\n\twaiting at \(location)\ncreated at \(createdAt)"
        }
    }
}

extension GoroutineInfo {
    init(_ goroutine: Goroutine, wait: Goroutine.Wait?, places: TaskPlaces, now: UInt64) {
        var wait = wait
        let state: State
        let task = goroutine.rootTask.load(ordering: .relaxed)
        if task == 0 {
            // No task yet: queued by `go`, not started (or just ending).
            state = .runnable
        } else if places.queued.contains(task) && !places.running.contains(task) {
            // Readied: its record says what it waited for until it runs
            // again, but it waits for nothing now (Go's ready makes it
            // runnable at once too).
            state = .runnable
            wait = nil
        } else if let wait {
            state = .waiting(wait.reason, at: wait.location)
        } else if places.running.contains(task) {
            state = .running
        } else if goroutine.yielding.load(ordering: .relaxed) {
            state = .runnable
        } else {
            state = .waitingOutside
        }
        self.init(id: goroutine.id, createdAt: goroutine.startedAt, state: state,
                  waitDuration: wait.map { .nanoseconds(Int64(now &- min(now, $0.since))) },
                  mayBeWokenFromOutside: wait?.outside ?? false, runtime: goroutine.runtime,
                  waitSince: wait?.since ?? 0)
    }
}

extension GoRuntime {
    /// The number of goroutines that exist now, on every runtime (Go:
    /// `runtime.NumGoroutine()`). The main goroutine of ``main(route:file:line:_:)``
    /// counts; a program's plain Swift tasks do not.
    public static var goroutineCount: Int {
        GoroutineRegistry.live.load(ordering: .relaxed)
    }

    /// A snapshot of every live goroutine, in id order.
    public static func goroutines() -> [GoroutineInfo] {
        let places = TaskPlaces.now()
        let now = Monotonic.coarseNow()
        return GoroutineRegistry.all().map { goroutine in
            GoroutineInfo(goroutine, wait: goroutine.waitingFor, places: places, now: now)
        }
    }

    /// The id of the goroutine the calling task belongs to (a goroutine's
    /// child tasks included), or nil outside goroutines.
    public static var currentGoroutineID: Int? {
        Goroutine.current?.id
    }

    /// Lets the other goroutines run before the caller continues (Go:
    /// `runtime.Gosched()`). On a runtime's processor the caller goes to the
    /// back of the local run queue, behind every goroutine already waiting.
    public static func yield() async {
        if let processor = Processor.current {
            processor.yielding = true
        }
        let goroutine = Goroutine.rooted(at: TaskIdentity.current)
        goroutine?._withUnsafeGuaranteedRef { $0.yielding.store(true, ordering: .relaxed) }
        await Task.yield()
        goroutine?._withUnsafeGuaranteedRef { $0.yielding.store(false, ordering: .relaxed) }
    }
}

/// Where the runtimes' tasks are at one moment, as far as the runtimes can
/// see: running on a processor, or queued on one (runnext, the local queue)
/// or on a runtime's global queue. A goroutine whose task is in neither, and
/// not parked through the runtime, waits on something outside it. A
/// snapshot read without stopping anything, so a task that moves meanwhile
/// may be seen in the wrong place for that moment.
struct TaskPlaces {
    /// Task addresses (a task's address is its job's).
    var running: Set<UInt> = []
    var queued: Set<UInt> = []

    /// None seen: for goroutines known to be parked.
    static let none = TaskPlaces()

    /// Read now, from the cheapest reads for the runtime: the queues, then
    /// the processors' running tasks, then (the caller) each goroutine's
    /// wait record, the order in which a task moves, so that one moving on
    /// meanwhile is seen in one of them rather than in none.
    static func now() -> TaskPlaces {
        var places = TaskPlaces()
        let runtimes = GoRuntime.allRuntimes()
        for runtime in runtimes {
            runtime.collectQueuedJobs(into: &places.queued)
        }
        for runtime in runtimes {
            places.running.formUnion(runtime.runningTasks())
        }
        return places
    }
}

extension GoRuntime {
    /// Adds the address of every job queued on this runtime now (a
    /// snapshot, for goroutine dumps).
    func collectQueuedJobs(into jobs: inout Set<UInt>) {
        for processor in processors {
            processor.collectQueuedJobs(into: &jobs)
        }
        // Copied out, so that the processors wait for the lock no longer
        // than a copy takes.
        // Not copied when empty: copying an empty Deque into an Array
        // writes the shared empty-array storage, which the thread sanitizer
        // reports as a race between two dumps.
        let global = globalQueue.withLock { $0.isEmpty ? [] : Array($0) }
        for entry in global where !entry.isGoroutine {
            jobs.insert(entry.bits)
        }
    }
}
