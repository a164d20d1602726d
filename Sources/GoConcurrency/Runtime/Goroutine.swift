// What the runtime knows of one goroutine: who it is, where it was started,
// and what it is waiting for right now.
//
// Invariants:
// - A goroutine's record is reachable from its root task and every child task
//   (a task-local), but only the root task's parks are the goroutine's: a
//   child task is a plain, cancellable task with a life of its own.
// - The wait record is written only by the goroutine itself (when it parks and
//   when it runs again) and read from any thread, so it is two atomic words:
//   `waitWord` (reason, line and file name length; 0 while not waiting) and
//   `waitFile` (the file name's address). A park stores the file, then the
//   word; a reader reads the word, the file, and the word again, and retries
//   if it changed. Parking costs two plain atomic stores, no lock.
// - The record is in the registry (`GoroutineRegistry`) from `go` until its
//   body returns.

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
    @usableFromInline let waitWord = Atomic<UInt64>(0)
    @usableFromInline let waitFile = Atomic<UInt>(0)

    /// The registry's links (protected by the registry shard's lock): the
    /// list holds its records through `next`.
    var next: Goroutine?
    unowned(unsafe) var previous: Goroutine?

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
        let line = UInt64(min(location.line, UInt(UInt32.max)))
        let length = UInt64(min(location.fileLength, 0xFF_FFFF))
        waitFile.store(UInt(bitPattern: location.file), ordering: .relaxed)
        waitWord.store(reason.code | length << 8 | line << 32, ordering: .releasing)
    }

    /// Records that the goroutine runs again.
    @inlinable
    func unparked() {
        waitWord.store(0, ordering: .releasing)
    }

    /// What it waits for now, if it is parked.
    var waitingFor: (reason: WaitReason, location: SourceLocation)? {
        while true {
            let word = waitWord.load(ordering: .acquiring)
            if word == 0 { return nil }
            let file = waitFile.load(ordering: .acquiring)
            guard waitWord.load(ordering: .acquiring) == word else { continue }
            guard let reason = WaitReason(code: word & 0xFF),
                  let pointer = UnsafePointer<UInt8>(bitPattern: file)
            else { return nil }
            let location = SourceLocation(file: pointer, fileLength: Int((word >> 8) & 0xFF_FFFF), line: UInt(word >> 32))
            return (reason, location)
        }
    }
}
