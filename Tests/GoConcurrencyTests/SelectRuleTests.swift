// The select rules 16–25 of the Guarantees article, and the select API around them
// (timeouts, default, dynamic cases, handler results).

import Synchronization
import Testing
import GoConcurrency

@Suite("Select rules (Guarantees, rules 16–25)", .timeLimit(Stress.timeLimit))
struct SelectRuleTests {

    // MARK: Rule 16 — operands evaluated once, in source order, on entry

    @Test func rule16_operands_and_send_values_are_evaluated_once_in_source_order() async throws {
        // Given cases whose channel operands and send values record their evaluation
        let log = Shared<[String]>([])
        func channel(_ name: String, _ channel: Chan<Int>) -> Chan<Int> {
            log.append("channel \(name)")
            return channel
        }
        func value(_ name: String, _ value: Int) -> Int {
            log.append("value \(name)")
            return value
        }
        let a = Chan<Int>(), b = Chan<Int>(), c = Chan<Int>(capacity: 1), d = Chan<Int>()
        try await c.send(9)
        // When one select runs, with only case c ready
        let chosen = try await select {
            channel("a", a).onReceive { _ in "a" }
            channel("b", b).onSend(value("b", 1)) { "b" }
            channel("c", c).onReceive { value in "c \(value ?? -1)" }
            channel("d", d).onSend(value("d", 2)) { "d" }
        }
        // Then every case was evaluated exactly once, in source order, the
        // unchosen ones included (channel before value, as in Go)
        #expect(chosen == "c 9")
        #expect(log.value == ["channel a", "channel b", "value b", "channel c", "channel d", "value d"])
    }

    @Test func rule16_a_select_that_blocks_does_not_evaluate_its_cases_again_when_woken() async throws {
        // Given a select that has to park
        let log = Shared<[String]>([])
        let a = Chan<Int>(), b = Chan<Int>()
        let selecting = Task {
            try await select {
                ({ () -> Chan<Int> in log.append("a"); return a })().onReceive { value in value ?? -1 }
                ({ () -> Chan<Int> in log.append("b"); return b })().onSend(({ () -> Int in log.append("value b"); return 5 })()) { -2 }
            }
        }
        try await waitUntil("the select parks") { a.parkedReceivers == 1 && b.parkedSenders == 1 }
        // When it is woken by a send
        try await a.send(7)
        // Then it completed that case, and its operands were evaluated only on entry
        #expect(try await selecting.value == 7)
        #expect(log.value == ["a", "b", "value b"])
        expectNoWaiters(on: b)
    }

    // MARK: Rule 17 — uniform choice among ready cases

    @Test func rule17_ready_cases_are_chosen_uniformly_go_fairness_test() async throws {
        // Given two always-ready and two never-ready cases (Go's TestSelectFairness)
        let trials = 10_000
        let c1 = Chan<UInt8>(capacity: trials + 1)
        let c2 = Chan<UInt8>(capacity: trials + 1)
        for _ in 0...trials {
            #expect(c1.trySend(1) == .sent)
            #expect(c2.trySend(2) == .sent)
        }
        let c3 = Chan<UInt8>(), c4 = Chan<UInt8>()
        // When 10,000 selects run
        var counts = [0, 0, 0]
        for _ in 0..<trials {
            let value = try await select {
                c3.onReceive { $0 }
                c4.onReceive { $0 }
                c1.onReceive { $0 }
                c2.onReceive { $0 }
            }
            counts[Int(try #require(value))] += 1
        }
        // Then each ready case's share is within 0.5 ± 4.89/(2·√10000) (10 sigma)
        let share = Double(counts[1]) / Double(trials)
        let bound = 4.891676 / (2 * Double(trials).squareRoot())
        #expect(counts[0] == 0)
        #expect(counts[1] + counts[2] == trials)
        #expect(abs(share - 0.5) <= bound, "unfair select: \(counts[1]) vs \(counts[2])")
    }

    @Test func rule17_each_of_three_or_four_ready_cases_is_chosen_with_equal_chance() async throws {
        // Given selects of three and of four always-ready cases (a poll order
        // drawn whole from the orders of three or four cases)
        let trials = 12_000
        for width in [3, 4] {
            let ready = (0..<width).map { _ in Chan<Int>(capacity: trials + 1) }
            for (index, channel) in ready.enumerated() {
                for _ in 0..<trials { #expect(channel.trySend(index) == .sent) }
            }
            // When 12,000 selects run
            var counts = Array(repeating: 0, count: width)
            for _ in 0..<trials {
                let value = try await select {
                    ready[0].onReceive { $0 ?? -1 }
                    ready[1].onReceive { $0 ?? -1 }
                    ready[2].onReceive { $0 ?? -1 }
                    if width == 4 { ready[3].onReceive { $0 ?? -1 } }
                }
                try #require(value >= 0)
                counts[value] += 1
            }
            // Then each case's share is within 1/width ± 10 sigma
            let p = 1 / Double(width)
            let bound = 10 * (p * (1 - p) / Double(trials)).squareRoot()
            for count in counts {
                #expect(abs(Double(count) / Double(trials) - p) <= bound, "unfair select of \(width): \(counts)")
            }
        }
    }

    @Test func rule17_uniform_choice_also_holds_for_selects_with_more_than_16_cases() async throws {
        // Given two always-ready cases among 20 (the poll order's large path)
        let trials = 10_000
        let ready = [Chan<Int>(capacity: trials + 1), Chan<Int>(capacity: trials + 1)]
        for _ in 0...trials {
            #expect(ready[0].trySend(0) == .sent)
            #expect(ready[1].trySend(1) == .sent)
        }
        let quiet = (0..<18).map { _ in Chan<Int>() }
        var counts = [0, 0]
        // When 10,000 selects run with cases built by a loop
        for _ in 0..<trials {
            let value = try await select {
                for channel in quiet[..<9] { channel.onReceive { _ in -1 } }
                ready[0].onReceive { $0 ?? -1 }
                for channel in quiet[9...] { channel.onReceive { _ in -1 } }
                ready[1].onReceive { $0 ?? -1 }
            }
            try #require(value >= 0)
            counts[value] += 1
        }
        // Then the two shares stay within Go's bound
        let share = Double(counts[0]) / Double(trials)
        #expect(abs(share - 0.5) <= 4.891676 / (2 * Double(trials).squareRoot()), "unfair select: \(counts)")
    }

    // MARK: Rule 18 — default, blocking, no cases

    @Test func rule18_default_runs_when_no_case_is_ready_and_touches_nothing() async throws {
        // Given an empty unbuffered channel and a full buffered one
        let empty = Chan<Int>()
        let full = Chan<Int>(capacity: 1)
        try await full.send(7)
        // When a select with default runs, Then default is chosen
        for _ in 0..<100 {
            let chosen = try await select {
                empty.onReceive { _ in "receive" }
                full.onSend(8) { "send" }
                otherwise { "default" }
            }
            #expect(chosen == "default")
        }
        // And the channels are untouched: no value moved, no waiter left behind
        expectNoWaiters(on: empty)
        expectNoWaiters(on: full)
        #expect(empty.trySend(1) == .full)
        #expect(full.count == 1)
        #expect(full.tryReceive() == .value(7))
    }

    @Test func rule18_select_without_default_blocks_until_a_case_is_ready() async throws {
        // Given a select on two empty channels
        let a = Chan<Int>(), b = Chan<Int>()
        let returned = Flag()
        let selecting = Task {
            let result = try await select {
                a.onReceive { value in "a \(value ?? -1)" }
                b.onReceive { value in "b \(value ?? -1)" }
            }
            returned.set()
            return result
        }
        // When it has parked on both
        try await waitUntil("the select parks") { a.parkedReceivers == 1 && b.parkedReceivers == 1 }
        // Then it has not returned
        #expect(!returned.isSet)
        // When b gets a value, Then the select takes it and leaves a clean
        try await b.send(3)
        #expect(try await selecting.value == "b 3")
        expectNoWaiters(on: a)
        expectNoWaiters(on: b)
    }

    @Test func rule18_select_with_no_cases_blocks_until_cancelled() async throws {
        try await expectBlocksUntilCancelled {
            let _: Int = try await select {}
        }
    }

    /// Runs `body` in a task: it must not return by itself, and cancelling
    /// the task must end it with `CancellationError`.
    private func expectBlocksUntilCancelled(
        sourceLocation: Testing.SourceLocation = #_sourceLocation,
        _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        let returned = Flag()
        let task = Task {
            try await body()
            returned.set()
        }
        try await letOthersRun()
        #expect(!returned.isSet, sourceLocation: sourceLocation)
        task.cancel()
        await #expect(throws: CancellationError.self, sourceLocation: sourceLocation) { try await task.value }
        #expect(!returned.isSet, sourceLocation: sourceLocation)
    }

    // MARK: Rule 19 — disabled cases

    @Test func rule19_disabled_cases_are_never_ready_and_default_runs() async throws {
        let none: Chan<Int>? = nil
        let includeB = false
        let b = Chan<Int>(capacity: 1)
        try await b.send(1)
        for _ in 0..<100 {
            let chosen = try await select {
                none?.onReceive { _ in "nil receive" }
                none?.onSend(1) { "nil send" }
                SelectCase<String>.disabled
                if includeB {
                    b.onReceive { _ in "b" }
                }
                otherwise { "default" }
            }
            #expect(chosen == "default")
        }
        #expect(b.count == 1)
    }

    @Test func rule19_select_of_only_disabled_cases_blocks_until_cancelled() async throws {
        let none: Chan<Int>? = nil
        try await expectBlocksUntilCancelled {
            let _: Int = try await select {
                none?.onReceive { _ in 1 }
                SelectCase<Int>.disabled
            }
        }
    }

    // MARK: Rule 20 — receive case on a closed channel

    @Test func rule20_receive_case_on_a_closed_channel_is_always_ready_and_yields_closed() async throws {
        // Given a closed channel and a never-ready one
        let closed = Chan<Int>()
        try closed.close()
        let quiet = Chan<Int>()
        // When selecting many times, with or without a default
        for round in 0..<1_000 {
            let chosen = try await select {
                quiet.onReceive { _ in "quiet" }
                closed.onReceive { value in value == nil ? "closed" : "value" }
                if round.isMultiple(of: 2) {
                    otherwise { "default" }
                }
            }
            // Then the closed case is chosen every time, with "closed"
            #expect(chosen == "closed")
        }
        expectNoWaiters(on: quiet)
    }

    @Test func rule20_closed_buffered_channel_in_select_drains_before_reporting_closed() async throws {
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(1)
        try await channel.send(2)
        try channel.close()
        var seen: [Int?] = []
        for _ in 0..<4 {
            seen.append(try await select { channel.onReceive { $0 } })
        }
        #expect(seen == [1, 2, nil, nil])
    }

    @Test func rule20_close_wakes_a_parked_select_with_closed() async throws {
        let a = Chan<Int>(), b = Chan<Int>()
        let selecting = Task {
            try await select {
                a.onReceive { value in value == nil ? "a closed" : "a value" }
                b.onReceive { _ in "b" }
            }
        }
        try await waitUntil("the select parks") { a.parkedReceivers == 1 && b.parkedReceivers == 1 }
        try a.close()
        #expect(try await selecting.value == "a closed")
        expectNoWaiters(on: b)
        #expect(b.trySend(1) == .full)
    }

    // MARK: Rule 21 — send case on a closed channel

    @Test func rule21_send_case_on_a_closed_channel_is_ready_and_throws() async throws {
        let closed = Chan<Int>(capacity: 1)
        try closed.close()
        let quiet = Chan<Int>()
        await #expect(throws: ChannelError.sendOnClosedChannel) {
            try await select { closed.onSend(1) { "sent" } }
        }
        // Ready: it is chosen over default, which is not taken
        for _ in 0..<100 {
            await #expect(throws: ChannelError.sendOnClosedChannel) {
                try await select {
                    quiet.onReceive { _ in "quiet" }
                    closed.onSend(1) { "sent" }
                    otherwise { "default" }
                }
            }
        }
        #expect(closed.count == 0)
    }

    @Test func rule21_closing_under_a_parked_select_send_case_throws_and_delivers_nothing() async throws {
        // Given a select parked on a send to a full channel
        let channel = Chan<Int>(capacity: 1)
        try await channel.send(1)
        let other = Chan<Int>()
        let handlerRan = Flag()
        let selecting = Task {
            try await select {
                channel.onSend(2) { handlerRan.set() }
                other.onReceive { _ in handlerRan.set() }
            }
        }
        try await waitUntil("the select parks") { channel.parkedSenders == 1 }
        // When the channel closes
        try channel.close()
        // Then the select throws send-on-closed, no handler ran, 2 was not delivered
        await #expect(throws: ChannelError.sendOnClosedChannel) { try await selecting.value }
        #expect(!handlerRan.isSet)
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == nil)
        expectNoWaiters(on: other)
    }

    // MARK: Rule 22 — no pairing with itself

    @Test func rule22_select_sending_and_receiving_on_one_unbuffered_channel_never_pairs_with_itself() async throws {
        let channel = Chan<Int>()
        for _ in 0..<50 {
            let chosen = try await select {
                channel.onSend(1) { "sent" }
                channel.onReceive { _ in "received" }
                after(.milliseconds(2)) { "timeout" }
            }
            #expect(chosen == "timeout")
            expectNoWaiters(on: channel)
        }
    }

    @Test func rule22_such_a_select_still_pairs_with_other_parties() async throws {
        let channel = Chan<Int>()
        for round in 0..<50 {
            // Given a select parked with a send and a receive on the same channel
            let selecting = Task {
                try await select {
                    channel.onSend(round) { "sent" }
                    channel.onReceive { value in "received \(value ?? -1)" }
                }
            }
            try await waitUntil("the select parks") { channel.parkedSenders == 1 && channel.parkedReceivers == 1 }
            // When another task receives (even rounds) or sends (odd rounds)
            if round.isMultiple(of: 2) {
                #expect(try await channel.receive() == round)
                #expect(try await selecting.value == "sent")
            } else {
                try await channel.send(-round)
                #expect(try await selecting.value == "received \(-round)")
            }
            // Then the other case left no trace
            expectNoWaiters(on: channel)
        }
    }

    // MARK: Rule 23 — the same channel in several cases

    @Test func rule23_same_channel_in_several_cases_completes_once_and_leaves_no_stale_waiter() async throws {
        let channel = Chan<Int>()
        for round in 0..<200 {
            // Given a select parked with three receive cases on one channel
            let selecting = Task {
                try await select {
                    channel.onReceive { value in [0, value ?? -1] }
                    channel.onReceive { value in [1, value ?? -1] }
                    channel.onReceive { value in [2, value ?? -1] }
                }
            }
            try await waitUntil("the select parks") { channel.parkedReceivers == 3 }
            // When one value arrives
            #expect(channel.trySend(round) == .sent)
            // Then exactly one case took it
            let result = try await selecting.value
            #expect((0...2).contains(result[0]))
            #expect(result[1] == round)
            // And no stale receiver is left: a non-blocking send finds nobody
            #expect(channel.trySend(-1) == .full)
            expectNoWaiters(on: channel)
        }
    }

    @Test func rule23_losing_cases_on_a_duplicated_channel_leave_no_trace() async throws {
        let shared = Chan<Int>()
        let winner = Chan<Int>()
        for round in 0..<200 {
            // Given a select parked with a send and two receives on `shared`
            let selecting = Task {
                try await select {
                    shared.onReceive { _ in "shared receive 1" }
                    shared.onSend(round) { "shared send" }
                    shared.onReceive { _ in "shared receive 2" }
                    winner.onReceive { _ in "winner" }
                }
            }
            try await waitUntil("the select parks") {
                shared.parkedReceivers == 2 && shared.parkedSenders == 1 && winner.parkedReceivers == 1
            }
            // When another channel wins
            try await winner.send(round)
            #expect(try await selecting.value == "winner")
            // Then `shared` has no stale sender or receiver left
            #expect(shared.trySend(0) == .full)
            #expect(shared.tryReceive() == .empty)
            expectNoWaiters(on: shared)
        }
        // And sends and receives on it still pair correctly
        let receiver = Task { try await shared.receive() }
        try await shared.send(99)
        #expect(try await receiver.value == 99)
    }

    @Test func rule23_a_lost_case_left_stale_in_a_long_queue_never_claims_the_selects_next_wait() async throws {
        // Given nine receivers parked on `long`, then a select parked on `a`
        // and on `long`, its node the tenth entry there (losing leaves it
        // stale in so long a queue; a select's waiter serves the next select
        // only once no node refers to it)
        let long = Chan<Int>(), a = Chan<Int>(), c = Chan<Int>(), d = Chan<Int>()
        let got = Chan<Int>(capacity: 9)
        for _ in 0..<9 {
            go { if let value = try await long.receive() { try await got.send(value) } }
        }
        try await waitUntil("nine receivers park") { long.parkedReceivers == 9 }
        let selecting = Task { () async throws -> [String] in
            let first = try await select {
                a.onReceive { "a \($0 ?? -1)" }
                long.onReceive { "long \($0 ?? -1)" }
            }
            let second = try await select {
                c.onReceive { "c \($0 ?? -1)" }
                d.onReceive { "d \($0 ?? -1)" }
            }
            return [first, second]
        }
        try await waitUntil("the first select parks") { a.parkedReceivers == 1 && long.parkedReceivers == 10 }
        // When its case on `a` wins and the next select parks on `c` and `d`
        try await a.send(1)
        try await waitUntil("the second select parks") { c.parkedReceivers == 1 && d.parkedReceivers == 1 }
        // Then sends on `long` reach the nine receivers and then no one: the
        // stale node claims nothing, the second select included
        for value in 0..<9 { try await long.send(value) }
        #expect(long.trySend(9) != .sent)
        try await d.send(2)
        #expect(try await selecting.value == ["a 1", "d 2"])
        var received: [Int] = []
        for _ in 0..<9 { received.append(try #require(try await got.receive())) }
        #expect(received.sorted() == Array(0..<9))
    }

    @Test func rule23_go_select6_losing_case_does_not_corrupt_the_queue() async throws {
        // Go's test/chan/select6.go (issue 2075): the select's losing case on c1
        // sits behind another waiter; further waits on c1 must still be woken.
        let c1 = Chan<Bool>(), c2 = Chan<Bool>(), c3 = Chan<Bool>()
        let first = Task { _ = try await c1.receive() }
        try await waitUntil("the first receiver parks") { c1.parkedReceivers == 1 }
        let second = Task {
            try await select {
                c1.onReceive { _ -> Void in Issue.record("select took c1") }
                c2.onReceive { _ in try await c3.send(true) }
            }
            _ = try await c1.receive()
        }
        try await waitUntil("the select parks behind it") { c1.parkedReceivers == 2 && c2.parkedReceivers == 1 }
        let third = Task { try await c2.send(true) }
        _ = try await c3.receive()
        try await c1.send(true)
        try await c1.send(true)
        try await first.value
        try await second.value
        try await third.value
        expectNoWaiters(on: c1)
    }

    @Test func rule23_duplicated_cases_under_concurrent_selects_transfer_every_value_once_in_order() async throws {
        // Given a sender selecting over duplicated send cases on c and d, and a
        // receiver selecting over duplicated receive cases on the same channels
        let c = Chan<Int>(), d = Chan<Int>()
        let total = Stress.size(2_000)
        let sender = Task {
            for value in 0..<total {
                try await select {
                    c.onSend(value) {}
                    d.onSend(value) {}
                    c.onSend(value) {}
                }
            }
        }
        // When they exchange every value
        var received: [Int] = []
        for _ in 0..<total {
            received.append(try await select {
                c.onReceive { $0 ?? -1 }
                c.onReceive { $0 ?? -1 }
                d.onReceive { $0 ?? -1 }
                d.onReceive { $0 ?? -1 }
            })
        }
        try await sender.value
        // Then each arrived once, in order (unbuffered: each send completes
        // before the next starts), and no waiter is left on either channel
        #expect(received == Array(0..<total))
        expectNoWaiters(on: c)
        expectNoWaiters(on: d)
        #expect(c.trySend(0) == .full)
        #expect(d.trySend(0) == .full)
    }

    // MARK: Rule 25 — no growth over many selects; waking one of many

    @Test func rule25_a_loop_of_100000_selects_leaves_no_waiters_or_timers_behind() async throws {
        // Given a quiet unbuffered channel that never becomes ready, and a busy
        // one fed by a producer, so that many selects park on both and the
        // quiet case loses every time; each select also arms a long timeout
        let quiet = Chan<Int>()
        let busy = Chan<Int>()
        let selects = 100_000
        let producer = Task {
            for value in 0..<selects { try await busy.send(value) }
        }
        // When 100,000 selects run, in a goroutine of a runtime of its own
        // (whose timer heap no other test shares)
        let runtime = GoRuntime(processors: 1)
        let total = Chan<Int>(capacity: 1)
        go(on: runtime) {
            var sum = 0
            for _ in 0..<selects {
                sum += try await select {
                    quiet.onReceive { _ in -1_000_000_000 }
                    busy.onReceive { $0 ?? -1_000_000_000 }
                    after(.seconds(3_600)) { -1_000_000_000 }
                }
            }
            try await total.send(sum)
        }
        let sum = try await total.receive()!
        try await producer.value
        // Then every value arrived once
        #expect(sum == selects * (selects - 1) / 2)
        // And the losing case left no receiver behind on the quiet channel
        #expect(quiet.trySend(0) == .full)
        expectNoWaiters(on: quiet)
        expectNoWaiters(on: busy)
        // And the timer heap did not keep a cancelled timeout per select (it
        // sheds cancelled entries once they are over 256 and half the heap)
        #expect(timerHeapEntries(of: runtime) < 1_000)
    }

    @Test func rule25_waking_one_of_many_parked_selects_gives_each_value_to_exactly_one() async throws {
        // Given many selects parked on one popular channel, each also on a private one
        let waiters = 1_000
        let popular = Chan<Int>()
        let privates = (0..<waiters).map { _ in Chan<Int>() }
        let tasks = privates.map { mine in
            Task {
                try await select {
                    popular.onReceive { $0 ?? -1 }
                    mine.onReceive { _ in -2 }
                }
            }
        }
        try await waitUntil("all selects park") { popular.parkedReceivers == waiters }
        // When values are sent one at a time
        for value in 0..<waiters { try await popular.send(value) }
        // Then each select got exactly one distinct value
        var got: [Int] = []
        for task in tasks { got.append(try await task.value) }
        #expect(got.sorted() == Array(0..<waiters))
        // And nothing is left queued on any channel
        expectNoWaiters(on: popular)
        for channel in privates { expectNoWaiters(on: channel) }
        #expect(popular.trySend(0) == .full)
    }

    @Test func rule25_parked_selects_on_a_popular_channel_are_woken_in_fifo_order() async throws {
        let popular = Chan<Int>()
        var tasks: [Task<Int, any Error>] = []
        for index in 0..<20 {
            let mine = Chan<Int>()
            tasks.append(Task {
                try await select {
                    mine.onReceive { _ in -2 }
                    popular.onReceive { $0 ?? -1 }
                }
            })
            try await waitUntil("select \(index) parks") { popular.parkedReceivers == index + 1 }
        }
        for value in 0..<20 { try await popular.send(value) }
        for (index, task) in tasks.enumerated() {
            #expect(try await task.value == index)
        }
    }

    @Test func rule25_close_wakes_every_parked_select_on_a_popular_channel() async throws {
        let waiters = 1_000
        let popular = Chan<Int>()
        let tasks = (0..<waiters).map { _ in
            Task { try await select { popular.onReceive { $0 == nil } } }
        }
        try await waitUntil("all selects park") { popular.parkedReceivers == waiters }
        try popular.close()
        for task in tasks { #expect(try await task.value) }
        expectNoWaiters(on: popular)
    }

    // MARK: The select API: results, errors, timeouts, dynamic cases

    @Test func select_returns_the_chosen_handlers_value_and_rethrows_its_error() async throws {
        struct HandlerFailed: Error, Equatable {}
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(20)
        let doubled = try await select { channel.onReceive { ($0 ?? 0) * 2 } }
        #expect(doubled == 40)
        try await channel.send(1)
        await #expect(throws: HandlerFailed()) {
            try await select { channel.onReceive { _ -> Int in throw HandlerFailed() } }
        }
        #expect(channel.count == 0)  // the value was received before the handler threw
    }

    @Test func select_timeout_is_taken_only_when_no_case_becomes_ready() async throws {
        let quiet = Chan<Int>()
        let ready = Chan<Int>(capacity: 1)
        #expect(try await select {
            quiet.onReceive { _ in "quiet" }
            after(.milliseconds(1)) { "timeout" }
        } == "timeout")
        try await ready.send(1)
        #expect(try await select {
            ready.onReceive { _ in "ready" }
            after(.zero) { "timeout" }
        } == "ready")
        expectNoWaiters(on: quiet)
    }

    @Test func select_with_several_timeouts_takes_the_shortest() async throws {
        let chosen = try await select {
            after(.seconds(3_600)) { "hour" }
            after(.milliseconds(1)) { "millisecond" }
            after(.seconds(60)) { "minute" }
        }
        #expect(chosen == "millisecond")
    }

    @Test func select_default_wins_over_a_timeout() async throws {
        let quiet = Chan<Int>()
        let chosen = try await select {
            quiet.onReceive { _ in "quiet" }
            after(.zero) { "timeout" }
            otherwise { "default" }
        }
        #expect(chosen == "default")
    }

    @Test func select_cases_built_by_a_loop_report_which_channel_was_ready() async throws {
        let channels = (0..<8).map { _ in Chan<Int>(capacity: 1) }
        for index in [5, 2, 7, 0] {
            try await channels[index].send(index * 10)
            let (which, value) = try await select {
                for (i, channel) in channels.enumerated() {
                    channel.onReceive { value in (i, value) }
                }
            }
            #expect(which == index)
            #expect(value == index * 10)
        }
    }

    @Test func select_of_more_than_four_cases_and_nested_blocks_reaches_every_case() async throws {
        // Seven plain cases (four held inline, three after them), then an `if`
        // and a `switch` whose cases are flattened in source order.
        let channels = (0..<10).map { _ in Chan<Int>(capacity: 1) }
        let withNested = true
        let mode = 1
        for index in [6, 0, 4, 8, 3, 9, 5, 1, 7, 2] {
            try await channels[index].send(index * 10)
            let (which, value) = try await select {
                channels[0].onReceive { (0, $0) }
                channels[1].onReceive { (1, $0) }
                channels[2].onReceive { (2, $0) }
                channels[3].onReceive { (3, $0) }
                channels[4].onReceive { (4, $0) }
                channels[5].onReceive { (5, $0) }
                channels[6].onReceive { (6, $0) }
                if withNested {
                    channels[7].onReceive { (7, $0) }
                    channels[8].onReceive { (8, $0) }
                }
                switch mode {
                case 1: channels[9].onReceive { (9, $0) }
                default: SelectCase<(Int, Int?)>.disabled
                }
            }
            #expect(which == index)
            #expect(value == index * 10)
        }
        for channel in channels {
            expectNoWaiters(on: channel)
        }
    }

    @Test func select_parked_timeout_fires_and_leaves_no_waiter() async throws {
        let quiet = Chan<Int>()
        let result = Task {
            try await select {
                quiet.onReceive { _ in "value" }
                quiet.onSend(1) { "sent" }
                after(.milliseconds(20)) { "timeout" }
            }
        }
        #expect(try await result.value == "timeout")
        expectNoWaiters(on: quiet)
        #expect(quiet.trySend(2) == .full)
    }

    @Test func select_with_two_defaults_is_a_programmer_error() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .failure) {
            _ = try? await select {
                otherwise { 1 }
                otherwise { 2 }
            }
        }
    }

    // MARK: sleep

    @Test func sleep_of_zero_or_less_returns_at_once_and_a_positive_sleep_returns() async throws {
        try await sleep(for: .zero)
        try await sleep(for: .milliseconds(-5))
        try await sleep(for: .milliseconds(1))
    }
}

extension SelectRuleTests {
    // MARK: Rule 24 — no default while a case is ready throughout

    /// Serialized: each test races a spinning thread against its selects, and
    /// one spinning thread at a time is enough for a 2-core machine.
    @Suite("Rule 24: no lost readiness", .serialized, .timeLimit(Stress.timeLimit))
    struct NoLostReadiness {

        @Test func rule24_default_not_taken_while_one_of_two_cases_stays_ready() async throws {
            // Go's TestNonblockSelectRace: c1 holds a value until c2 has one, so at
            // every instant of the select some case is ready. A thread races the
            // hand-over (c2 gets a value, then c1's is taken) against the select.
            try await expectNoDefaultWhileHandingOver(rounds: Stress.size(30_000)) { c2 in
                _ = c2.trySend(1)
            }
        }

        @Test func rule24_default_not_taken_while_a_case_stays_ready_through_a_close() async throws {
            // Go's TestNonblockSelectRace2: as above, but c2 becomes ready by closing.
            try await expectNoDefaultWhileHandingOver(rounds: Stress.size(10_000)) { c2 in
                try? c2.close()
            }
        }

        /// Races, on a plain thread, "make c2 ready, then take c1's value"
        /// against a select over c1, c2 and six never-ready channels with a
        /// default, `rounds` times; c1 starts ready, so some case is ready at
        /// every instant and default must never be taken.
        private func expectNoDefaultWhileHandingOver(
            rounds: Int,
            sourceLocation: Testing.SourceLocation = #_sourceLocation,
            makeReady: @escaping @Sendable (Chan<Int>) -> Void
        ) async throws {
            let seed = Seeds.make(1)[0]
            let racer = Racer(seed: seed)
            defer { racer.stop() }
            // Never-ready cases besides Go's two widen the window between the
            // polls of c1 and c2; a case is still ready at every instant.
            let quiet = (0..<6).map { _ in Chan<Int>() }
            var defaults = 0
            for _ in 0..<rounds {
                let c1 = Chan<Int>(capacity: 1), c2 = Chan<Int>(capacity: 1)
                #expect(c1.trySend(1) == .sent, sourceLocation: sourceLocation)
                racer.race {
                    makeReady(c2)
                    _ = c1.tryReceive()
                }
                let tookCase = try await select {
                    c1.onReceive { _ in true }
                    // One handler that awaits, so that both kinds of handler
                    // go through the locked poll's deferred call.
                    c2.onReceive { _ in
                        await Task.yield()
                        return true
                    }
                    for channel in quiet { channel.onReceive { _ in true } }
                    otherwise { false }
                }
                await racer.waitForRound()
                if !tookCase {
                    defaults += 1
                    if defaults == 10 { break }  // failed already: no need to go on
                }
            }
            #expect(defaults == 0, "default taken \(defaults) time(s) (at most 10 counted) in at most \(rounds) rounds although a case was ready throughout (seed \(seed))", sourceLocation: sourceLocation)
        }

        @Test func rule24_default_not_taken_while_a_buffered_value_turns_into_closed() async throws {
            // Go's TestNonblockRecvRace: the channel holds a value, then is closed
            // and drained; it is ready (value, then closed) throughout.
            let rounds = Stress.size(5_000)
            let seed = Seeds.make(1)[0]
            let racer = Racer(seed: seed)
            defer { racer.stop() }
            var defaults = 0
            for _ in 0..<rounds {
                let channel = Chan<Int>(capacity: 1)
                #expect(channel.trySend(1) == .sent)
                racer.race {
                    try? channel.close()
                    _ = channel.tryReceive()
                }
                let tookCase = try await select {
                    channel.onReceive { _ in true }
                    otherwise { false }
                }
                await racer.waitForRound()
                if !tookCase {
                    defaults += 1
                    if defaults == 10 { break }  // failed already: no need to go on
                }
            }
            #expect(defaults == 0, "default taken \(defaults) time(s) (at most 10 counted) in at most \(rounds) rounds although the case was ready throughout (seed \(seed))")
        }
    }
}

// MARK: - Receive cases built in unspecialised generic code

/// A receive case stores its handler type-erased (see `ChannelCase`); these
/// build the case where `Element` is a generic parameter, so the unspecialised
/// path is the one that runs, with elements that are not plain integers.
@inline(never)
func genericReceiveCase<Element: Sendable, Result>(
    _ channel: Chan<Element>, _ transform: @escaping @Sendable (Element?) -> Result
) -> SelectCase<Result> {
    channel.onReceive { value in transform(value) }
}

@inline(never)
func genericSelect<Element: Sendable, Result>(
    _ channel: Chan<Element>, withDefault: Bool, _ transform: @escaping @Sendable (Element?) -> Result, otherwise fallback: Result
) async throws -> Result {
    let never = Chan<Int>()
    if withDefault {
        return try await select {
            genericReceiveCase(channel, transform)
            never.onReceive { _ in fallback }
            otherwise { fallback }
        }
    }
    return try await select {
        genericReceiveCase(channel, transform)
        never.onReceive { _ in fallback }
    }
}

final class Tag: Sendable {
    let number: Int
    init(_ number: Int) { self.number = number }
}

struct Labelled: Sendable, Equatable {
    let label: String
    let tag: Tag
    static func == (a: Labelled, b: Labelled) -> Bool { a.label == b.label && a.tag.number == b.tag.number }
}

@Suite("Select cases in generic code")
struct GenericSelectCaseTests {
    func roundTrip<Element: Sendable & Equatable>(_ value: Element) async throws {
        let describe: @Sendable (Element?) -> String = { $0.map { "\($0)" } ?? "closed" }
        // Polled (a value is buffered), polled under every lock (with a
        // default), closed, and delivered to a parked select.
        let buffered = Chan<Element>(capacity: 1)
        try await buffered.send(value)
        #expect(try await genericSelect(buffered, withDefault: false, describe, otherwise: "none") == describe(value))
        try await buffered.send(value)
        #expect(try await genericSelect(buffered, withDefault: true, describe, otherwise: "none") == describe(value))
        try buffered.close()
        #expect(try await genericSelect(buffered, withDefault: false, describe, otherwise: "none") == "closed")
        let unbuffered = Chan<Element>()
        go { try await unbuffered.send(value) }
        #expect(try await genericSelect(unbuffered, withDefault: false, describe, otherwise: "none") == describe(value))
    }

    @Test func a_receive_case_built_generically_delivers_strings_structs_optionals_and_tuples() async throws {
        try await roundTrip(String(repeating: "a long string ", count: 10))
        try await roundTrip(Labelled(label: String(repeating: "x", count: 40), tag: Tag(7)))
        try await roundTrip(Optional("inner") as String?)
        try await roundTrip(Optional<String>.none)
        try await roundTrip(42)
        let pairs = Chan<(Int, String)>(capacity: 1)
        try await pairs.send((4, "two"))
        let stored: ReceiveHandler<(Int, String), String> = { $0.map { "\($0.0)\($0.1)" } ?? "closed" }
        #expect(try await select { pairs.onReceive(stored) } == "4two")
    }
}
