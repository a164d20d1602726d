// Go's sync.Mutex for tasks: a thin type over `SyncStorage`.
//
// Invariants (in the storage, under its lock): the state says whether some
// task holds the mutex, and which (`holder`, the task that took it, for the
// mutex-cycle check; any task may unlock, as in Go). Unlock with waiters
// queued hands it straight to the first (it stays locked), so waiters get it
// in FIFO order and a task that keeps relocking cannot starve them (Go's
// starvation mode, always on). Unlock of an unlocked mutex traps before
// anything changes.

struct MutexState {
    var locked = false
    /// The task that holds it (`TaskIdentity.bits`), 0 when unlocked.
    var holder: UInt = 0
}

extension Sync {
    /// A mutual exclusion lock for goroutines and tasks (Go: `sync.Mutex`).
    ///
    /// Unlike `Synchronization.Mutex`, it parks the waiting task instead of
    /// blocking its thread, so it may be held across `await`s. It is not
    /// reentrant, and any task may unlock it, as in Go.
    ///
    ///     let mutex = Sync.Mutex()
    ///     try await mutex.withLock {
    ///         balance += try await fetchInterest()
    ///     }
    public final class Mutex: Sendable {
        private let storage = SyncStorage(MutexState(), holder: { $0.holder })

        public init() {}

        /// Waits until the mutex is free and takes it.
        ///
        /// - Throws: `CancellationError` if the waiting task is cancelled (it
        ///   then does not hold the mutex).
        public func lock(file: StaticString = #fileID, line: UInt = #line) async throws {
            try await acquire(at: SourceLocation(fileID: file, line: line), cancellable: true)
        }

        /// Waits until the mutex is free and takes it, whether or not the
        /// calling task is cancelled meanwhile: `Sync.Cond.wait` relocks
        /// through it, since it must return holding the mutex however it ends.
        func lockIgnoringCancellation(at location: SourceLocation) async {
            do {
                try await acquire(at: location, cancellable: false)
            } catch {
                preconditionFailure("an uncancellable wait threw \(error)")
            }
        }

        private func acquire(at location: SourceLocation, cancellable: Bool) async throws {
            if tryLock() { return }
            let task = TaskIdentity.current.bits
            try await storage.wait(reason: .mutexLock, at: location, cancellable: cancellable) { state, _ in
                if state.locked { return false }
                state = MutexState(locked: true, holder: task)
                return true
            }
        }

        /// Takes the mutex if it is free; false if it is held.
        public func tryLock() -> Bool {
            let task = TaskIdentity.current.bits
            return storage.update { state, _ in
                if state.locked { return (false, []) }
                state = MutexState(locked: true, holder: task)
                return (true, [])
            }
        }

        /// Releases the mutex: the longest-waiting task, if any, gets it next.
        ///
        /// - Precondition: the mutex is locked ("sync: unlock of unlocked
        ///   mutex", a programmer error, as in Go).
        public func unlock() {
            let wasLocked = storage.update { state, waiters -> (Bool, [SyncWaiter]) in
                guard state.locked else { return (false, []) }
                if let next = waiters.popFirst() {  // stays locked, for it
                    state.holder = next.task.bits
                    return (true, [next])
                }
                state = MutexState()
                return (true, [])
            }
            if !wasLocked { goFatal("sync: unlock of unlocked mutex") }
        }

        /// How many tasks wait for it (for tests: `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            storage.waitingCount
        }

        /// Runs `body` holding the mutex, and releases it however `body` ends.
        public func withLock<T>(
            file: StaticString = #fileID, line: UInt = #line,
            _ body: () async throws -> T
        ) async throws -> T {
            try await lock(file: file, line: line)
            defer { unlock() }
            return try await body()
        }
    }
}
