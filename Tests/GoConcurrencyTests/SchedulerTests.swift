// The first scheduler guarantees (the runtime issue adds the rest).

import Testing
@testable import GoConcurrency

@Suite("Scheduler")
struct SchedulerTests {
    /// One processor for the tests that need to see its queues at work. A
    /// runtime lives as long as the process, so the suite shares one.
    static let singleProcessor = GoRuntime(processors: 1)

    @Test func a_pair_handing_off_through_runnext_does_not_starve_the_local_queue() async throws {
        // Given one processor on which goroutine A starts C and then
        // ping-pongs with B, so that C waits in the local queue while A and B
        // take turns through runnext,
        let runtime = SchedulerTests.singleProcessor
        let ping = Chan<Int>(), pong = Chan<Int>(), done = Chan<Void>()
        let rounds = Chan<Int>(capacity: 1)
        let limit = 1_000_000
        go(on: runtime) {
            for await value in ping {
                try await pong.send(value)
            }
        }
        go(on: runtime) {
            go(on: runtime) { try done.close() }
            var count = 0
            while !done.isClosed && count < limit {
                try await ping.send(count)
                _ = try await pong.receive()
                count += 1
            }
            try ping.close()
            try await rounds.send(count)
        }
        // Then C runs after a bounded number of hand-offs, not never.
        let count = try await rounds.receive()!
        #expect(count < limit, "the goroutine in the local queue never ran during \(count) hand-offs")
        #expect(count <= Processor.runnextTurns + 1)
    }

    @Test func a_goroutine_that_throws_reports_a_panic_and_exits_with_status_2() async {
        let result = await #expect(processExitsWith: .exitCode(2), observing: [\.standardErrorContent]) {
            struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
            let done = Chan<Void>()
            go { throw Boom() }
            _ = try? await done.receive()
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("panic: boom"))
        #expect(standardError.contains("SchedulerTests.swift"))
    }
}
