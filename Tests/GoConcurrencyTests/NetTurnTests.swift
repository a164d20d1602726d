// Calls of one direction of a connection take turns (Go's fdMutex): writers
// never interleave their bytes, and a caller cancelled while it waits for its
// turn gives up nothing it does not hold.

#if os(Linux)
import Foundation
import Testing
@testable import GoConcurrency

@Suite("Net: calls take turns", .timeLimit(Stress.timeLimit))
struct NetTurnTests {
    @Test("Four writers of 2 MB each at once: each write arrives whole, never interleaved with another")
    func concurrentWritesDoNotInterleave() async throws {
        let runtime = GoRuntime(processors: 2)
        let chunk = 2 * 1024 * 1024  // more than a loopback socket buffers: writes park mid-way
        let received = try await onRuntime(runtime) { () async throws -> [UInt8] in
            let (server, client) = try await NetTests.connectedPair(on: runtime)
            defer { server.close(); client.close() }
            // Given four goroutines writing at once, each its own byte value
            let done = Chan<Void>(capacity: 4)
            for writer in 0..<4 {
                go {
                    try await client.write([UInt8](repeating: UInt8(writer + 1), count: chunk))
                    try await done.send(())
                }
            }
            var all: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 8192)
            while all.count < 4 * chunk {
                let n = try await server.read(into: &buffer)
                if n == 0 { break }
                all += buffer[..<n]
            }
            for _ in 0..<4 { _ = try await done.receive() }
            return all
        }
        // Then the stream is four runs of one value each
        #expect(received.count == 4 * chunk)
        var runs: [UInt8] = []
        for byte in received where runs.last != byte { runs.append(byte) }
        #expect(runs.count == 4 && Set(runs).count == 4, "\(runs.prefix(20))")
    }

    @Test("A plain task cancelled while it waits for its turn to read leaves the turn to the next reader")
    func aCancelledTurnWaiterHoldsNothing() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await onRuntime(runtime) { try await NetTests.connectedPair(on: runtime) }
        defer { server.close(); client.close() }
        // Given a goroutine parked in a read (it holds the read turn)
        let first = outcome(on: runtime) { var b = [UInt8](repeating: 0, count: 1); _ = try await server.read(into: &b) }
        try await waitForIOWaiters(runtime, 1)
        // and a plain task waiting for its turn behind it, then cancelled
        let second = Task { () -> String in
            var b = [UInt8](repeating: 0, count: 1)
            do { _ = try await server.read(into: &b); return "read" } catch { return "\(error)" }
        }
        try await waitUntil("the second reader waits for its turn") {
            server.socket.descriptor.state.withLock { $0.readTurnQueue.count } == 1
        }
        second.cancel()
        #expect(await second.value == "\(NetError.cancelled)")
        // When a byte comes, the first reader gets it; and a third reader,
        // after it, gets the next byte (the turn went on, nobody kept it)
        try await onRuntime(runtime) { try await client.write([1]) }
        #expect(try await first.receive() == "returned")
        let third = outcome(on: runtime) { var b = [UInt8](repeating: 0, count: 1); _ = try await server.read(into: &b) }
        try await onRuntime(runtime) { try await client.write([2]) }
        #expect(try await third.receive() == "returned")
        #expect(server.socket.descriptor.state.withLock { !$0.readTurnHeld && $0.readTurnQueue.isEmpty })
    }
}
#endif
