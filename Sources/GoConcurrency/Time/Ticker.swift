// Go's time.Ticker, with Go 1.23's guarantees.

/// Sends the time on ``channel`` every period (Go: `time.NewTicker`).
///
///     let ticker = Ticker(every: .milliseconds(500))
///     defer { ticker.stop() }
///     for await tick in ticker.channel { ... }
///
/// A ticker never blocks: a receiver that falls behind loses ticks, and the
/// next tick comes at the next multiple of the period rather than in a burst
/// (Guarantees, rule 31). After ``stop()`` or ``reset(every:)`` returns, no tick of the
/// earlier setting can be received. A ticker nobody references is reclaimed.
public final class Ticker: Sendable {
    public typealias Instant = ContinuousClock.Instant

    /// Where the ticks arrive. Stopping the ticker does not close it.
    public let channel: ReceiveOnlyChan<Instant>
    let core: TimerCore

    /// Starts a ticker whose first tick comes one `period` from now.
    ///
    /// - Precondition: `period > 0` (Go panics with "non-positive interval for
    ///   NewTicker").
    public init(every period: Duration) {
        let nanoseconds = Ticker.checked(period, "NewTicker")
        let storage = ChannelStorage<Instant>(capacity: 1)
        let core = TimerCore(kind: .ticker(period: nanoseconds), channel: storage)
        storage.timer = core
        self.channel = ReceiveOnlyChan(storage: storage)
        self.core = core
        core.arm(after: nanoseconds)
    }

    /// Stops the ticker (Go: `t.Stop()`); no tick is sent after it returns.
    public func stop() {
        core.stop()
    }

    /// Stops the ticker and restarts it with a new period, the first tick one
    /// `period` from now (Go: `t.Reset(d)`).
    ///
    /// - Precondition: `period > 0`.
    public func reset(every period: Duration) {
        let nanoseconds = Ticker.checked(period, "Ticker.Reset")
        core.arm(after: nanoseconds, kind: .ticker(period: nanoseconds))
    }

    private static func checked(_ period: Duration, _ function: String) -> UInt64 {
        let nanoseconds = Monotonic.nanoseconds(period)
        if nanoseconds == 0 { goPanic("non-positive interval for \(function)", detail: "period: \(period)") }
        return nanoseconds
    }
}

/// A channel that receives the time every `period`, for programs that never
/// stop it (Go: `time.Tick(d)`). Like every ticker, it is reclaimed once
/// nobody holds the channel.
///
/// - Precondition: `period > 0`.
public func tick(every period: Duration) -> ReceiveOnlyChan<ContinuousClock.Instant> {
    let ticker = Ticker(every: period)
    return ticker.channel
}
