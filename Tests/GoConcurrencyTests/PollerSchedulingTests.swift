// The network poller inside the scheduler: many descriptors readied at once
// on one or two processors and while GOMAXPROCS changes, and timers that
// still fire while a processor sleeps in the poller.

#if os(Linux)
import Glibc
import Synchronization
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Network poller in the scheduler", .timeLimit(Stress.timeLimit))
struct PollerSchedulingTests {
    /// Socket pairs for a test (two descriptors each; capped below the
    /// process's descriptor limit whatever the stress knob says).
    static var pairCount: Int { min(Stress.size(1_000), 4_000) }

    enum Processors: Sendable, CustomStringConvertible {
        case fixed(Int)
        case changing
        var description: String {
            switch self {
            case .fixed(let count): "GOMAXPROCS \(count)"
            case .changing: "GOMAXPROCS changing"
            }
        }
    }

    @Test("1,000 descriptors readied at once wake every goroutine waiting on them",
          arguments: [Processors.fixed(1), .fixed(2), .changing])
    func thousandReadiedAtOnce(_ processors: Processors) async throws {
        let count = Self.pairCount
        let runtime: GoRuntime
        if case .fixed(let fixed) = processors { runtime = GoRuntime(processors: fixed) } else { runtime = GoRuntime(processors: 2) }
        let pairs = try (0..<count).map { _ in try SocketPair() }
        let descriptors = try pairs.map { try PollDescriptor.register($0.left, on: runtime) }
        defer {
            for descriptor in descriptors { descriptor.close() }
            for pair in pairs { Glibc.close(pair.right) }
        }
        // Given a goroutine parked in a read wait on each
        let got = Chan<Int>(capacity: count)
        for descriptor in descriptors {
            go(on: runtime) { try await got.send(Int(try await readByteWaiting(descriptor))) }
        }
        let poller = try #require(runtime.poller)
        try await waitUntil("every reader parks") { poller.waiters.load(ordering: .relaxed) == count }
        // (and, for the third case, GOMAXPROCS going up and down meanwhile)
        let stop = Flag()
        let changes = Counter()
        if case .changing = processors {
            startThread {
                var next = 1
                while !stop.isSet {
                    runtime.processorCount = next
                    changes.increment()
                    next = next % 3 + 1
                    usleep(200)
                }
            }
            try await waitUntil("GOMAXPROCS changed") { changes.value > 2 }
        }
        // When every peer writes a byte, all at once, from a plain thread
        await onThread {
            for pair in pairs { writeByte(pair.right, 1) }
        }
        // Then every goroutine reads its byte
        var total = 0
        for _ in 0..<count { total += try await got.receive() ?? 0 }
        stop.set()
        #expect(total == count)
        #expect(poller.waiters.load(ordering: .relaxed) == 0)
    }

    @Test("A sleep's timer fires while the processor sleeps in the poller for a parked wait")
    func timerFiresWhileSleepingInPoller() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        let runtime = fixture.runtime
        // Given the runtime's one processor asleep in epoll for a parked read
        let reads = fixture.goWait(.read)
        let poller = try #require(runtime.poller)
        try await waitUntil("the processor sleeps in the poller") { poller.sleeping.load(ordering: .relaxed) }
        // When a goroutine sleeps 10 ms, Then its timer fires (the poller's
        // sleep ends for it), and the wait stays parked
        let woke = Chan<Void>(capacity: 1)
        go(on: runtime) {
            try await sleep(for: .milliseconds(10))
            try await woke.send(())
        }
        _ = try await woke.receive()
        #expect(fixture.parkedWaits == 1)
        try await waitUntil("the processor sleeps in the poller again") { poller.sleeping.load(ordering: .relaxed) }
        writeByte(fixture.pair.right, 1)
        #expect(try await reads.receive() == .ready)
    }

    @Test("On a ManualClock runtime, a timer fires exactly when advanced while the processor sleeps in the poller")
    func manualTimerWhileSleepingInPoller() async throws {
        let clock = ManualClock()
        let fixture = try PollFixture(processors: 1, clock: clock)
        defer { fixture.close() }
        let runtime = fixture.runtime
        let reads = fixture.goWait(.read)
        let poller = try #require(runtime.poller)
        // Given a goroutine asleep for 10 ms of the test clock, and the
        // processor asleep in the poller (until woken: the clock is the test's)
        let woke = Chan<Void>(capacity: 1)
        go(on: runtime) {
            try await sleep(for: .milliseconds(10))
            try await woke.send(())
        }
        try await waitUntil("the sleep's timer is armed") { clock.pendingTimers == 1 }
        try await waitUntil("the processor sleeps in the poller") { poller.sleeping.load(ordering: .relaxed) }
        // When the clock moves 9 ms, Then the timer has not fired
        clock.advance(by: .milliseconds(9))
        #expect(clock.pendingTimers == 1)
        // When it moves 1 ms more, Then it fires
        clock.advance(by: .milliseconds(1))
        _ = try await woke.receive()
        #expect(clock.pendingTimers == 0)
        #expect(fixture.parkedWaits == 1)
        writeByte(fixture.pair.right, 1)
        #expect(try await reads.receive() == .ready)
    }

    @Test("A readiness reaches a goroutine while every processor stays busy (the 10 ms starvation poll)")
    func readinessWhileBusy() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        let runtime = fixture.runtime
        let reads = fixture.goWait(.read)
        try await waitUntil("the reader parks") { fixture.parkedWaits == 1 }
        // Given the one processor kept busy by a goroutine that only yields
        let stop = Flag()
        let spinning = Flag()
        go(on: runtime) {
            spinning.set()
            while !stop.isSet { await GoRuntime.yield() }
        }
        try await waitUntil("the busy goroutine runs") { spinning.isSet }
        // When the peer writes, Then the reader is readied all the same
        writeByte(fixture.pair.right, 1)
        #expect(try await reads.receive() == .ready)
        stop.set()
    }
}
#endif
