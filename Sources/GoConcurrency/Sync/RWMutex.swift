// Go's sync.RWMutex for tasks: a thin type over `SyncStorage` and the pure
// rules of `RWMutexState`.
//
// Invariants (in the storage, under its lock): either one writer holds it and
// no reader does, or any number of readers hold it. A queued writer blocks the
// readers that come after it (they queue too), so a stream of readers cannot
// starve a writer, as in Go; waiters are granted in FIFO order, a run of
// readers at the head together, a writer alone. Unlocks of a mutex not held
// that way trap before anything changes.

struct RWMutexState {
    static let writer = 0
    static let reader = 1

    var writing = false
    var readers = 0

    func grantable(_ weight: Int) -> Bool {
        weight == RWMutexState.writer ? !writing && readers == 0 : !writing
    }

    mutating func take(_ weight: Int) {
        if weight == RWMutexState.writer { writing = true } else { readers += 1 }
    }

    /// Takes out the waiters at the head of `waiters` that can have it now.
    static func grant(_ state: inout RWMutexState, _ waiters: inout SyncWaiters) -> [SyncWaiter] {
        var granted: [SyncWaiter] = []
        while let first = waiters.first, state.grantable(first.weight) {
            state.take(first.weight)
            granted.append(waiters.popFirst()!)
            if first.weight == RWMutexState.writer { break }
        }
        return granted
    }
}

extension Sync {
    /// A reader/writer mutual exclusion lock (Go: `sync.RWMutex`): any number
    /// of readers or one writer. It parks waiting tasks and may be held across
    /// `await`s.
    public final class RWMutex: Sendable {
        private let storage = SyncStorage(RWMutexState(), regrant: RWMutexState.grant)

        public init() {}

        /// Waits until no reader or writer holds it and takes it for writing.
        public func lock(file: StaticString = #fileID, line: UInt = #line) async throws {
            try await acquire(RWMutexState.writer, .rwMutexLock, SourceLocation(fileID: file, line: line))
        }

        /// Waits until no writer holds or waits for it and takes it for reading.
        public func readLock(file: StaticString = #fileID, line: UInt = #line) async throws {
            try await acquire(RWMutexState.reader, .rwMutexReadLock, SourceLocation(fileID: file, line: line))
        }

        /// Takes it for writing if no reader or writer holds it and none
        /// waits for it; false otherwise (Go: `TryLock`). Never waits.
        public func tryLock() -> Bool {
            tryAcquire(RWMutexState.writer)
        }

        /// Takes it for reading if no writer holds it and none waits for it
        /// (a waiting writer holds back new readers, as in `readLock`); false
        /// otherwise (Go: `TryRLock`). Never waits.
        public func tryReadLock() -> Bool {
            tryAcquire(RWMutexState.reader)
        }

        private func tryAcquire(_ weight: Int) -> Bool {
            storage.update { state, waiters -> (Bool, [SyncWaiter]) in
                guard waiters.isEmpty && state.grantable(weight) else { return (false, []) }
                state.take(weight)
                return (true, [])
            }
        }

        private func acquire(_ weight: Int, _ reason: WaitReason, _ location: SourceLocation) async throws {
            try await storage.wait(reason: reason, at: location, weight: weight) { state, waiters in
                guard waiters.isEmpty && state.grantable(weight) else { return false }
                state.take(weight)
                return true
            }
        }

        /// Releases a write lock.
        ///
        /// - Precondition: it is held for writing ("sync: Unlock of unlocked RWMutex").
        public func unlock() {
            let held = storage.update { state, waiters -> (Bool, [SyncWaiter]) in
                guard state.writing else { return (false, []) }
                state.writing = false
                return (true, RWMutexState.grant(&state, &waiters))
            }
            if !held { goFatal("sync: Unlock of unlocked RWMutex") }
        }

        /// Releases a read lock.
        ///
        /// - Precondition: it is held for reading ("sync: RUnlock of unlocked RWMutex").
        public func readUnlock() {
            let held = storage.update { state, waiters -> (Bool, [SyncWaiter]) in
                guard state.readers > 0 else { return (false, []) }
                state.readers -= 1
                return (true, RWMutexState.grant(&state, &waiters))
            }
            if !held { goFatal("sync: RUnlock of unlocked RWMutex") }
        }

        /// How many tasks wait for it, writers and readers (for tests:
        /// `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            storage.waitingCount
        }

        /// Runs `body` holding the write lock.
        public func withLock<T>(file: StaticString = #fileID, line: UInt = #line, _ body: () async throws -> T) async throws -> T {
            try await lock(file: file, line: line)
            defer { unlock() }
            return try await body()
        }

        /// Runs `body` holding a read lock.
        public func withReadLock<T>(file: StaticString = #fileID, line: UInt = #line, _ body: () async throws -> T) async throws -> T {
            try await readLock(file: file, line: line)
            defer { readUnlock() }
            return try await body()
        }
    }
}
