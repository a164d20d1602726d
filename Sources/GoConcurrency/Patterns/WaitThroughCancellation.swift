// Waiting out another goroutine's work even when the caller is cancelled.
//
// `Dispatcher.stop` and `ResourcePool.close` promise that every job runs or
// is handed back once, and that a second caller returns only after the first
// has finished. Their waits (a WaitGroup, a channel's close) throw
// `CancellationError` in a cancelled task; returning then would read
// `setAside` while the dispatcher still appends to it, or let a second
// caller return early. So a cancelled wait carries on in a task of its own,
// which nobody cancels, and the caller awaits that task's end.

/// Runs `wait`; if it throws (the caller's task was cancelled while it
/// waited), runs it again in a detached task and waits for that one, which
/// cannot be cancelled from here. Returns once `wait` has returned normally
/// (or failed for another reason in the detached task).
func waitThroughCancellation(_ wait: @escaping @Sendable () async throws -> Void) async {
    do {
        try await wait()
    } catch {
        // Only now does the wait leave the caller's task: an uncancelled
        // caller keeps its goroutine's wait record and the deadlock check's
        // view of it.
        await Task.detached { try? await wait() }.value
    }
}
