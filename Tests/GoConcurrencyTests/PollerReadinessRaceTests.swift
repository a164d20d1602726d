// A readiness that meets a cancellation: whoever loses, the readiness is not
// lost (the registration is edge-triggered, so it would not come again).

#if os(Linux)
import Foundation
import Testing
@testable import GoConcurrency
import Glibc

@Suite("Network poller: readiness racing cancellation", .timeLimit(Stress.timeLimit))
struct PollerReadinessRaceTests {
    @Test("A readiness whose waiter is cancelled goes to the next wait, even one already parked")
    func readinessRacingCancellationIsNeverLost() async throws {
        let runtime = GoRuntime(processors: 2)
        var lost = 0
        for _ in 0..<Stress.size(1_000) {
            // Given a plain task parked on a socket
            let pair = try SocketPair()
            let descriptor = try PollDescriptor.register(pair.left, on: runtime)
            let task = Task { await waitResult(descriptor, .read) }
            try await waitUntil("the wait parks") { (runtime.poller?.waiters.load(ordering: .relaxed) ?? 0) == 1 }
            // When a byte arrives while the task is cancelled, from two threads
            let right = pair.right
            startThread { _ = writeByte(right, 1) }
            startThread { task.cancel() }
            let first = await task.value
            if first != .ready {
                // Then the byte, now in the socket, is seen by the next wait
                // (a readiness dropped here never comes again: 5 of 1,797
                // were, when the cancel won and this wait had parked already)
                descriptor.setDeadline(runtime.timers.now() + 60_000_000_000, for: .read)
                if await waitResult(descriptor, .read) != .ready { lost += 1 }
            }
            #expect(runtime.poller?.waiters.load(ordering: .relaxed) == 0)
            descriptor.close()
            close(pair.right)
        }
        #expect(lost == 0)
    }
}
#endif
