// x/sync's singleflight (`Sync.SingleFlight`): one call in flight per key,
// the callers that come meanwhile share its value or its error; `forget`;
// the channel form (`start`, Go's DoChan); what cancellation does to a
// waiting caller and to the caller running the body; and a caller waiting
// for a call that can never end is a deadlock.

import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Sync.SingleFlight", .timeLimit(Stress.timeLimit))
struct SingleFlightTests {
    struct Failure: Error, Equatable { let id: Int }

    /// A body that says when it runs and returns what `release` gives it.
    final class GatedBody: Sendable {
        let runs = Counter()
        let entered = Chan<Void>(capacity: 16)
        let release = Chan<Result<Int, Failure>>(capacity: 16)

        func call() async throws -> Int {
            runs.increment()
            try await entered.send(())
            return try await release.receive()!.get()
        }
    }

    @Test func one_call_per_key_runs_and_the_callers_meanwhile_share_its_value() async throws {
        let flight = Sync.SingleFlight<String, Int>()
        let body = GatedBody()
        let results = Chan<(value: Int, shared: Bool)>(capacity: 8)
        // Given a caller running the body for "a"
        go { try await results.send(try await flight.run("a") { try await body.call() }) }
        _ = try await body.entered.receive()
        // When five more callers ask for "a" while it runs
        for _ in 0..<5 {
            go { try await results.send(try await flight.run("a") { try await body.call() }) }
        }
        try await waitUntil("the five wait") { flight.waitingCount(for: "a") == 5 }
        // And another key is asked for meanwhile: it is not held up
        let other = try await flight.run("b") { 7 }
        #expect(other.value == 7 && !other.shared)
        try await body.release.send(.success(42))
        // Then the body ran once, and all six got its value, shared
        var got: [Int] = []
        for _ in 0..<6 {
            let result = try #require(try await results.receive())
            #expect(result.shared)
            got.append(result.value)
        }
        #expect(got == Array(repeating: 42, count: 6))
        #expect(body.runs.value == 1)
        // And the key is free again: the next caller runs the body, alone
        let again = try await flight.run("a") { 43 }
        #expect(again.value == 43 && !again.shared)
    }

    @Test func the_bodys_error_goes_to_every_caller() async throws {
        let flight = Sync.SingleFlight<Int, Int>()
        let body = GatedBody()
        let errors = Chan<Failure?>(capacity: 4)
        for index in 0..<3 {
            go {
                do {
                    _ = try await flight.run(1) { try await body.call() }
                    try await errors.send(nil)
                } catch let failure as Failure {
                    try await errors.send(failure)
                }
            }
            if index == 0 { _ = try await body.entered.receive() }
        }
        try await waitUntil("two wait") { flight.waitingCount(for: 1) == 2 }
        try await body.release.send(.failure(Failure(id: 9)))
        for _ in 0..<3 {
            #expect(try await errors.receive() == .some(Failure(id: 9)))
        }
        #expect(body.runs.value == 1)
    }

    @Test func forget_lets_the_next_caller_run_the_body_while_the_waiters_keep_the_old_call() async throws {
        let flight = Sync.SingleFlight<String, Int>()
        let body = GatedBody()
        let results = Chan<Int>(capacity: 4)
        go { try await results.send(try await flight.run("k") { try await body.call() }.value) }
        _ = try await body.entered.receive()
        go { try await results.send(try await flight.run("k") { try await body.call() }.value) }
        try await waitUntil("a caller waits for the first call") { flight.waitingCount(for: "k") == 1 }
        // When the key is forgotten, the next caller runs a body of its own
        flight.forget("k")
        go { try await results.send(try await flight.run("k") { try await body.call() }.value) }
        _ = try await body.entered.receive()
        #expect(body.runs.value == 2)
        #expect(flight.waitingCount(for: "k") == 0, "the new call has nobody waiting for it")
        // The first call ends: its caller and its waiter get its value
        try await body.release.send(.success(1))
        let firstTwo = [try await results.receive(), try await results.receive()]
        #expect(firstTwo == [1, 1])
        // The second ends: it did not remove, nor was removed by, the first
        try await body.release.send(.success(2))
        #expect(try await results.receive() == 2)
    }

    @Test func a_cancelled_waiter_stops_waiting_and_the_call_goes_on_for_the_others() async throws {
        let flight = Sync.SingleFlight<String, Int>()
        let body = GatedBody()
        let leader = Chan<(value: Int, shared: Bool)>(capacity: 1)
        go { try await leader.send(try await flight.run("k") { try await body.call() }) }
        _ = try await body.entered.receive()
        let waiter = Task { try await flight.run("k") { try await body.call() } }
        try await waitUntil("the task waits") { flight.waitingCount(for: "k") == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(flight.waitingCount(for: "k") == 0)
        // The call went on; its caller gets the value, shared with nobody
        // (the cancelled waiter did not get it)
        try await body.release.send(.success(5))
        let result = try #require(try await leader.receive())
        #expect(result.value == 5)
        #expect(!result.shared)
        #expect(body.runs.value == 1)
    }

    @Test func when_the_caller_running_the_body_is_cancelled_the_body_sees_it_and_the_others_get_its_outcome() async throws {
        let flight = Sync.SingleFlight<String, String>()
        let entered = Chan<Void>(capacity: 1)
        let never = Chan<Int>()
        let leader = Task {
            try await flight.run("k") {
                try await entered.send(())
                do {
                    _ = try await never.receive()
                    return "received"
                } catch is CancellationError {
                    return "the body saw the cancellation"
                }
            }
        }
        _ = try await entered.receive()
        let results = Chan<(value: String, shared: Bool)>(capacity: 2)
        for _ in 0..<2 {
            go { try await results.send(try await flight.run("k") { "a second body" }) }
        }
        try await waitUntil("two wait") { flight.waitingCount(for: "k") == 2 }
        leader.cancel()
        let led = try await leader.value
        #expect(led.value == "the body saw the cancellation")
        #expect(led.shared)
        for _ in 0..<2 {
            let result = try #require(try await results.receive())
            #expect(result.value == "the body saw the cancellation")
            #expect(result.shared)
        }
    }

    @Test func start_is_the_channel_form_one_body_every_channel_gets_the_outcome() async throws {
        let flight = Sync.SingleFlight<Int, Int>()
        let body = GatedBody()
        let first = flight.start(1) { try await body.call() }
        _ = try await body.entered.receive()
        let second = flight.start(1) { try await body.call() }
        #expect(first.count == 0 && second.count == 0, "nothing before the call ends")
        try await body.release.send(.success(3))
        for channel in [first, second] {
            let outcome = try #require(try await channel.receive())
            #expect(try outcome.get() == 3)
            #expect(outcome.shared)
        }
        #expect(body.runs.value == 1)
        // An error goes in the outcome; alone, it is not shared
        let failed = try #require(try await flight.start(2) { throw Failure(id: 4) }.receive())
        #expect(!failed.shared)
        #expect(throws: Failure(id: 4)) { try failed.get() }
    }

    @Test func a_body_waiting_for_its_own_key_is_a_deadlock() async throws {
        do {
            _ = try await GoRuntime.run { () async throws -> Int in
                let flight = Sync.SingleFlight<String, Int>()
                return try await flight.run("k") {
                    try await flight.run("k") { 1 }.value
                }.value
            }
            Issue.record("the program returned instead of deadlocking")
        } catch let deadlock as Deadlock {
            let reasons = deadlock.dump.goroutines.compactMap {
                if case .waiting(let reason, _) = $0.state { reason } else { nil }
            }
            #expect(reasons == [.singleFlight])
            #expect(withoutWaitLength(deadlock.description).contains("[singleflight.Group.Do]"))
        }
    }
}
