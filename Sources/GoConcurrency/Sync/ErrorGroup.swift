// Go's errgroup (golang.org/x/sync/errgroup).
//
// Invariants (protected by `lock`):
// - `firstError` is set once, by the first member that throws; from then on
//   every member task is cancelled, and members started later are cancelled
//   as they start.
// - `tasks` holds the members not yet finished.

import Synchronization

extension Sync {
    /// Runs work concurrently and collects the first error (Go: `errgroup.Group`
    /// with a context): the first member that throws cancels all the others,
    /// and ``wait(file:line:)`` returns that error once every member has finished.
    ///
    ///     let group = Sync.ErrorGroup()
    ///     for url in urls {
    ///         group.go { try await fetch(url) }
    ///     }
    ///     try await group.wait()
    ///
    /// Members are goroutines, as errgroup's are: listed in goroutine dumps
    /// with what they wait for, counted, leak-checked, and, like any goroutine,
    /// started with nothing inherited from the caller (no task-local values,
    /// no priority). Unlike the goroutines `go` starts, they can be cancelled:
    /// GoConcurrency's channel operations, select, sleep and sync primitives
    /// throw `CancellationError` in a cancelled member.
    public final class ErrorGroup: @unchecked Sendable {
        /// Where members run; nil: the runtime of the goroutine that starts
        /// each (see `init(runtime:)`).
        private let runtime: GoRuntime?
        private let lock = Lock()
        private var firstError: (any Error)?
        private var tasks: [Int: Task<Void, Never>] = [:]
        private var nextMember = 0
        private let members = WaitGroup()

        /// Members run on `runtime`'s processors; without it, each on the
        /// runtime of the goroutine that starts it (``GoRuntime/shared``
        /// outside goroutines), as goroutines started with `go` do.
        public init(runtime: GoRuntime? = nil) {
            self.runtime = runtime
        }

        /// Starts `body` as a member of the group (a goroutine, listed as
        /// created at the call).
        public func go(
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Void
        ) {
            members.add(1)
            lock.lock()
            let member = nextMember
            nextMember += 1
            let cancelled = firstError != nil
            let task = goCancellable(on: GoRuntime.startingOn(runtime), at: SourceLocation(fileID: file, line: line)) {
                do {
                    try await body()
                } catch {
                    self.fail(with: error)
                }
                self.lock.lock()
                self.tasks[member] = nil
                self.lock.unlock()
                self.members.done()
            }
            tasks[member] = task
            lock.unlock()
            if cancelled { task.cancel() }
        }

        /// Waits for every member, then throws the first error, if any.
        public func wait(file: StaticString = #fileID, line: UInt = #line) async throws {
            try await members.wait(file: file, line: line)
            lock.lock()
            let error = firstError
            lock.unlock()
            if let error { throw error }
        }

        /// Whether a member has failed (and the rest are cancelled).
        public var hasFailed: Bool {
            lock.lock()
            defer { lock.unlock() }
            return firstError != nil
        }

        private func fail(with error: any Error) {
            lock.lock()
            guard firstError == nil else {
                lock.unlock()
                return
            }
            firstError = error
            let running = Array(tasks.values)
            lock.unlock()
            for task in running { task.cancel() }
        }
    }
}
