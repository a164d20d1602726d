// What a program can ask the runtime about its goroutines (Go's
// runtime.NumGoroutine, runtime.Gosched, and the lines of a goroutine dump).

/// A snapshot of one live goroutine.
public struct GoroutineInfo: Sendable, Hashable, CustomStringConvertible {
    /// What the goroutine is doing at the moment of the snapshot.
    public enum State: Sendable, Hashable {
        /// Running on a processor.
        case running
        /// Ready to run, waiting for a processor (or running child tasks).
        case runnable
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
        case .running, .runnable:
            return "goroutine \(id) [\(stateText)]:\ncreated at \(createdAt)"
        case .waiting(_, let location):
            return "goroutine \(id) [\(stateText)]:\n\twaiting at \(location)\ncreated at \(createdAt)"
        }
    }
}

extension GoroutineInfo {
    init(_ goroutine: Goroutine, wait: Goroutine.Wait?, running: Set<UInt>, now: UInt64) {
        let state: State
        if let wait {
            state = .waiting(wait.reason, at: wait.location)
        } else if running.contains(goroutine.rootTask.load(ordering: .relaxed)) {
            state = .running
        } else {
            state = .runnable
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
        GoroutineRegistry.shared.live.load(ordering: .relaxed)
    }

    /// A snapshot of every live goroutine, in id order.
    public static func goroutines() -> [GoroutineInfo] {
        let running = Set(allRuntimes().flatMap { $0.runningTasks() })
        let now = Monotonic.coarseNow()
        return GoroutineRegistry.shared.all().map { goroutine in
            GoroutineInfo(goroutine, wait: goroutine.waitingFor, running: running, now: now)
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
        await Task.yield()
    }
}
