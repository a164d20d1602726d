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

    /// A goroutine dump's header line, as Go writes it:
    /// `goroutine 7 [chan receive]:`, then where it waits and where it was created.
    public var description: String {
        switch state {
        case .running:
            return "goroutine \(id) [running]:\ncreated at \(createdAt)"
        case .runnable:
            return "goroutine \(id) [runnable]:\ncreated at \(createdAt)"
        case .waiting(let reason, let location):
            return "goroutine \(id) [\(reason)]:\n\t\(location)\ncreated at \(createdAt)"
        }
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
        return GoroutineRegistry.shared.all().map { goroutine in
            let state: GoroutineInfo.State
            if let wait = goroutine.waitingFor {
                state = .waiting(wait.reason, at: wait.location)
            } else if running.contains(goroutine.rootTask.load(ordering: .relaxed)) {
                state = .running
            } else {
                state = .runnable
            }
            return GoroutineInfo(id: goroutine.id, createdAt: goroutine.startedAt, state: state)
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
