// What the runtime knows of one goroutine: who it is, where it was started,
// and what it is waiting for right now.
//
// Invariants:
// - A goroutine's record is reachable from its root task and every child task
//   (a task-local), but only the root task's parks are the goroutine's: a
//   child task is a plain, cancellable task with a life of its own.
// - `wait` is written by the goroutine's own thread when it parks and when it
//   wakes, and may be read from any thread, so it is guarded by `lock`.

import Synchronization

@usableFromInline
final class Goroutine: @unchecked Sendable {
    /// The goroutine the current task belongs to, if any: set by `go` for the
    /// goroutine's whole life and inherited by the child tasks it starts.
    @TaskLocal
    @usableFromInline
    static var current: Goroutine?

    private static let nextID = Atomic<Int>(1)

    /// Go's goroutine id: 1, 2, 3, ... in the order `go` started them.
    @usableFromInline let id: Int
    /// Where `go` was called.
    @usableFromInline let startedAt: SourceLocation
    /// The root task's identity while it runs; 0 once it has returned, so
    /// that a later task at the same address is not taken for it.
    @usableFromInline let rootTask = Atomic<UInt>(0)
    @usableFromInline let lock = Lock()
    /// What it waits on and where, while parked. Protected by `lock`.
    @usableFromInline @exclusivity(unchecked) var wait: (reason: WaitReason, location: SourceLocation)?

    init(startedAt: SourceLocation) {
        self.id = Goroutine.nextID.add(1, ordering: .relaxed).oldValue
        self.startedAt = startedAt
    }

    /// The goroutine whose root task is `task`, if it is one: such a task
    /// cannot be cancelled (`go` hands out no handle), and its parks are
    /// recorded.
    @inlinable
    static func rooted(at task: TaskIdentity) -> Goroutine? {
        guard let goroutine = current, goroutine.rootTask.load(ordering: .relaxed) == task.bits else { return nil }
        return goroutine
    }

    /// Records that the goroutine parks for `reason` at `location`.
    @inlinable
    func parked(_ reason: WaitReason, at location: SourceLocation) {
        lock.lock()
        wait = (reason, location)
        lock.unlock()
    }

    /// Records that the goroutine runs again.
    @inlinable
    func unparked() {
        lock.lock()
        wait = nil
        lock.unlock()
    }

    /// What it waits for now, if it is parked.
    var waitingFor: (reason: WaitReason, location: SourceLocation)? {
        lock.lock()
        defer { lock.unlock() }
        return wait
    }
}
