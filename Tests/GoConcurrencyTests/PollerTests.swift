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

    /// Starts a goroutine that prepares and waits for `mode`: its result
    /// comes on the channel returned.
    func goWait(_ mode: PollMode) -> Chan<WaitResult> {
        let results = Chan<WaitResult>(capacity: 1)
        let descriptor = descriptor
        go(on: runtime) {
            do throws(PollWaitError) {
                try descriptor.prepare(mode)
            } catch {
                try await results.send(.failed(error))
                return
            }
            try await results.send(await waitResult(descriptor, mode))
        }
        return results
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

    @Test("A readiness that arrives between a read's EAGAIN and its wait is not lost")
    func readinessBeforeWait() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        let (runtime, descriptor) = (fixture.runtime, fixture.descriptor)
        let tried = Chan<Bool>()
        let goOn = Chan<Void>()
        let result = Chan<WaitResult>(capacity: 1)
        // Given a goroutine whose read found nothing (EAGAIN)
        go(on: runtime) {
            try descriptor.prepare(.read)
            try await tried.send(readByte(descriptor.fd) == nil)
            _ = try await goOn.receive()
            try await result.send(await waitResult(descriptor, .read))
        }
        #expect(try await tried.receive() == true)
        // When a byte arrives and a poll sees it before the goroutine waits
        writeByte(fixture.pair.right, 3)
        var ready: [Waiter] = []
        try #require(runtime.poller).poll(timeout: 0, sleeper: false, into: &ready)
        #expect(descriptor.isReady(.read))
        // Then its wait returns at once, consuming the readiness
        try await goOn.send(())
        #expect(try await result.receive() == .ready)
        #expect(!descriptor.isReady(.read))
        #expect(readByte(fixture.pair.left) == 3)
    }

    @Test("Close wakes a parked read and a parked write with .closed; later waits fail too")
    func closeWakesWaiters() async throws {
        let fixture = try PollFixture(processors: 2) { fillSendBuffer($0.left) }
        let descriptor = fixture.descriptor
        let reads = fixture.goWait(.read)
        let writes = fixture.goWait(.write)
        try await waitUntil("both park") { fixture.parkedWaits == 2 }
        fixture.close()
        #expect(try await reads.receive() == .failed(.closed))
        #expect(try await writes.receive() == .failed(.closed))
        #expect(await waitResult(descriptor, .read) == .failed(.closed))
        #expect(descriptor.acquire() == false)
        #expect(descriptor.isNumberClosed)
    }

    @Test("A plain task's wait is cancellable; the readiness after it is kept for the next wait")
    func plainTaskWaitIsCancelled() async throws {
        let fixture = try PollFixture(processors: 1)
        defer { fixture.close() }
        let descriptor = fixture.descriptor
        // Given a plain task parked in a read wait
        let task = Task { await waitResult(descriptor, .read) }
        try await waitUntil("the task parks") { fixture.parkedWaits == 1 }
        // When it is cancelled
        task.cancel()
        // Then its wait ends with .cancelled and leaves the slot empty
        #expect(await task.value == .failed(.cancelled))
        #expect(fixture.parkedWaits == 0)
        // And the descriptor still works: a later byte readies the next wait
        writeByte(fixture.pair.right, 1)
        #expect(await waitResult(descriptor, .read) == .ready)
        #expect(readByte(fixture.pair.left) == 1)
    }

    @Test("A reference in flight keeps the number open after close; the last release closes it")
    func referenceKeepsNumberOpen() async throws {
        let fixture = try PollFixture(processors: 1)
        let descriptor = fixture.descriptor
        #expect(descriptor.acquire())
        fixture.close()
        // Closed for calls, but the call in flight still owns the number
        #expect(descriptor.acquire() == false)
        #expect(!descriptor.isNumberClosed)
        #expect(fcntl(descriptor.fd, F_GETFD) != -1)
        #expect(await waitResult(descriptor, .write) == .failed(.closed))
        descriptor.release()
        #expect(descriptor.isNumberClosed)
        #expect(fixture.runtime.poller?.registeredCount == 0)
    }

    @Test("An event for a closed descriptor whose number and slot were reused is dropped")
    func staleEventIsDropped() async throws {
        let fixture = try PollFixture(processors: 1)
        let runtime = fixture.runtime
        let poller = try #require(runtime.poller)
        // Given a descriptor's registration, closed while an event for it
        // was already taken from the kernel (its tag is all the event holds)
        let number = fixture.descriptor.fd
        let staleTag = fixture.descriptor.tag
        // (A reference in flight keeps the number ours, so that it can be
        // given to a new socket below without racing other tests' opens; it
        // is never released: the number then belongs to the new descriptor.)
        #expect(fixture.descriptor.acquire())
        fixture.close()
        // And a new socket on the same number, registered in the same slot
        let next = try SocketPair()
        #expect(dup2(next.left, number) == number)
        Glibc.close(next.left)
        let reused = try PollDescriptor.register(number, on: runtime)
        defer {
            reused.close()
            Glibc.close(next.right)
        }
        #expect(reused.tag & 0xFFFF_FFFF == staleTag & 0xFFFF_FFFF)
        #expect(reused.tag != staleTag)
        try reused.prepare(.read)
        // When the late event arrives
        var ready: [Waiter] = []
        poller.deliver(tag: staleTag, readable: true, into: &ready)
        // Then the new descriptor does not take it as its own readiness
        #expect(!reused.isReady(.read))
        // while an event with its own tag is its readiness
        poller.deliver(tag: reused.tag, readable: true, into: &ready)
        #expect(reused.isReady(.read))
        #expect(ready.isEmpty)
    }
}
#endif
