// The time of a runtime made for tests: it stands still until the test moves
// it, so timers, tickers, sleeps and select timeouts fire exactly when the
// test says (the runtime issue's "test clock").
//
// Invariants:
// - `nanoseconds` only grows. The runtime's timer heap reads it where a real
//   runtime reads `Monotonic.now()`; its processors never sleep until a
//   deadline of this clock (they park until woken), and `advance` wakes one to
//   fire what became due.
// - `runtime` is set once, by the runtime the clock is given to, before any of
//   its threads start; a clock belongs to one runtime.

import Synchronization

/// A clock that moves only when told to: the time of a ``GoRuntime`` made with
/// ``GoRuntime/init(processors:clock:)``, for tests of code that uses timers.
///
/// On such a runtime, ``sleep(for:file:line:)``, ``Timer``, ``Ticker``,
/// ``after(_:)``, ``afterFunc(_:_:)`` and a select's ``after(_:_:)-(_,SelectHandler<Result>)`` case
/// count this clock's time, so a test decides exactly when each fires:
///
///     let clock = ManualClock()
///     let runtime = GoRuntime(processors: 2, clock: clock)
///     let ticks = Chan<ContinuousClock.Instant>(capacity: 10)
///     go(on: runtime) {
///         let ticker = Ticker(every: .seconds(1))
///         for _ in 0..<3 { try await ticks.send(try await ticker.channel.receive()!) }
///     }
///     clock.advance(by: .seconds(3.5))  // one tick waits, two were dropped
///
/// Values sent by timers are ``now``-based instants: a timer armed for 2 s at
/// `t` sends `t + 2 s`. Time does not move by itself, so a goroutine that sleeps
/// stays asleep until the test advances the clock past its deadline.
public final class ManualClock: Sendable {
    /// Nanoseconds since `origin`; starts above zero (0 means "no deadline" in
    /// places).
    private let nanoseconds = Atomic<UInt64>(1_000_000_000)
    private let origin = ContinuousClock.now - .seconds(1)
    private let owner = Atomic<UInt>(0)

    public init() {}

    /// The clock's current time, as the instants timers send.
    public var now: ContinuousClock.Instant {
        instant(at: nanoseconds.load(ordering: .acquiring))
    }

    /// Moves the clock forward by `duration` and has the runtime fire every
    /// timer that became due (on its processors, right after this returns).
    public func advance(by duration: Duration) {
        nanoseconds.add(Monotonic.nanoseconds(duration), ordering: .sequentiallyConsistent)
        if let runtime = GoRuntime.live(id: owner.load(ordering: .acquiring)) {
            runtime.earliestTimerChanged()
        }
    }

    /// How many timers of the clock's runtime are armed and have not fired
    /// (stopped ones excluded): a test waits until the code it drives has
    /// armed its timers before it moves the clock.
    public var pendingTimers: Int {
        GoRuntime.live(id: owner.load(ordering: .acquiring))?.timers.pendingCount ?? 0
    }

    // MARK: For the runtime

    func attach(to runtime: GoRuntime) {
        let attached = owner.compareExchange(expected: 0, desired: runtime.id, ordering: .acquiringAndReleasing).exchanged
        if !attached { goPanic("ManualClock: a clock belongs to one runtime") }
    }

    /// Now, in the clock's nanoseconds (the timer heap's unit).
    @usableFromInline
    func read() -> UInt64 {
        nanoseconds.load(ordering: .sequentiallyConsistent)
    }

    /// The clock's nanoseconds at `instant` (0 for an instant before its
    /// origin).
    func deadline(for instant: ContinuousClock.Instant) -> UInt64 {
        Monotonic.nanoseconds(instant - origin)
    }

    /// The instant of a deadline in the clock's nanoseconds.
    func instant(at deadline: UInt64) -> ContinuousClock.Instant {
        origin.advanced(by: .nanoseconds(Int64(clamping: deadline)))
    }
}
