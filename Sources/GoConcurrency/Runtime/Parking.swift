// The one path by which every blocking operation waits. Send, receive, select,
// sleep and the thread-blocking calls all come through here with a `Waiter`
// that records what is waited on (`WaitReason`) and the caller's location, so
// that the runtime can list parked goroutines and tell when none can proceed.

@usableFromInline
enum Parking {
    /// Suspends the current task until `waiter` is claimed and resumed.
    ///
    /// `register` runs once, synchronously, after the continuation is published:
    /// it queues the waiter wherever it waits (channels, timers). It may find the
    /// operation ready instead; it then claims the waiter as `Waiter.aborted` and
    /// resumes it, and the caller runs the operation again.
    ///
    /// Cancellation claims the waiter as `Waiter.cancelled` and resumes it. The
    /// caller unregisters afterwards, whoever claimed: claimers never touch the
    /// other places the waiter is queued.
    @inlinable
    nonisolated(nonsending) static func park(_ waiter: Waiter, register: (Waiter) -> Void) async {
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
    static func parkThread(_ waiter: Waiter, register: (Waiter) -> Void) {
        let parker = ThreadParker()
        waiter.thread = parker
        register(waiter)
        parker.park()
    }
}
