// Guarantees, rules 26, 28, 29, 31 and 33 again, on a runtime whose clock
// moves only when the test moves it (`ManualClock`): each timer fires at the
// exact moment the test chooses, so these check what the real-time tests can
// only bracket — the exact values sent, and what has not fired yet.

import Foundation
import Testing
@testable import GoConcurrency

@Suite("Time on a manual clock", .timeLimit(Stress.timeLimit))
struct ManualClockTests {
    typealias Instant = ContinuousClock.Instant

    /// A runtime of its own for each test: the clock's moves are the test's.
    static func makeRuntime() -> (ManualClock, GoRuntime) {
        let clock = ManualClock()
        return (clock, GoRuntime(processors: 1, clock: clock))
    }

    /// Runs `body` as a goroutine of `runtime` (timers armed there count the
    /// runtime's clock) and returns what it returns.
    static func onRuntime<T: Sendable>(_ runtime: GoRuntime, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let result = Chan<T>(capacity: 1)
        go(on: runtime) { try await result.send(try await body()) }
        return try #require(try await result.receive())
    }

    /// Waits until the clock's runtime has `count` timers armed.
    static func waitForTimers(_ clock: ManualClock, _ count: Int) async throws {
        try await waitUntil("\(count) timers are armed") { clock.pendingTimers == count }
    }

    /// Waits until `channel` holds a value and takes it.
    static func nextValue(_ channel: ReceiveOnlyChan<Instant>) async throws -> Instant {
        var value: Instant?
        try await waitUntil("a value arrives") {
            if case .value(let received) = channel.tryReceive() { value = received }
            return value != nil
        }
        return value!
    }

    @Test func rule26_after_fires_once_exactly_at_its_deadline_with_that_time() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let start = clock.now
        let channel = try await Self.onRuntime(runtime) { after(.seconds(2)) }
        try await Self.waitForTimers(clock, 1)
        clock.advance(by: .milliseconds(1999))
        #expect(clock.pendingTimers == 1, "not due yet, so not fired")
        #expect(channel.tryReceive() == .empty)
        clock.advance(by: .milliseconds(1))
        #expect(try await Self.nextValue(channel) == start + .seconds(2))
        clock.advance(by: .seconds(10))
        #expect(clock.pendingTimers == 0)
        #expect(channel.tryReceive() == .empty, "once")
    }

    @Test func rule28_stop_of_a_fired_unreceived_timer_reports_it_active_and_drops_the_value() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let timer = try await Self.onRuntime(runtime) { Timer(after: .seconds(1)) }
        clock.advance(by: .seconds(1))
        try await Self.waitForTimers(clock, 0)  // it fired: the value waits in the channel
        #expect(timer.stop(), "a value nobody received counts as active")
        #expect(timer.channel.tryReceive() == .empty, "no stale value after stop")
        #expect(!timer.stop(), "stopped already")
    }

    @Test func rule28_a_timer_stopped_before_its_deadline_never_fires() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let timer = try await Self.onRuntime(runtime) { Timer(after: .seconds(1)) }
        clock.advance(by: .milliseconds(999))
        #expect(timer.stop())
        clock.advance(by: .seconds(5))
        #expect(clock.pendingTimers == 0)
        #expect(timer.channel.tryReceive() == .empty)
    }

    @Test func rule29_reset_sends_only_the_new_settings_value() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let start = clock.now
        let timer = try await Self.onRuntime(runtime) { Timer(after: .seconds(1)) }
        clock.advance(by: .seconds(1))
        try await Self.waitForTimers(clock, 0)  // fired, value unreceived
        #expect(timer.reset(after: .seconds(1)), "the earlier setting was active")
        #expect(timer.channel.tryReceive() == .empty, "the earlier setting's value is gone")
        clock.advance(by: .milliseconds(999))
        #expect(timer.channel.tryReceive() == .empty)
        clock.advance(by: .milliseconds(1))
        #expect(try await Self.nextValue(timer.channel) == start + .seconds(2))
    }

    @Test func rule31_a_ticker_nobody_reads_keeps_one_tick_and_skips_the_missed_periods() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let start = clock.now
        let ticker = try await Self.onRuntime(runtime) { Ticker(every: .seconds(1)) }
        try await Self.waitForTimers(clock, 1)
        // Three and a half periods pass with nobody receiving: the tick of 1 s
        // waits; those of 2 s and 3 s are dropped; the next is due at 4 s.
        clock.advance(by: .milliseconds(3500))
        #expect(try await Self.nextValue(ticker.channel) == start + .seconds(1))
        #expect(ticker.channel.tryReceive() == .empty, "no burst of the missed ticks")
        clock.advance(by: .milliseconds(500))
        #expect(try await Self.nextValue(ticker.channel) == start + .seconds(4))
        clock.advance(by: .seconds(1))
        #expect(try await Self.nextValue(ticker.channel) == start + .seconds(5))
        ticker.stop()
        clock.advance(by: .seconds(3))
        #expect(clock.pendingTimers == 0)
        #expect(ticker.channel.tryReceive() == .empty)
    }

    @Test func sleep_and_a_select_timeout_end_exactly_when_the_clock_passes_them() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let stage = Chan<String>(capacity: 4)
        let never = Chan<Int>()
        go(on: runtime) {
            try await sleep(for: .seconds(5))
            try await stage.send("slept")
            let chosen = try await select {
                never.onReceive { _ in "value" }
                after(.seconds(2)) { "timeout" }
            }
            try await stage.send(chosen)
        }
        try await Self.waitForTimers(clock, 1)
        clock.advance(by: .milliseconds(4999))
        #expect(stage.tryReceive() == .empty)
        #expect(clock.pendingTimers == 1, "still asleep")
        clock.advance(by: .milliseconds(1))
        #expect(try await stage.receive() == "slept")
        try await Self.waitForTimers(clock, 1)  // the select's timeout
        clock.advance(by: .milliseconds(1999))
        #expect(stage.tryReceive() == .empty)
        clock.advance(by: .milliseconds(1))
        #expect(try await stage.receive() == "timeout")
    }

    @Test func rule33_afterFunc_runs_at_its_deadline_unless_stopped_first() async throws {
        let (clock, runtime) = Self.makeRuntime()
        let ran = Chan<String>(capacity: 2)
        let (early, late) = try await Self.onRuntime(runtime) {
            (afterFunc(.seconds(1)) { _ = ran.trySend("early") },
             afterFunc(.seconds(2)) { _ = ran.trySend("late") })
        }
        try await Self.waitForTimers(clock, 2)
        #expect(early.stop(), "stopped before it started")
        clock.advance(by: .seconds(2))
        #expect(try await ran.receive() == "late")
        #expect(!late.stop(), "false: it had started")
        #expect(ran.tryReceive() == .empty, "the stopped one never ran")
    }
}
