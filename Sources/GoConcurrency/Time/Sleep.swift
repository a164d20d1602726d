// Go's time.Sleep: park the calling goroutine until a deadline.

/// Suspends the calling task for `duration` (Go: `time.Sleep(d)`), parked on
/// the runtime's timers with the wait reason "sleep".
///
/// A duration of zero or less returns at once (Guarantees, rule 32).
///
/// - Throws: `CancellationError` if the task is cancelled while it sleeps.
@inlinable
public nonisolated(nonsending) func sleep(for duration: Duration, file: StaticString = #fileID, line: UInt = #line) async throws {
    let nanoseconds = Monotonic.nanoseconds(duration)
    if nanoseconds == 0 { return }
    let timers = TimerQueue.current
    let deadline = timers.now() &+ nanoseconds
    let waiter = Waiter(reason: .sleep, location: SourceLocation(fileID: file, line: line))
    var timer: TimerEntry?
    await Parking.park(waiter) { waiter in
        timer = timers.schedule(at: deadline) {
            if waiter.tryClaim(.timedOut) {
                waiter.resume()
            }
        }
    }
    if waiter.outcome == .cancelled {
        if let timer {
            timers.cancel(timer)
        }
        throw CancellationError()
    }
}
