// Go's time.Timer, with Go 1.23's guarantees.

/// A single event in the future: at the deadline, the scheduled time is sent on
/// ``channel`` (Go: `time.NewTimer`), or, for a timer made by
/// ``afterFunc(_:_:)``, a function starts as a goroutine.
///
///     let timer = Timer(after: .seconds(2))
///     _ = try await timer.channel.receive()      // two seconds later
///
/// As in Go 1.23: once ``stop()`` or ``reset(after:)`` returns, no value of the
/// earlier setting can be received; the channel reports count and capacity 0;
/// a timer nobody references any more is reclaimed, stopped or not.
///
/// - Note: If your file also imports Foundation, write `GoConcurrency.Timer`.
public final class Timer: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// Where the timer sends the time it was scheduled for. A timer made by
    /// ``afterFunc(_:_:)`` never sends on it (Go's `C` is nil there).
    public let channel: ReceiveOnlyChan<Instant>
    let core: TimerCore

    /// Starts a timer that fires once, `delay` from now (Go:
    /// `time.NewTimer(d)`). A delay of zero or less fires at once.
    public convenience init(after delay: Duration) {
        self.init(kind: .timer, delay: delay)
    }

    init(kind: TimerCore.Kind, delay: Duration) {
        let storage = ChannelStorage<Instant>(capacity: 1)
        let core = TimerCore(kind: kind, channel: storage)
        storage.timer = core
        self.channel = ReceiveOnlyChan(storage: storage)
        self.core = core
        core.arm(after: Monotonic.nanoseconds(delay))
    }

    /// Stops the timer (Go: `t.Stop()`). True if that stopped it: it had not
    /// fired, or it had fired but its value was not received yet (the value is
    /// discarded). False if it was already stopped or its value received; for
    /// an ``afterFunc(_:_:)`` timer, false means the function has started.
    /// Stop never closes the channel.
    @discardableResult
    public func stop() -> Bool {
        core.stop()
    }

    /// Re-arms the timer to fire `delay` from now (Go: `t.Reset(d)`), and
    /// returns whether it was active before (as ``stop()`` would have). No
    /// value of the earlier setting can be received after it returns.
    @discardableResult
    public func reset(after delay: Duration) -> Bool {
        core.arm(after: Monotonic.nanoseconds(delay))
    }
}

/// A channel that receives the scheduled time once, `delay` from now (Go:
/// `time.After(d)`). The timer behind it is reclaimed as soon as nobody holds
/// the channel, fired or not.
///
///     let timeout = after(.seconds(1))
///     let message = try await select {
///         results.onReceive { $0 }
///         timeout.onReceive { _ in nil }
///     }
///
/// Inside a `select`, `after(d) { ... }` is the lighter timeout case: it arms
/// no timer unless the select has to wait.
public func after(_ delay: Duration) -> ReceiveOnlyChan<ContinuousClock.Instant> {
    Timer(after: delay).channel
}

/// Runs `function` on a new goroutine once `delay` has passed (Go:
/// `time.AfterFunc(d, f)`), on the runtime of the goroutine that called it
/// (``GoRuntime/shared`` outside goroutines), whether or not the returned
/// timer is kept. Stop the returned timer to cancel it; `stop()` returning
/// false means the function has already started.
///
/// `function` may be synchronous or `async` and may throw: the goroutine
/// runs it as `go` runs its body, so it may wait (send, receive, sleep), and
/// an error escaping it is a goroutine panic.
///
/// ```go
/// time.AfterFunc(time.Second, func() { results <- "late" })
/// ```
///
/// ```swift
/// afterFunc(.seconds(1)) { try await results.send("late") }
/// ```
@discardableResult
public func afterFunc(_ delay: Duration, _ function: @escaping @Sendable () async throws -> Void) -> Timer {
    Timer(kind: .function(function), delay: delay)
}
