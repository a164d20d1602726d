// The network poller at the Runtime level: `PollDescriptor` waits on real
// socket pairs and pipes, readied by the runtime's processors polling epoll.

#if os(Linux)
import Foundation
import Glibc
import Synchronization
import Testing
@_spi(Testing) @testable import GoConcurrency

/// A connected pair of non-blocking Unix-domain stream sockets.
struct SocketPair {
    let left: Int32
    let right: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        let result = socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds)
        if result != 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        left = fds[0]
        right = fds[1]
    }
}

/// Writes `byte` to `fd` (non-blocking); true if it was written.
@discardableResult
func writeByte(_ fd: Int32, _ byte: UInt8 = 42) -> Bool {
    var value = byte
    return Glibc.write(fd, &value, 1) == 1
}

/// Reads one byte from `fd` (non-blocking): the byte, or nil (EAGAIN, EOF).
func readByte(_ fd: Int32) -> UInt8? {
    var value: UInt8 = 0
    return Glibc.read(fd, &value, 1) == 1 ? value : nil
}

/// Fills `fd`'s send buffer until a write would block.
func fillSendBuffer(_ fd: Int32) {
    let chunk = [UInt8](repeating: 7, count: 65536)
    while chunk.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) > 0 {}
}

/// Reads everything `fd` holds now.
func drain(_ fd: Int32) {
    var buffer = [UInt8](repeating: 0, count: 65536)
    while buffer.withUnsafeMutableBytes({ Glibc.read(fd, $0.baseAddress, $0.count) }) > 0 {}
}

/// Reads one byte as a goroutine would: try, and on EAGAIN wait for readiness.
func readByteWaiting(_ descriptor: PollDescriptor, file: StaticString = #fileID, line: UInt = #line) async throws(PollWaitError) -> UInt8 {
    try descriptor.prepare(.read)
    while true {
        if let byte = readByte(descriptor.fd) { return byte }
        try await descriptor.wait(.read, file: file, line: line)
    }
}

/// A runtime of a test's own, a socket pair, and its left end registered.
struct PollFixture {
    let runtime: GoRuntime
    let pair: SocketPair
    let descriptor: PollDescriptor

    init(processors: Int, clock: ManualClock? = nil, before: (SocketPair) -> Void = { _ in }) throws {
        runtime = GoRuntime(processors: processors, clock: clock)
        pair = try SocketPair()
        before(pair)
        descriptor = try PollDescriptor.register(pair.left, on: runtime)
    }

    /// Waits parked in the runtime's poller.
    var parkedWaits: Int { runtime.poller?.waiters.load(ordering: .relaxed) ?? 0 }

    func close() {
        descriptor.close()
        Glibc.close(pair.right)
    }
}

/// A wait's result, as a plain value for `#expect`.
enum WaitResult: Equatable, Sendable {
    case ready
    case failed(PollWaitError)
}

func waitResult(_ descriptor: PollDescriptor, _ mode: PollMode) async -> WaitResult {
    do throws(PollWaitError) {
        try await descriptor.wait(mode)
        return .ready
    } catch {
        return .failed(error)
    }
}

@Suite("Network poller", .timeLimit(Stress.timeLimit))
struct PollerTests {
    enum Writer: Sendable, CustomStringConvertible {
        case goroutine, thread
        var description: String { self == .goroutine ? "another goroutine" : "a plain thread" }
    }

    @Test("A goroutine's read wait parks and is readied by a write", arguments: [Writer.goroutine, .thread])
    func readiedByWrite(from writer: Writer) async throws {
        let fixture = try PollFixture(processors: writer == .goroutine ? 2 : 1)
        defer { fixture.close() }
        let got = Chan<UInt8>(capacity: 1)
        go(on: fixture.runtime) {
            try await got.send(try await readByteWaiting(fixture.descriptor))
        }
        try await waitUntil("the reader parks") { fixture.parkedWaits == 1 }
        let peer = fixture.pair.right
        switch writer {
        case .goroutine: go(on: fixture.runtime) { writeByte(peer, 7) }
        case .thread: startThread { writeByte(peer, 7) }
        }
        #expect(try await got.receive() == 7)
    }

    @Test("A readiness that arrives before the wait is not lost")
    func readinessBeforeWait() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        // Given a byte written while nobody waits, and a poll that saw it
        writeByte(fixture.pair.right, 3)
        let polled = Chan<Void>()
        let runtime = fixture.runtime
        go(on: runtime) {
            var ready: [Waiter] = []
            runtime.poller!.poll(timeout: 0, sleeper: false, into: &ready)
            try await polled.send(())
        }
        _ = try await polled.receive()
        // When a goroutine waits, Then it returns at once, without parking
        let result = Chan<WaitResult>(capacity: 1)
        let descriptor = fixture.descriptor
        go(on: runtime) { try await result.send(await waitResult(descriptor, .read)) }
        #expect(try await result.receive() == .ready)
        #expect(readByte(fixture.pair.left) == 3)
    }

    @Test("Close wakes a parked read and a parked write with .closed; later waits fail too")
    func closeWakesWaiters() async throws {
        let fixture = try PollFixture(processors: 2) { fillSendBuffer($0.left) }
        let (runtime, descriptor) = (fixture.runtime, fixture.descriptor)
        let results = Chan<WaitResult>(capacity: 2)
        go(on: runtime) {
            try descriptor.prepare(.read)
            try await results.send(await waitResult(descriptor, .read))
        }
        go(on: runtime) {
            try descriptor.prepare(.write)
            try await results.send(await waitResult(descriptor, .write))
        }
        try await waitUntil("both park") { fixture.parkedWaits == 2 }
        fixture.close()
        #expect(try await results.receive() == .failed(.closed))
        #expect(try await results.receive() == .failed(.closed))
        #expect(await waitResult(descriptor, .read) == .failed(.closed))
        #expect(descriptor.acquire() == false)
        #expect(descriptor.isNumberClosed)
    }
}
#endif
