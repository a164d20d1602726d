// The lock-owning core of every sync primitive: the primitive's state, the
// queue of tasks parked on it, and one lock over both.
//
// Invariants (all protected by `lock`):
// - `state` and `waiters` change only under the lock, in `wait` (grant at once
//   or queue), `update` (the primitive's releases) and a waiter's cancellation.
// - A queued waiter is taken out exactly once, under the lock, by whoever
//   grants it (`update`, or `regrant` after a cancellation) or by its own
//   cancellation, and is resumed only after the lock is released.
// - `regrant` is the primitive's pure rule for granting queued waiters: run
//   after a release and after a cancellation (a waiter leaving the head of the
//   queue may let those behind it in).

import Synchronization

final class SyncStorage<State>: WaitObject, @unchecked Sendable {
    typealias Regrant = @Sendable (inout State, inout SyncWaiters) -> [SyncWaiter]

    private let lock = Lock()
    private var state: State
    private var waiters = SyncWaiters()
    private let regrant: Regrant
    /// Whether code outside goroutines may use it (see `WaitObject`).
    private let outside: Atomic<Bool>
    /// The runtime of the goroutine that made it, if one did.
    private unowned(unsafe) let madeBy: GoRuntime?

    var isSharedWithOutside: Bool { outside.load(ordering: .relaxed) }

    func shareWithOutside() {
        if !outside.load(ordering: .relaxed) {
            outside.store(true, ordering: .relaxed)
            madeBy?.openToOutside()
        }
    }

    init(_ state: State, regrant: @escaping Regrant = { _, _ in [] }) {
        self.state = state
        self.regrant = regrant
        let maker = Goroutine.current?.runtime
        self.madeBy = maker
        self.outside = Atomic(maker == nil)
    }

    /// Parks the calling task unless `grantNow` (run under the lock, with the
    /// queue) grants at once.
    ///
    /// - Throws: `CancellationError` if the task is cancelled before it is
    ///   granted; it then holds nothing.
    func wait(
        reason: WaitReason,
        at location: SourceLocation,
        weight: Int = 1,
        grantNow: (inout State, SyncWaiters) -> Bool
    ) async throws {
        try await parkOnSync(reason: reason, at: location, on: self, weight: weight) { waiter in
            lock.lock()
            defer { lock.unlock() }
            if grantNow(&state, waiters) { return .granted }
            if SyncWaiter.callerIsCancelled { return .cancelled }
            waiters.append(waiter)
            return .queued
        } cancel: { task in
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

    /// Runs `body` under the lock, granting nothing.
    func read<R>(_ body: (State, SyncWaiters) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(state, waiters)
    }
}
