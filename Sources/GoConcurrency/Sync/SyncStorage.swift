// The lock-owning core of every sync primitive: the primitive's state, the
// queue of tasks parked on it, and one lock over both.
//
// Invariants (all protected by `lock`):
// - `state` and `waiters` change only under the lock, in `wait` (grant at once
//   or queue), `update` (the primitive's releases) and a waiter's cancellation.
// - A queued waiter is taken out exactly once, under the lock, by whoever
//   grants it (`update`, or `regrant` after a cancellation) or by its own
//   cancellation (only a cancellable wait's: one queued with
//   `cancellable: false` stays until granted), and is resumed only after the
//   lock is released.
// - A storage with a `holder` rule (a mutex) is listed in `ContendedMutexes`
//   from the moment a goroutine queues on it; the listing is weak, and pruned
//   there.
// - `regrant` is the primitive's pure rule for granting queued waiters: run
//   after a release and after a cancellation (a waiter leaving the head of the
//   queue may let those behind it in).

import Synchronization

final class SyncStorage<State>: WaitObject, MutexProbe, @unchecked Sendable {
    typealias Regrant = @Sendable (inout State, inout SyncWaiters) -> [SyncWaiter]

    private let lock = Lock()
    private var state: State
    private var waiters = SyncWaiters()
    private let regrant: Regrant

    /// The task holding it, for a primitive with one holder (a mutex): the
    /// mutex-cycle check reads it.
    private let holder: (@Sendable (State) -> UInt)?

    init(_ state: State, regrant: @escaping Regrant = { _, _ in [] }, holder: (@Sendable (State) -> UInt)? = nil) {
        self.state = state
        self.regrant = regrant
        self.holder = holder
        super.init()
    }

    /// Parks the calling task unless `grantNow` (run under the lock, with the
    /// queue) grants at once.
    ///
    /// `cancellable: false` waits until granted whatever happens to the task
    /// (a `Sync.Cond` relocking its mutex after a cancelled wait, an error
    /// group's member waiting for its slot): a cancellation neither refuses
    /// nor takes back the waiter, and nothing is thrown.
    ///
    /// - Throws: `CancellationError` if the task is cancelled before it is
    ///   granted (and `cancellable`); it then holds nothing.
    func wait(
        reason: WaitReason,
        at location: SourceLocation,
        weight: Int = 1,
        cancellable: Bool = true,
        grantNow: (inout State, SyncWaiters) -> Bool
    ) async throws {
        try await parkOnSync(reason: reason, at: location, on: self, weight: weight) { waiter in
            lock.lock()
            if grantNow(&state, waiters) {
                lock.unlock()
                return .granted
            }
            if cancellable && SyncWaiter.callerIsCancelled {
                lock.unlock()
                return .cancelled
            }
            // Not listed for removal by its task when it must not be taken back.
            waiters.append(cancellable ? waiter : waiter.uncancellable)
            lock.unlock()
            if holder != nil { ContendedMutexes.shared.add(self) }
            return .queued
        } cancel: { task in
            if !cancellable { return nil }
            self.lock.lock()
            let removed = self.waiters.remove(task)
            let granted = removed == nil ? [] : self.regrant(&self.state, &self.waiters)
            self.lock.unlock()
            for waiter in granted { waiter.continuation.resume() }
            return removed
        }
    }

    /// Runs `body` under the lock; `body` returns its result and the waiters
    /// it granted, which are resumed after the lock is released.
    func update<R>(_ body: (inout State, inout SyncWaiters) -> (R, [SyncWaiter])) -> R {
        lock.lock()
        let (result, granted) = body(&state, &waiters)
        lock.unlock()
        for waiter in granted { waiter.continuation.resume() }
        return result
    }

    /// The holding task and the queued tasks, for a primitive with a holder.
    func holderAndWaiters() -> (holder: UInt, waiting: [UInt])? {
        guard let holder else { return nil }
        lock.lock()
        defer { lock.unlock() }
        return (holder(state), waiters.tasks.map(\.bits))
    }

    /// How many tasks are queued on it.
    var waitingCount: Int {
        read { _, waiters in waiters.count }
    }

    /// Runs `body` under the lock, granting nothing.
    func read<R>(_ body: (State, SyncWaiters) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(state, waiters)
    }
}
