// Guarantees, rules 26–33: timers, tickers, after and afterFunc, with Go
// 1.23's guarantees. No assertion here is about how long anything took: the
// checks are about what can be received, and in what order.

import Foundation
import Synchronization
import Testing
@testable import GoConcurrency

@Suite("Time rules (Guarantees, rules 26–33)", .timeLimit(Stress.timeLimit))
struct TimeRuleTests {
    typealias Instant = ContinuousClock.Instant

    @Test func rule26_after_delivers_once_and_the_value_is_the_scheduled_time() async throws {
        let delay = Duration.milliseconds(5)
        let before = ContinuousClock.now
        let channel = after(delay)
        let fired = try #require(try await channel.receive())
        let received = ContinuousClock.now
        #expect(fired >= before + delay, "the value is the time it was scheduled for, not earlier")
        #expect(fired <= received)
        // Once: nothing more arrives, however long we wait.
        let again = try await select {
            channel.onReceive { _ in "value" }
            after(.milliseconds(30)) { "nothing" }
        }
        #expect(again == "nothing")
    }

    @Test func rule27_timer_channels_report_count_and_capacity_zero() async throws {
        let timer = GoConcurrency.Timer(after: .zero)
        #expect(timer.channel.capacity == 0)
        // Wait until it has fired and its value sits in the channel, unreceived.
        try await waitUntil("the timer fired") { timer.channel.storage.withLock { $0.count } == 1 }
        #expect(timer.channel.count == 0)
        #expect(timer.channel.capacity == 0)
        #expect(try await timer.channel.receive() != nil)
    }

    @Test func rule28_stop_reports_an_unreceived_value_as_active_and_no_stale_value_follows() async throws {
        for round in 0..<Stress.size(200) {
            let timer = GoConcurrency.Timer(after: .microseconds(round % 50))
            if round % 3 == 0 { await Task.yield() }
            // Nobody receives, so the timer is active until stopped: pending,
            // or fired with its value waiting.
            #expect(timer.stop(), "round \(round)")
            #expect(timer.channel.tryReceive() == .empty, "round \(round): a stale value after stop")
            #expect(!timer.stop(), "round \(round): a second stop finds it stopped")
        }
    }

    @Test func rule28_stop_racing_a_blocked_receiver_delivers_exactly_when_stop_says_it_did_not_stop() async throws {
        for round in 0..<Stress.size(200) {
            let timer = GoConcurrency.Timer(after: .microseconds(round % 40))
            let stopped = Chan<Void>()
            let outcome = Chan<Int>(capacity: 1)
            go {
                let got = try await select {
                    timer.channel.onReceive { _ in 1 }
                    stopped.onReceive { _ in 0 }
                }
                try await outcome.send(got)
            }
            if round % 2 == 0 { await Task.yield() }
            let wasActive = timer.stop()
            try stopped.close()
            let received = try await outcome.receive()!
            #expect(received == (wasActive ? 0 : 1), "round \(round): stop returned \(wasActive) but the receiver got \(received) values")
        }
    }

    @Test func rule29_reset_leaves_no_value_of_the_earlier_setting() async throws {
        for round in 0..<Stress.size(200) {
            let timer = GoConcurrency.Timer(after: .microseconds(round % 50))
            if round % 3 == 0 { await Task.yield() }
            #expect(timer.reset(after: .seconds(3600)), "round \(round): nobody received, so it was active")
            #expect(timer.channel.tryReceive() == .empty, "round \(round): a value of the earlier setting")
            #expect(timer.stop())
        }
        // And reset re-arms: the new setting delivers.
        let timer = GoConcurrency.Timer(after: .seconds(3600))
        #expect(timer.reset(after: .milliseconds(1)))
        #expect(try await timer.channel.receive() != nil)
        #expect(!timer.reset(after: .seconds(3600)), "its value was received: no longer active")
        #expect(timer.stop())
    }

    @Test func rule30_ten_thousand_unreferenced_timers_are_reclaimed() async throws {
        let count = 10_000
        var cores: [Weak<TimerCore>] = []
        var entries: [TimerEntry] = []
        do {
            var channels: [ReceiveOnlyChan<Instant>] = []
            for index in 0..<count {
                if index % 2 == 0 {
                    channels.append(after(.seconds(3600)))
                } else {
                    let ticker = Ticker(every: .seconds(3600))
                    channels.append(ticker.channel)
                }
            }
            // Plain checks, not #require: Swift Testing reflects what a
            // #require casts or unwraps, and a timer's fields reach its
            // runtime, whose queues other tests' goroutines are changing
            // (the thread sanitizer caught the reflection reading one).
            for channel in channels {
                guard let core = channel.storage.timer as? TimerCore, let entry = core.armedEntry else {
                    Issue.record("a timer channel without an armed timer")
                    return
                }
                cores.append(Weak(core))
                entries.append(entry)
            }
        }
        // Nobody holds the channels or the timers now.
        #expect(cores.allSatisfy { $0.value == nil }, "a timer nobody references is deallocated")
        #expect(entries.allSatisfy { TimerQueue.shared.isCancelled($0) }, "and its heap entry disarmed")
    }

    @Test func rule31_a_late_tick_schedules_the_next_after_the_missed_periods() {
        // On time: one period later.
        #expect(TimerCore.nextTick(after: 100, period: 10, now: 100) == 110)
        #expect(TimerCore.nextTick(after: 100, period: 10, now: 109) == 110)
        // Late: the periods that passed are skipped, and the grid is kept.
        #expect(TimerCore.nextTick(after: 100, period: 10, now: 110) == 120)
        #expect(TimerCore.nextTick(after: 100, period: 10, now: 155) == 160)
        #expect(TimerCore.nextTick(after: 100, period: 10, now: 1_000_003) == 1_000_010)
    }

    @Test func rule31_a_slow_ticker_receiver_gets_the_kept_tick_then_ticks_on_the_grid() async throws {
        // On the system's clock. That the ticks missed during the stall are
        // dropped, not delivered in a burst, depends on when each late fire
        // happens, so it is checked where time is the test's:
        // ManualClockTests.rule31_a_ticker_nobody_reads_keeps_one_tick_and_skips_the_missed_periods.
        let period = Duration.milliseconds(2)
        let ticker = Ticker(every: period)
        defer { ticker.stop() }
        let start = ContinuousClock.now
        // Stall for many periods without receiving.
        try await sleep(for: period * 25)
        var ticks: [Instant] = []
        for _ in 0..<4 {
            ticks.append(try #require(try await ticker.channel.receive()))
        }
        #expect(ticks[0] < start + period * 2, "the tick kept during the stall is the first one")
        for (earlier, later) in zip(ticks, ticks.dropFirst()) {
            #expect(later > earlier)
            let periods = (later - earlier) / period
            #expect(abs(periods - periods.rounded()) < 1e-6, "ticks stay on the period's grid")
        }
    }

    @Test func rule31_ticker_reset_and_stop() async throws {
        let ticker = Ticker(every: .seconds(3600))
        ticker.reset(every: .milliseconds(1))
        #expect(try await ticker.channel.receive() != nil)
        ticker.stop()
        #expect(ticker.channel.tryReceive() == .empty, "no tick after stop returns")
        let later = try await select {
            ticker.channel.onReceive { _ in "tick" }
            after(.milliseconds(20)) { "none" }
        }
        #expect(later == "none")
    }

    @Test func rule32_sleep_of_zero_or_less_returns_at_once() async throws {
        // Nothing to wait for: they return without parking (a park would need
        // a timer; none is armed).
        try await sleep(for: .zero)
        try await sleep(for: .seconds(-1))
        let timer = GoConcurrency.Timer(after: .seconds(-1))
        #expect(try await timer.channel.receive() != nil, "a non-positive timer fires at once")
    }

    @Test func rule33_afterFunc_runs_on_a_new_goroutine_and_stop_false_means_it_started() async throws {
        let ran = Shared<[Int]>([])
        let here = Goroutine.current?.id
        let timer = afterFunc(.milliseconds(1)) {
            ran.append(Goroutine.current?.id ?? -1)
        }
        try await waitUntil("the function ran") { !ran.withLock { $0.isEmpty } }
        let id = ran.withLock { $0[0] }
        #expect(id > 0, "it runs on a goroutine")
        #expect(id != here)
        #expect(!timer.stop(), "it had started")

        for round in 0..<Stress.size(100) {
            let started = Flag()
            let racing = afterFunc(.microseconds(round % 30)) { started.set() }
            if racing.stop() {
                try await letOthersRunBriefly()
                #expect(!started.isSet, "round \(round): stop said it stopped, yet the function ran")
            } else {
                try await waitUntil("round \(round): the function runs") { started.isSet }
            }
        }
    }

    @Test func rule33_afterFunc_runs_even_when_nobody_keeps_its_timer() async throws {
        let ran = Flag()
        afterFunc(.milliseconds(1)) { ran.set() }  // the timer is dropped at once, as Go programs do
        try await waitUntil("the function ran") { ran.isSet }
    }

    @Test func rule33_afterFunc_runs_an_async_function_that_may_wait() async throws {
        let handOff = Chan<Int>()  // unbuffered: the function waits for the receiver
        let ran = Shared<[Int]>([])
        afterFunc(.milliseconds(1)) {
            try await handOff.send(1)
            try await sleep(for: .milliseconds(1))
            ran.append(Goroutine.current?.id ?? -1)
        }
        #expect(try await handOff.receive() == 1)
        try await waitUntil("the function ends") { !ran.value.isEmpty }
        #expect(ran.value[0] > 0, "it ran on a goroutine")
    }

    @Test("Rule 33: an error escaping afterFunc's function is a goroutine panic, as with go")
    func rule33_afterFunc_error_is_a_goroutine_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .exitCode(2), observing: [\.standardErrorContent]) {
            struct Late: Error, CustomStringConvertible { var description: String { "late" } }
            afterFunc(.milliseconds(1)) {
                await GoRuntime.yield()
                throw Late()
            }
            while true { usleep(100_000) }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.hasPrefix("panic: late\n\ngoroutine "))
    }

    /// A few yields: enough for a wrongly started goroutine to run.
    func letOthersRunBriefly() async throws {
        for _ in 0..<10 { await Task.yield() }
    }
}

final class Weak<Object: AnyObject>: @unchecked Sendable {
    weak var value: Object?
    init(_ value: Object) { self.value = value }
}
