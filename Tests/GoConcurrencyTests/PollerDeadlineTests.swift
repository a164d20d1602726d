// Descriptor deadlines (Go's SetReadDeadline / SetWriteDeadline at the
// runtime level), on runtimes with a `ManualClock`: they fire exactly when
// the test moves the clock.

#if os(Linux)
import Glibc
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Network poller deadlines", .timeLimit(Stress.timeLimit))
struct PollerDeadlineTests {
    @Test("A deadline in the past fails waits and prepares at once, and keeps failing until reset")
    func pastDeadline() async throws {
        let clock = ManualClock()
        let fixture = try PollFixture(processors: 1, clock: clock)
        defer { fixture.close() }
        let descriptor = fixture.descriptor
        let timers = fixture.runtime.timers
        // Given a read deadline that has passed
        descriptor.setDeadline(timers.now(), for: .read)
        // Then every read wait and prepare fails with .timeout, again and again
        #expect(await waitResult(descriptor, .read) == .failed(.timeout))
        #expect(throws: PollWaitError.timeout) { try descriptor.prepare(.read) }
        writeByte(fixture.pair.right, 1)
        #expect(await waitResult(descriptor, .read) == .failed(.timeout))
        // While the write direction is not affected
        try descriptor.prepare(.write)
        // When the deadline is cleared, Then waits work again
        descriptor.setDeadline(nil, for: .read)
        try descriptor.prepare(.read)
        #expect(readByte(fixture.pair.left) == 1)
        writeByte(fixture.pair.right, 2)
        #expect(await waitResult(descriptor, .read) == .ready)
        #expect(clock.pendingTimers == 0)
    }

    @Test("A future deadline ends a parked wait exactly when the clock reaches it; reset after expiry, waits work again")
    func futureDeadline() async throws {
        let clock = ManualClock()
        let fixture = try PollFixture(processors: 2, clock: clock)
        defer { fixture.close() }
        let (runtime, descriptor) = (fixture.runtime, fixture.descriptor)
        // Given a goroutine parked in a read wait, and a deadline 5 s ahead
        let results = fixture.goWait(.read)
        try await waitUntil("the reader parks") { fixture.parkedWaits == 1 }
        descriptor.setDeadline(runtime.timers.now() + 5_000_000_000, for: .both)
        #expect(clock.pendingTimers == 2)
        // When the clock moves 4 s, Then nothing fires
        clock.advance(by: .seconds(4))
        #expect(clock.pendingTimers == 2)
        #expect(fixture.parkedWaits == 1)
        // When it reaches the deadline, Then the wait ends with .timeout
        clock.advance(by: .seconds(1))
        #expect(try await results.receive() == .failed(.timeout))
        try await waitUntil("both deadlines fired") { clock.pendingTimers == 0 }
        // And the expired deadline keeps failing, in both directions
        #expect(await waitResult(descriptor, .read) == .failed(.timeout))
        #expect(throws: PollWaitError.timeout) { try descriptor.prepare(.write) }
        // When it is set again, in the future, Then waits park and are readied
        descriptor.setDeadline(runtime.timers.deadline(for: clock.now.advanced(by: .seconds(10))), for: .read)
        let again = fixture.goWait(.read)
        try await waitUntil("the reader parks again") { fixture.parkedWaits == 1 }
        writeByte(fixture.pair.right, 1)
        #expect(try await again.receive() == .ready)
        #expect(readByte(fixture.pair.left) == 1)
    }

    @Test("A deadline moved into the past while a write wait is parked ends it at once")
    func deadlineMovedIntoThePast() async throws {
        let clock = ManualClock()
        let fixture = try PollFixture(processors: 1, clock: clock) { fillSendBuffer($0.left) }
        defer { fixture.close() }
        let (runtime, descriptor) = (fixture.runtime, fixture.descriptor)
        descriptor.setDeadline(runtime.timers.now() + 60_000_000_000, for: .write)
        let results = fixture.goWait(.write)
        try await waitUntil("the writer parks") { fixture.parkedWaits == 1 }
        descriptor.setDeadline(runtime.timers.deadline(for: clock.now.advanced(by: .seconds(-1))), for: .write)
        #expect(try await results.receive() == .failed(.timeout))
        // The timer of the deadline it replaced was disarmed
        #expect(clock.pendingTimers == 0)
    }
}
#endif
