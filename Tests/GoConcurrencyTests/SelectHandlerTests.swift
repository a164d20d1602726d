// Select handlers written with and without `await`. A handler with no
// `await` is taken as a synchronous function and called by the select itself;
// one that awaits is called as an async function. Both must see the same
// values, run exactly once, and pass their errors on, on every path a case
// can complete by: the first poll, the locked poll before a default, and a
// wake-up after the select parked.

import Testing
import GoConcurrency

/// Suspends once, so that a handler calling it is an async handler.
private func suspendOnce() async {
    await Task.yield()
}

private struct HandlerFailure: Error, Equatable {
    let tag: String
}

@Suite("Select handlers with and without await", .timeLimit(Stress.timeLimit))
struct SelectHandlerTests {

    @Test func handlers_with_and_without_await_get_the_received_value_on_the_first_poll() async throws {
        let c = Chan<Int>(capacity: 2)
        try await c.send(1)
        try await c.send(2)
        let withoutAwait = try await select { c.onReceive { value in value.map { $0 * 10 } } }
        let withAwait = try await select {
            c.onReceive { value in
                await suspendOnce()
                return value.map { $0 * 100 }
            }
        }
        #expect(withoutAwait == 10)
        #expect(withAwait == 200)
        try c.close()
        let closed = try await select { c.onReceive { value in value == nil ? "closed" : "value" } }
        #expect(closed == "closed")
    }

    @Test func handlers_with_and_without_await_run_after_a_parked_select_is_woken() async throws {
        for awaits in [false, true] {
            // Given a select parked on a channel nobody has sent to yet
            let c = Chan<String>()
            let runs = Shared(0)
            let result = Task {
                try await select {
                    if awaits {
                        c.onReceive { value in
                            await suspendOnce()
                            runs.withLock { $0 += 1 }
                            return "async \(value ?? "nil")"
                        }
                    } else {
                        c.onReceive { value in
                            runs.withLock { $0 += 1 }
                            return "sync \(value ?? "nil")"
                        }
                    }
                }
            }
            try await waitUntil("the select parks") { c.parkedReceivers == 1 }
            // When a value arrives
            try await c.send("x")
            // Then the handler ran once, with it
            #expect(try await result.value == (awaits ? "async x" : "sync x"))
            #expect(runs.value == 1)
            expectNoWaiters(on: c)
        }
    }

    @Test func a_parked_select_gets_each_kind_of_value_handed_to_it_intact() async throws {
        // Small plain values are read out of the hand-over in place; the
        // rest are cast. Each must arrive as it was sent.
        #expect(try await handedToParkedSelect(42) == 42)
        #expect(try await handedToParkedSelect(Int?.none) == .some(nil))
        #expect(try await handedToParkedSelect(Int?.some(7)) == .some(7))
        let triple = try await handedToParkedSelect((1, 2.5, UInt8(3)))
        #expect(triple?.0 == 1 && triple?.1 == 2.5 && triple?.2 == 3)
        #expect(try await handedToParkedSelect(SIMD4<Int>(1, 2, 3, 4)) == SIMD4(1, 2, 3, 4))  // four words: cast
        #expect(try await handedToParkedSelect("not plain") == "not plain")
        let object = HandedObject()
        let objectBack = try await handedToParkedSelect(object)
        #expect(objectBack === object)
        let existential: any Equatable & Sendable = 5
        #expect(try await handedToParkedSelect(existential) as? Int == 5)
    }

    @Test func send_handlers_with_and_without_await_run_once_the_value_is_taken() async throws {
        let c = Chan<Int>(capacity: 1)
        let first = try await select { c.onSend(7) { "sent without await" } }
        #expect(first == "sent without await")
        let receiver = Task { try await c.receive() }
        #expect(try await receiver.value == 7)
        let second = try await select {
            c.onSend(8) {
                await suspendOnce()
                return "sent with await"
            }
        }
        #expect(second == "sent with await")
        #expect(try await c.receive() == 8)
    }

    @Test func errors_thrown_by_handlers_with_and_without_await_leave_the_select() async throws {
        let c = Chan<Int>(capacity: 2)
        try await c.send(1)
        try await c.send(2)
        await #expect(throws: HandlerFailure(tag: "sync")) {
            try await select { c.onReceive { _ -> Int in throw HandlerFailure(tag: "sync") } }
        }
        await #expect(throws: HandlerFailure(tag: "async")) {
            try await select {
                c.onReceive { _ -> Int in
                    await suspendOnce()
                    throw HandlerFailure(tag: "async")
                }
            }
        }
        // Both values were consumed: a handler's error does not undo its case.
        #expect(c.tryReceive() == .empty)
    }

    @Test func a_send_case_on_a_closed_channel_throws_without_running_its_handler() async throws {
        let c = Chan<Int>()
        try c.close()
        let runs = Shared(0)
        await #expect(throws: ChannelError.sendOnClosedChannel) {
            try await select { c.onSend(1) { runs.withLock { $0 += 1 } } }
        }
        await #expect(throws: ChannelError.sendOnClosedChannel) {
            try await select {
                c.onSend(1) {
                    await suspendOnce()
                    runs.withLock { $0 += 1 }
                }
            }
        }
        #expect(runs.value == 0)
    }

    @Test func a_select_with_a_default_takes_a_parked_senders_value_and_releases_the_sender() async throws {
        // (The locked poll before a default, which runs a handler only after
        // the channels' locks are released, is reached when a case turns
        // ready between the two polls: the tests of Guarantees, rule 24, race for it.)
        for awaits in [false, true] {
            // Given a sender parked on one of two unbuffered channels
            let a = Chan<Int>(), b = Chan<Int>()
            let sender = Task { try await b.send(42) }
            try await waitUntil("the sender parks") { b.parkedSenders == 1 }
            // When a select with a default and both channels runs
            var got: Int?
            for _ in 0..<1000 where got == nil {
                got = try await select {
                    a.onReceive { $0 }
                    if awaits {
                        b.onReceive { value in
                            await suspendOnce()
                            return value
                        }
                    } else {
                        b.onReceive { $0 }
                    }
                    otherwise { nil }
                }
            }
            // Then it took the value and the sender was released
            #expect(got == 42)
            try await sender.value
            expectNoWaiters(on: b)
        }
    }

    @Test func timeout_and_default_handlers_with_and_without_await_give_their_results() async throws {
        let quiet = Chan<Int>()
        let syncDefault = try await select {
            quiet.onReceive { _ in "value" }
            otherwise { "default" }
        }
        let asyncDefault = try await select {
            quiet.onReceive { _ in "value" }
            otherwise {
                await suspendOnce()
                return "async default"
            }
        }
        let syncTimeout = try await select {
            quiet.onReceive { _ in "value" }
            after(.zero) { "timeout" }
        }
        let asyncTimeout = try await select {
            quiet.onReceive { _ in "value" }
            after(.zero) {
                await suspendOnce()
                return "async timeout"
            }
        }
        #expect([syncDefault, asyncDefault, syncTimeout, asyncTimeout] == ["default", "async default", "timeout", "async timeout"])
        expectNoWaiters(on: quiet)
    }

    // MARK: select is an expression: the way a case ends a loop

    /// What a select in a loop tells the loop (the README's idiom).
    private enum Step: Equatable { case next, stop }

    /// Which case a select took, for the tests of its value.
    private enum Taken: Equatable { case received(Int?), sent, timedOut, defaulted, other }

    @Test func select_returns_the_chosen_handlers_value_for_each_kind_of_case() async throws {
        let ready = Chan<Int>(capacity: 1), room = Chan<Int>(capacity: 1), quiet = Chan<Int>()
        try await ready.send(7)
        // A receive case, a send case, a default, a timeout: each select
        // returns the value of the one handler that ran.
        let received: Taken = try await select {
            ready.onReceive { .received($0) }
            quiet.onReceive { _ in .other }
        }
        let sent: Taken = try await select {
            room.onSend(1) { .sent }
            quiet.onReceive { _ in .other }
        }
        let defaulted: Taken = try await select {
            quiet.onReceive { _ in .other }
            otherwise { .defaulted }
        }
        let timedOut: Taken = try await select {
            quiet.onReceive { _ in .other }
            after(.milliseconds(1)) { .timedOut }
        }
        #expect([received, sent, defaulted, timedOut] == [.received(7), .sent, .defaulted, .timedOut])
        // And after the select parked: a receive and a send that a partner
        // completes (it waits for the select to park first).
        let never = Chan<Int>()
        let partner = Task {
            try await waitUntil("the receiving select parks") { quiet.parkedReceivers == 1 }
            try await quiet.send(8)
            try await waitUntil("the sending select parks") { quiet.parkedSenders == 1 }
            return try await quiet.receive()
        }
        let wokenReceive: Taken = try await select {
            quiet.onReceive { .received($0) }
            never.onReceive { _ in .other }
        }
        let wokenSend: Taken = try await select {
            quiet.onSend(9) { .sent }
            never.onReceive { _ in .other }
        }
        #expect([wokenReceive, wokenSend] == [.received(8), .sent])
        #expect(try await partner.value == 9)
        expectNoWaiters(on: quiet)
        expectNoWaiters(on: never)
    }

    @Test func a_go_for_select_loop_stops_on_the_value_its_select_returns() async throws {
        // Go:  for { select { case <-done: return count; case v := <-input: count += v } }
        let input = Chan<Int>(), done = Chan<Void>()
        go {
            for value in 1...3 { try await input.send(value) }
            try done.close()
        }
        var count = 0
        while true {
            let step: Step = try await select {
                done.onReceive { _ in .stop }
                input.onReceive { value in
                    count += value!
                    return .next
                }
            }
            if step == .stop { break }
        }
        #expect(count == 6)
    }

    @Test func a_labelled_break_out_of_a_for_select_loop_is_a_break_on_the_selects_value() async throws {
        // Go:  loop: for { select { case v, ok := <-input: if !ok { break loop }; sum += v
        //                           case <-time.After(time.Minute): break loop } }
        let input = Chan<Int>(capacity: 3)
        for value in [4, 5, 6] { try await input.send(value) }
        try input.close()
        var sum = 0
        loop: while true {
            let more = try await select {
                input.onReceive { value in
                    guard let value else { return false }   // closed and drained
                    sum += value
                    return true
                }
                after(.seconds(60)) { false }
            }
            if !more { break loop }
        }
        #expect(sum == 15)
    }
}

private final class HandedObject: Sendable {}

/// Sends `value` to a select parked on a channel of its type (the sender
/// hands it over to the select's waiter) and returns what the select got.
private func handedToParkedSelect<Element: Sendable>(_ value: Element) async throws -> Element? {
    let c = Chan<Element>()
    let result = Task { try await select { c.onReceive { $0 } } }
    try await waitUntil("the select parks") { c.parkedReceivers == 1 }
    try await c.send(value)
    let got = try await result.value
    expectNoWaiters(on: c)
    return got
}
