// The idioms stop: a consumer that stops reading early, by closing a `done`
// channel (Go's pipelines and cancellation), by releasing a handle, or by its
// task being cancelled with the close in a `defer`, leaves no goroutine behind.

import Testing
@testable import GoConcurrency

@Suite("Idioms stop when their consumer does", .timeLimit(Stress.timeLimit))
struct IdiomStoppingTests {
    /// Naturals from 0 for as long as they are taken (and `done` is open).
    func naturals(done: ReceiveOnlyChan<Void>? = nil) -> Generator<Int> {
        Generator<Int>(done: done) { yield in
            var next = 0
            while try await yield(next) { next += 1 }
        }
    }

    @Test func a_pipeline_whose_consumer_stops_early_leaves_no_goroutine() async throws {
        try await GoRuntime.checkingLeaks {
            // Given a generator, four squaring stages reading it and a merge
            // of their outputs (ten goroutines), all sharing one done channel,
            let done = Chan<Void>()
            let numbers = naturals(done: done.receiveOnly)
            let workers = (0..<4).map { _ in stage(numbers.channel, done: done.receiveOnly) { $0 * $0 } }
            let squares = merge(workers, done: done.receiveOnly)
            // when the consumer takes two values and stops,
            _ = try await squares.receive()
            _ = try await squares.receive()
            try done.close()
            // then every goroutine returns (checked as the scope ends), while
            // the generator is still held.
            withExtendedLifetime(numbers) {}
        }
    }

    @Test func a_stage_stops_when_done_closes_though_its_input_never_closes() async throws {
        try await GoRuntime.checkingLeaks {
            let input = Chan<Int>()
            let done = Chan<Void>()
            let output = stage(input.receiveOnly, done: done.receiveOnly) { $0 + 1 }
            try await input.send(1)
            // The stage holds 2 for a consumer that never comes, then waits
            // for an input that never comes.
            try done.close()
            try await waitUntil("the stage closes its output") { output.isClosed }
            #expect(input.parkedReceivers == 0)
        }
    }

    @Test func a_stage_waiting_for_input_stops_when_done_closes() async throws {
        try await GoRuntime.checkingLeaks {
            let input = Chan<Int>()
            let done = Chan<Void>()
            let output = stage(input.receiveOnly, done: done.receiveOnly) { $0 + 1 }
            try await waitUntil("the stage waits for its input") { input.parkedReceivers == 1 }
            try done.close()
            try await waitUntil("the stage closes its output") { output.isClosed }
            guard case .closed = output.tryReceive() else {
                Issue.record("the output holds a value or is open")
                return
            }
        }
    }

    @Test func merge_stops_when_done_closes_though_no_input_closes() async throws {
        try await GoRuntime.checkingLeaks {
            let a = Chan<Int>(), b = Chan<Int>()
            let done = Chan<Void>()
            let merged = merge(a.receiveOnly, b.receiveOnly, done: done.receiveOnly)
            try await a.send(1)
            #expect(try await merged.receive() == 1)
            try await b.send(2)  // taken by b's forwarder, which waits to hand it on
            try done.close()
            try await waitUntil("the merged channel closes") { merged.isClosed }
        }
    }

    @Test func a_generator_stops_when_done_closes_while_its_handle_is_kept() async throws {
        try await GoRuntime.checkingLeaks {
            let done = Chan<Void>()
            let numbers = naturals(done: done.receiveOnly)
            #expect(try await numbers.next() == 0)
            try done.close()
            // The producer's yield returns false: it returns and closes.
            try await waitUntil("the generator closes") { numbers.channel.isClosed }
            withExtendedLifetime(numbers) {}
        }
    }

    @Test func a_released_generator_leaks_nothing() async throws {
        try await GoRuntime.checkingLeaks {
            let numbers = naturals()
            let first = try await numbers.next()
            #expect(first == 0)
        }
    }

    @Test func a_future_nobody_reads_leaks_nothing() async throws {
        try await GoRuntime.checkingLeaks {
            _ = Future { 42 }
        }
    }

    @Test func a_released_shared_variable_leaks_nothing() async throws {
        try await GoRuntime.checkingLeaks {
            let variable = SharedVariable(0)
            try await variable.set(1)
            #expect(try await variable.get() == 1)
        }
    }

    @Test func a_cancelled_consumer_that_closes_done_on_exit_stops_the_pipeline() async throws {
        try await GoRuntime.checkingLeaks {
            let input = Chan<Int>()
            let got = Chan<Int>(capacity: 1)
            // Given a consumer task ranging over a pipeline, with the close of
            // done in a defer,
            let consumer = Task {
                let done = Chan<Void>()
                defer { try? done.close() }
                let doubled = stage(input.receiveOnly, done: done.receiveOnly) { $0 * 2 }
                for await value in merge([doubled], done: done.receiveOnly) {
                    try await got.send(value)
                }
            }
            try await input.send(1)
            #expect(try await got.receive() == 2)
            // when the task is cancelled while the pipeline waits for input,
            try await waitUntil("the stage waits for its input") { input.parkedReceivers == 1 }
            consumer.cancel()
            // then its range ends, done closes, and every goroutine returns.
            try await consumer.value
        }
    }
}
