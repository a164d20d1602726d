// A scope that goroutines are started in: a task-local value that `go` records
// in each new goroutine, and that the goroutines (and plain tasks of them)
// pass on to the goroutines they start. The runtime only carries it; code
// above the runtime opens one and asks which goroutines carry it (the leak
// check, `GoRuntime.checkingLeaks`).
//
// Invariants:
// - `everMade` only ever goes from false to true, before the first scope
//   becomes a task-local value.

import Synchronization

final class GoroutineScope: Sendable {
    @TaskLocal static var current: GoroutineScope?

    /// Set for good when the first scope is made: until then no task can
    /// see one, and `go` skips the task-local lookup (a runtime call on
    /// every goroutine started).
    private static let everMade = Atomic<Bool>(false)

    /// The scope of the calling task, if any.
    static var enclosing: GoroutineScope? {
        everMade.load(ordering: .acquiring) ? current : nil
    }

    let parent: GoroutineScope?

    init(parent: GoroutineScope?) {
        self.parent = parent
        GoroutineScope.everMade.store(true, ordering: .releasing)
    }

    /// Whether `scope` is this one or nested in it.
    func contains(_ scope: GoroutineScope?) -> Bool {
        var scope = scope
        while let current = scope {
            if current === self { return true }
            scope = current.parent
        }
        return false
    }
}
