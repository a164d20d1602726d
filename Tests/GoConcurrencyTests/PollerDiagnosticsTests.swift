// What the deadlock check and goroutine dumps make of goroutines waiting on
// descriptors: "IO wait" at the caller's line, never counted as stuck (the
// descriptor's peer is outside the runtime), while a channel deadlock beside
// a descriptor that was closed is reported as before.

#if os(Linux)
import Glibc
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Network poller diagnostics", .timeLimit(Stress.timeLimit))
struct PollerDiagnosticsTests {
    @Test("A goroutine waiting on a descriptor shows as [IO wait] at the wait's line")
    func dumpShowsIOWait() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        let descriptor = fixture.descriptor
        let line: UInt = #line + 1
        go(on: fixture.runtime) { try? await descriptor.wait(.read) }
        try await waitUntil("the wait is listed") {
            fixture.runtime.dump().goroutines.contains {
                $0.state == .waiting(.ioWait, at: SourceLocation(fileID: #fileID, line: line))
            }
        }
        // A descriptor's peer is outside the runtime: the wait may end from there
        let outside = fixture.runtime.dump().goroutines
            .filter { $0.state == .waiting(.ioWait, at: SourceLocation(fileID: #fileID, line: line)) }
            .map(\.mayBeWokenFromOutside)
        #expect(outside == [true])
        let text = "\(fixture.runtime.dump())"
        #expect(text.contains("[IO wait"))
        #expect(text.contains("GoConcurrencyTests/PollerDiagnosticsTests.swift:\(line)"))
    }

    @Test("A goroutine waiting on a descriptor is not reported as a deadlock; the run ends when its peer writes")
    func ioWaitIsNotADeadlock() async throws {
        let pair = try SocketPair()
        defer { Glibc.close(pair.right) }
        let ran = Shared<GoRuntime?>(nil)
        // Given a checked run whose main goroutine waits on a channel that
        // only a goroutine reading a socket will send on
        let run = Task {
            try await GoRuntime.run(processors: 1) { () -> Int in
                let runtime = GoRuntime.startingOn(nil)
                ran.set(runtime)
                let descriptor = try PollDescriptor.register(pair.left, on: runtime)
                defer { descriptor.close() }
                let got = Chan<UInt8>()
                go { try await got.send(try await readByteWaiting(descriptor)) }
                return Int(try await got.receive() ?? 0)
            }
        }
        // When every goroutine is parked and the processor idle
        try await waitUntil("both goroutines park") {
            guard let runtime = ran.value else { return false }
            let reasons = runtime.dump().goroutines.compactMap { info -> WaitReason? in
                if case .waiting(let reason, _) = info.state { reason } else { nil }
            }
            return reasons.sorted(by: { $0.rawValue < $1.rawValue }) == [.ioWait, .channelReceive]
                && runtime.idleCount.load(ordering: .relaxed) == 1
        }
        // Then no deadlock was reported: the write ends the run normally
        writeByte(pair.right, 5)
        #expect(try await run.value == 5)
    }

    @Test("After the descriptor is closed, a channel deadlock beside it is reported as before")
    func channelDeadlockBesideClosedDescriptor() async throws {
        let pair = try SocketPair()
        defer { Glibc.close(pair.right) }
        do {
            try await GoRuntime.run(processors: 1) {
                let runtime = GoRuntime.startingOn(nil)
                let descriptor = try PollDescriptor.register(pair.left, on: runtime)
                let never = Chan<Int>()
                // Given a goroutine parked on the descriptor
                go {
                    _ = await waitResult(descriptor, .read)
                    // (woken by the close, it then waits on a channel nobody sends on)
                    _ = try await never.receive()
                }
                while runtime.poller?.waiters.load(ordering: .relaxed) != 1 { await GoRuntime.yield() }
                // When the descriptor is closed and the main goroutine blocks too
                descriptor.close()
                _ = try await never.receive()
            }
            Issue.record("the program returned instead of deadlocking")
        } catch let deadlock as Deadlock {
            // Then the deadlock is reported, with both channel waits
            let reasons = deadlock.dump.goroutines.compactMap { info -> WaitReason? in
                if case .waiting(let reason, _) = info.state { reason } else { nil }
            }
            #expect(reasons == [.channelReceive, .channelReceive])
        }
    }

    @Test("When a checked run ends, descriptors still open fail their waits with .closed")
    func runEndClosesPoller() async throws {
        let pair = try SocketPair()
        defer { Glibc.close(pair.right) }
        // Given a descriptor registered by a checked run that then ends
        let descriptor = try await GoRuntime.run(processors: 1) {
            try PollDescriptor.register(pair.left, on: GoRuntime.startingOn(nil))
        }
        // Then its waits fail with .closed (once the run's last thread has
        // left and closed the poller; a wait before that is woken by it)
        #expect(await waitResult(descriptor, .read) == .failed(.closed))
        #expect(throws: PollWaitError.closed) { try descriptor.prepare(.write) }
        // And closing it still closes its number
        descriptor.close()
        #expect(descriptor.isNumberClosed)
    }
}
#endif
