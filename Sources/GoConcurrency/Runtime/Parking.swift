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
// trip become 4 (BENCHMARKS-HISTORY.md).
//
// A goroutine's park (`park(task:...)`, `parkGoroutine`, and the waiter park
// of select, sleep and the poller) is inlined into its caller; the paths
// with a cancellation handler park out of line (`@inline(never)`; still
// `@inlinable`, so the caller's module specialises them). After a
// continuation resumes, the compiler hops back to the function's isolation.
// Inlined, the goroutine's park puts that hop on its own path only, and the
// caller allocates no async frame for the park (a task-allocator
// allocation and release per park, about 95 instructions; measured with
// `icount`: pingpong 4,279 -> 4,012, unbuffered_stream 2,174 -> 1,934,
// buffered_stream and mpmc_4x4 unchanged or lower). The path with a
// cancellation handler stays out of line (`parkCancellable`): inlined with
// it, the isolated `withTaskCancellationHandler` put a hop at the join of
// the caller's fast and parking paths, so every operation that did not park
// paid one `swift_task_switch` (buffered_stream 161 -> 565 instructions per
// operation; an earlier measurement, with every park inlined: 44 -> 13 ns on
// buffered_stream once they were taken out of line).
//
// A park that returns tells the thread sanitizer that its task was resumed
// (`goconcurrency_sanitizer_resumed`, the C target's, nothing without the
// sanitizer): when the resume came before the task finished suspending, the
// Swift runtime hands over with an atomic the sanitizer cannot see. The
// resumer's side is in the C target's handover.c.

import CGoConcurrencySanitizer

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
    /// cancelled, so it parks without a handler (unless it is a cancellable
    /// one, a `Sync.ErrorGroup` member: see `Goroutine.cancellable`).
    ///
    /// `object` is what it parks on: a goroutine's wait on an object shared
    /// with the outside is recorded as one the outside may end; anyone else
    /// parking on it makes it shared.
    @inlinable @inline(__always)
    nonisolated(nonsending) static func park<T>(
        task: TaskIdentity,
        reason: WaitReason,
        at location: SourceLocation,
        on object: some WaitObject,
        register: (UnsafeContinuation<T, any Error>, _ cancellable: Bool) -> Void,
        onCancel: @Sendable () -> Void
    ) async throws -> T {
        let goroutine = Goroutine.rooted(at: task)
        if let goroutine {
            if !goroutine._withUnsafeGuaranteedRef({ $0.cancellable }) {
                return try await parkGoroutine(goroutine, task: task, reason: reason, at: location, on: object) {
                    register($0, false)
                }
            }
            goroutine._withUnsafeGuaranteedRef {
                $0.parked(reason, at: location, outside: object.mayBeUsedOutside(of: $0.runtimeID))
            }
        } else {
            object.shareWithOutsideUnlessFamily()
        }
        return try await parkCancellable(task: task, goroutine: goroutine, register: register, onCancel: onCancel)
    }

    /// The goroutine whose root task is `task`, if it is one that parks
    /// without a cancellation handler (`parkGoroutine`): every goroutine but
    /// a cancellable one (see `Goroutine.cancellable`).
    @inlinable @inline(__always)
    static func uncancellableGoroutine(at task: TaskIdentity) -> Unmanaged<Goroutine>? {
        guard let goroutine = Goroutine.rooted(at: task),
              !goroutine._withUnsafeGuaranteedRef({ $0.cancellable })
        else { return nil }
        return goroutine
    }

    /// The park of `goroutine`'s root task (found by
    /// `uncancellableGoroutine(at:)`): records the wait, then suspends until
    /// the continuation `register` was given is resumed. No cancellation
    /// handler, nothing allocated. A channel operation calls it with the
    /// channel's lock still held from the look that found it must wait, and
    /// its `register` queues the continuation and releases the lock: one
    /// critical section per park instead of two. That is sound because
    /// nothing here takes another lock (the wait record is atomic words) and
    /// nothing suspends before `register` has run: the inheriting
    /// continuation function makes no executor hop.
    @inlinable @inline(__always)
    nonisolated(nonsending) static func parkGoroutine<T>(
        _ goroutine: Unmanaged<Goroutine>,
        task: TaskIdentity,
        reason: WaitReason,
        at location: SourceLocation,
        on object: some WaitObject,
        register: (UnsafeContinuation<T, any Error>) -> Void
    ) async throws -> T {
        goroutine._withUnsafeGuaranteedRef {
            $0.parked(reason, at: location, outside: object.mayBeUsedOutside(of: $0.runtimeID))
        }
        defer { goroutine._withUnsafeGuaranteedRef { $0.unparked() } }
        defer { goconcurrency_sanitizer_resumed(task.pointer) }
        return try await _unsafeInheritExecutor_withUnsafeThrowingContinuation { (continuation: UnsafeContinuation<T, any Error>) in
            register(continuation)
        }
    }

    /// `park`'s path for a task that can be cancelled: a plain one, or a
    /// cancellable goroutine's (its park already recorded). Out of line, and
    /// `park` inlined into its caller, so that a goroutine's park (the common
    /// one) makes no async frame of its own, and this path's isolated
    /// `withTaskCancellationHandler` stays out of the caller.
    @inlinable @inline(never)
    nonisolated(nonsending) static func parkCancellable<T>(
        task: TaskIdentity,
        goroutine: Unmanaged<Goroutine>?,
        register: (UnsafeContinuation<T, any Error>, _ cancellable: Bool) -> Void,
        onCancel: @Sendable () -> Void
    ) async throws -> T {
        defer { goroutine?._withUnsafeGuaranteedRef { $0.unparked() } }
        defer { goconcurrency_sanitizer_resumed(task.pointer) }
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
    /// operation ready instead; it then claims the waiter as `.aborted` and
    /// resumes it, and the caller runs the operation again.
    ///
    /// Cancellation claims the waiter as `.cancelled` and resumes it. The
    /// caller unregisters afterwards, whoever claimed: claimers never touch the
    /// other places the waiter is queued. The root task of a goroutine cannot
    /// be cancelled, so it parks without a handler (unless it is a
    /// cancellable one: see `Goroutine.cancellable`).
    ///
    /// `objects` answers for what it waits on (a select's channels) what the
    /// plain park asks of its one object: whether any may be used outside the
    /// goroutines of a runtime, or (for a task that is not a goroutine's
    /// root) to share each with the outside unless it is family. The caller
    /// knows its objects' type, so the question costs no existential and no
    /// witness call per object.
    ///
    /// Inlined, as `park(task:...)` is, with the cancellable path out of line
    /// (`parkCancellable(_:...)`): its callers (the parking paths of select,
    /// sleep and the poller's waits, each past its caller's fast path, so
    /// the hop after the resume stays on the park path) then allocate no
    /// async frame for it (select4: about 100 instructions less per value,
    /// with a park per two values).
    @inlinable @inline(__always)
    nonisolated(nonsending) static func park(
        _ waiter: Waiter,
        on objects: (WaitObjectQuery) -> Bool = { _ in false },
        register: (Waiter) -> Void
    ) async {
        let task = TaskIdentity.current
        let goroutine = Goroutine.rooted(at: task)
        if let goroutine {
            let runtime = goroutine._withUnsafeGuaranteedRef { $0.runtimeID }
            let outside = objects(.mayBeUsedOutside(runtime: runtime))
            let cancellable = goroutine._withUnsafeGuaranteedRef {
                $0.parked(waiter.reason, at: waiter.location, outside: outside)
                return $0.cancellable
            }
            if !cancellable {
                defer { goroutine._withUnsafeGuaranteedRef { $0.unparked() } }
                defer { goconcurrency_sanitizer_resumed(task.pointer) }
                await _unsafeInheritExecutor_withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                    waiter.continuation = continuation
                    register(waiter)
                }
                return
            }
        } else {
            _ = objects(.shareWithOutsideUnlessFamily)
        }
        await parkCancellable(waiter, task: task, goroutine: goroutine, register: register)
    }

    /// `park(_:on:register:)`'s path for a task that can be cancelled: a
    /// plain one, or a cancellable goroutine's (its park already recorded).
    @inlinable @inline(never)
    nonisolated(nonsending) static func parkCancellable(
        _ waiter: Waiter,
        task: TaskIdentity,
        goroutine: Unmanaged<Goroutine>?,
        register: (Waiter) -> Void
    ) async {
        // A plain task, or a cancellable goroutine's (see `park(task:...)`).
        defer { goroutine?._withUnsafeGuaranteedRef { $0.unparked() } }
        defer { goconcurrency_sanitizer_resumed(task.pointer) }
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
            if waiter.tryClaim(.cancelled), waiter.cancellerClaimed() {
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
