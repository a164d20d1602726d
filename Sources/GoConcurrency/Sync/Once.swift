// Go's sync.Once: a thin type over `SyncStorage`.
//
// Invariants (in the storage, under its lock): the state goes idle → running
// → done, once; callers that come while it runs queue, and are all granted
// when it is done.

extension Sync {
    /// Runs a piece of work exactly once, however many tasks ask (Go: `sync.Once`).
    ///
    ///     let setup = Sync.Once()
    ///     try await setup.run { try await loadConfiguration() }
    ///
    /// Callers that come while the work runs wait until it has finished; when
    /// `run` returns, the work has happened. If the work throws, the error goes
    /// to the caller that ran it, and the work counts as done (Go's `Do`
    /// likewise never calls `f` again after a panic).
    public final class Once: Sendable {
        private enum State { case idle, running, done }

        private let storage = SyncStorage(State.idle)

        public init() {}

        /// Whether the work has run.
        public var isDone: Bool {
            storage.read { state, _ in state == .done }
        }

        /// Runs `work` if no caller has yet; otherwise waits until it is done.
        ///
        /// - Throws: what `work` throws, to the caller that ran it; a waiting
        ///   caller's `CancellationError` if it is cancelled while it waits.
        public func run(file: StaticString = #fileID, line: UInt = #line, _ work: () async throws -> Void) async throws {
            let first = storage.update { state, _ -> (State, [SyncWaiter]) in
                let was = state
                if state == .idle { state = .running }
                return (was, [])
            }
            switch first {
            case .done:
                return
            case .idle:
                defer {
                    storage.update { state, waiters -> (Void, [SyncWaiter]) in
                        state = .done
                        var released: [SyncWaiter] = []
                        while let waiter = waiters.popFirst() { released.append(waiter) }
                        return ((), released)
                    }
                }
                try await work()
            case .running:
                try await storage.wait(reason: .semacquire, at: SourceLocation(fileID: file, line: line)) { state, _ in
                    state == .done
                }
            }
        }
    }
}
