// The one path by which every blocking operation waits. Send, receive, select,
// sleep and the thread-blocking calls all come through here, saying what they
// wait on (`WaitReason`) and where they were called: a goroutine's park is
// recorded in its `Goroutine` record, a select's, sleep's or thread's also in
// its `Waiter`, so that the runtime can list parked goroutines and tell when
// none can proceed.
//
// A goroutine's root task parks through the standard library's
// `_unsafeInheritExecutor_` continuation functions. The public ones take the
// caller's isolation as an `isolated` parameter, so the compiler hops to it
// before creating the continuation: a `swift_task_switch` that, on a task with
// an executor preference, looks the preference up under the task's
// status-record lock, although a `nonisolated(nonsending)` function is already
// on its caller's executor. The inheriting variants create the same
// continuation where the caller runs, which is where it must resume anyway;
// they are emitted into this module (`@_alwaysEmitIntoClient`), so nothing at
// run time depends on them. Measured: 6 executor switches per ping-pong round
// trip become 4 (BENCHMARKS.md).
//
// The parks are never inlined (`@inline(never)`; still `@inlinable`, so the
// caller's module specialises them). After a continuation resumes, the
// compiler hops back to the function's isolation; inlined, that hop landed in
// the caller, at the join of its fast and its parking path, so every
// operation that did not park paid it too: one `swift_task_switch` per
// buffered send or receive, each taking the task's status-record lock. Out of
// line, only a park hops. Measured: buffered_stream 44 -> 13 ns, mpmc_4x4
// 73 -> 28 ns; switches on buffered_stream and mpmc_4x4 together 143,829 ->
// 1,400 for 140,000 operations.

@usableFromInline
enum Parking {
    /// Suspends the current task until its continuation is resumed: the plain
    /// channel operations' path, which allocates nothing.
    ///
    /// `register` runs once, synchronously, with the continuation and whether
    /// the task can be cancelled: it either completes the operation (resuming
    /// the continuation itself) or queues the continuation where a partner
    /// will find it (checking for cancellation first, if the task can be
    /// cancelled). `onCancel` runs if the task is cancelled meanwhile; it
    /// resumes the continuation only if it can take it back from where
    /// `register` queued it. The root task of a goroutine cannot be
    /// cancelled, so it parks without a handler.
    ///
    /// `object` is what it parks on: a goroutine's wait on an object shared
    /// with the outside is recorded as one the outside may end; anyone else
    /// parking on it makes it shared.
    @inlinable @inline(never)
    nonisolated(nonsending) static func park<T>(
        task: TaskIdentity,
        reason: WaitReason,
        at location: SourceLocation,
        on object: some WaitObject,
        register: (UnsafeContinuation<T, any Error>, _ cancellable: Bool) -> Void,
        onCancel: @Sendable () -> Void
    ) async throws -> T {
        if let goroutine = Goroutine.rooted(at: task) {
            goroutine._withUnsafeGuaranteedRef { $0.parked(reason, at: location, outside: object.mayBeUsedOutside(of: $0.runtimeID)) }
            defer { goroutine._withUnsafeGuaranteedRef { $0.unparked() } }
            return try await _unsafeInheritExecutor_withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
                register(continuation, false)
            }
        }
        object.shareWithOutsideUnlessFamily()
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
                register(continuation, true)
            }
        } onCancel: {
            onCancel()
        }
    }

    /// Suspends the current task until `waiter` is claimed and resumed: the
    /// path of select and sleep, which wait on several things at once or on a
    /// timer.
    ///
    /// `register` runs once, synchronously, after the continuation is published:
    /// it queues the waiter wherever it waits (channels, timers). It may find the
    /// operation ready instead; it then claims the waiter as `Waiter.aborted` and
    /// resumes it, and the caller runs the operation again.
    ///
    /// Cancellation claims the waiter as `Waiter.cancelled` and resumes it. The
    /// caller unregisters afterwards, whoever claimed: claimers never touch the
    /// other places the waiter is queued. The root task of a goroutine cannot
    /// be cancelled, so it parks without a handler.
    ///
    /// `objects` answers for what it waits on (a select's channels) what the
    /// plain park asks of its one object: whether any may be used outside the
    /// goroutines of a runtime, or (for a task that is not a goroutine's
    /// root) to share each with the outside unless it is family. The caller
    /// knows its objects' type, so the question costs no existential and no
    /// witness call per object.
    @inlinable @inline(never)
    nonisolated(nonsending) static func park(
        _ waiter: Waiter,
        on objects: (WaitObjectQuery) -> Bool = { _ in false },
        register: (Waiter) -> Void
    ) async {
        if let goroutine = Goroutine.rooted(at: TaskIdentity.current) {
            let runtime = goroutine._withUnsafeGuaranteedRef { $0.runtimeID }
            let outside = objects(.mayBeUsedOutside(runtime: runtime))
            goroutine._withUnsafeGuaranteedRef { $0.parked(waiter.reason, at: waiter.location, outside: outside) }
            defer { goroutine._withUnsafeGuaranteedRef { $0.unparked() } }
            await _unsafeInheritExecutor_withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                waiter.continuation = continuation
                register(waiter)
            }
            return
        }
        _ = objects(.shareWithOutsideUnlessFamily)
        await withTaskCancellationHandler {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                waiter.continuation = continuation
                if waiter.publishContinuation() {
                    // Cancelled before it could queue anywhere.
                    continuation.resume()
                    return
                }
                register(waiter)
            }
        } onCancel: {
            if waiter.tryClaim(Waiter.cancelled), waiter.cancellerClaimed() {
                waiter.continuation.unsafelyUnwrapped.resume()
            }
        }
    }

    /// Blocks the calling OS thread until `waiter` is claimed and resumed.
    /// No task is involved, so nothing can cancel it.
    @inlinable
    static func parkThread(_ waiter: Waiter, on object: some WaitObject, register: (Waiter) -> Void) {
        object.shareWithOutside()
        let parker = ThreadParker()
        waiter.thread = parker
        register(waiter)
        parker.park()
    }
}

/// What a park that waits on several objects asks of them (see
/// `Parking.park(_:on:register:)`).
@usableFromInline
enum WaitObjectQuery {
    /// Whether any may be used outside the goroutines of the runtime with
    /// this `GoRuntime.id` (`WaitObject.mayBeUsedOutside(of:)`).
    case mayBeUsedOutside(runtime: UInt)
    /// Share each with the outside unless it is family
    /// (`WaitObject.shareWithOutsideUnlessFamily()`); the answer is ignored.
    case shareWithOutsideUnlessFamily
}

/// Something goroutines park on (a channel, a sync primitive), as the deadlock
/// detector sees it: whether code outside the runtime's goroutines may use it.
///
/// An object is shared with the outside from the start if it was made outside
/// goroutines, and from the moment such code (not a goroutine's child task or
/// a plain task a goroutine of the same runtime started) parks on it or uses
/// it from a plain thread (`blockingSend`, `blockingReceive`), or a program says so
/// (`Chan.markUsedOutsideGoroutines`). It never stops being shared. When an
/// object made by a runtime's goroutine becomes shared, that runtime is open
/// to the outside for good: the outside code may hold its other objects too.
@usableFromInline
protocol WaitObject: AnyObject {
    var isSharedWithOutside: Bool { get }
    /// Sets the shared flag; true if this call set it (it was not set before).
    func markShared() -> Bool
    /// The `GoRuntime.id` of the goroutine that made it, 0 if none did: an
    /// id, compared on every park without touching the runtime's reference
    /// count, which every processor shares.
    var madeByID: UInt { get }
}

extension WaitObject {
    /// The runtime of the goroutine that made it, if a goroutine did.
    @inlinable
    var madeBy: GoRuntime? { GoRuntime.withID(madeByID) }

    /// Marks it shared with the outside; the first time, the runtime whose
    /// goroutine made it is opened to the outside for good.
    @inlinable
    func shareWithOutside() {
        if !isSharedWithOutside, markShared() {
            madeBy?.openToOutside()
        }
    }

    /// Whether something outside the goroutines of the runtime whose
    /// `GoRuntime.id` is `runtime` may use it: code outside goroutines, or the
    /// goroutines of another runtime (which `runtime`'s deadlock check does
    /// not watch).
    @inlinable
    func mayBeUsedOutside(of runtime: UInt) -> Bool {
        isSharedWithOutside || madeByID != runtime
    }

    /// A task that is not a goroutine's root parks on it: it is shared with
    /// the outside unless the task belongs to a goroutine of the runtime that
    /// made it — a plain task a goroutine started (counted through the
    /// goroutine's handle while it lives) or a child task (whose first job on
    /// the runtime already opened it: see `SwiftRuntimeABI.isChildTask`).
    @usableFromInline
    func shareWithOutsideUnlessFamily() {
        if isSharedWithOutside { return }
        if madeByID != 0, Goroutine.current?.runtimeID == madeByID { return }
        shareWithOutside()
    }
}
