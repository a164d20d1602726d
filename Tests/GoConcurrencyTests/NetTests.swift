// The Net layer over real loopback sockets: echo round trips (TCP over IPv4
// and IPv6, Unix-domain), the end of a stream and half-close, a write that
// parks on a full socket and resumes, close waking parked calls, deadlines on
// a runtime's manual clock, cancellation, dial timeouts, UDP, the buffered
// reader, many connections at once, and a goroutine in accept that is no
// deadlock.

#if os(Linux)  // the network poller is epoll's

import Foundation
import SystemPackage
import Testing
@testable import GoConcurrency

import Glibc

/// Runs `body` as a goroutine of `runtime` (its sockets then use that
/// runtime's poller and timers) and returns what it returns.
func onRuntime<T: Sendable>(_ runtime: GoRuntime, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let result = Chan<Result<T, any Error>>(capacity: 1)
    go(on: runtime) {
        do {
            try await result.send(.success(try await body()))
        } catch {
            try await result.send(.failure(error))
        }
    }
    return try #require(try await result.receive()).get()
}

/// How many goroutines of `runtime` are parked on the network poller.
func ioWaiters(on runtime: GoRuntime) -> Int {
    GoRuntime.goroutines().filter { info in
        guard info.runtime === runtime, case .waiting(let reason, _) = info.state else { return false }
        return reason.description == "IO wait"
    }.count
}

/// Waits until `count` goroutines of `runtime` are parked on the poller.
func waitForIOWaiters(_ runtime: GoRuntime, _ count: Int, sourceLocation: Testing.SourceLocation = #_sourceLocation) async throws {
    try await waitUntil("\(count) goroutines are in IO wait", sourceLocation: sourceLocation) { ioWaiters(on: runtime) >= count }
}

/// Starts `operation` in a goroutine of `runtime`; the channel gets how it
/// ended: "returned", or the text of what it threw.
func outcome(on runtime: GoRuntime, _ operation: @escaping @Sendable () async throws -> Void) -> Chan<String> {
    let ended = Chan<String>(capacity: 1)
    go(on: runtime) {
        do {
            try await operation()
            try await ended.send("returned")
        } catch {
            try await ended.send("\(error)")
        }
    }
    return ended
}

/// Reads once into a small buffer.
func readOnce(_ conn: Conn) async throws {
    var buffer = [UInt8](repeating: 0, count: 16)
    _ = try await conn.read(into: &buffer)
}

/// Reads until `count` bytes have come (or the stream ended).
func readFully(_ conn: Conn, _ count: Int) async throws -> [UInt8] {
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    while received.count < count {
        let n = try await conn.read(into: &buffer)
        if n == 0 { break }
        received.append(contentsOf: buffer[..<n])
    }
    return received
}

/// Reads until the peer ends the stream.
func readToEnd(_ conn: Conn) async throws -> [UInt8] {
    try await readFully(conn, .max)
}

/// Echoes what `conn` sends until it ends the stream, then closes it.
func echo(_ conn: Conn) async throws {
    defer { conn.close() }
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = try await conn.read(into: &buffer)
        if n == 0 { return }
        try await conn.write(Array(buffer[..<n]))
    }
}

/// Accepts `count` connections and echoes each in a goroutine of its own;
/// the group is done once every one of them is closed (so that a checked run
/// that waits for it leaves no goroutine, and no descriptor, behind).
func serveEcho(_ listener: Listener, connections count: Int) -> Sync.WaitGroup {
    let served = Sync.WaitGroup()
    served.add(count)
    go {
        for accepted in 0..<count {
            guard let conn = try? await listener.accept() else {
                for _ in accepted..<count { served.done() }
                return
            }
            go {
                defer { served.done() }
                try? await echo(conn)
            }
        }
    }
    return served
}

/// A deterministic pattern of `count` bytes.
func pattern(_ count: Int) -> [UInt8] {
    // Byte i is i % 251, made by doubling whole periods (a few copies, not
    // one closure call per byte: 32 MiB took minutes under the thread
    // sanitizer on a loaded machine).
    var bytes = (0..<251).map { UInt8($0) }
    while bytes.count < count { bytes += bytes }
    return Array(bytes.prefix(count))
}

/// Whether the machine has an IPv6 loopback (::1) to bind.
let hasIPv6Loopback: Bool = {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    if fd < 0 { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    address.sin6_addr = in6addr_loopback
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
    } == 0
}()

/// A fresh path for a Unix-domain socket.
func temporarySocketPath() -> String {
    "/tmp/goconcurrency-\(getpid())-\(UInt32.random(in: 0 ... .max)).sock"
}

@Suite("Net", .timeLimit(Stress.timeLimit))
struct NetTests {
    // MARK: Round trips

    /// Dials `address` on `network`, sends a message through an echo server
    /// listening there, and checks what comes back and the addresses.
    static func roundTrip(_ network: Net.StreamNetwork, listen address: String, processors: Int = 2) async throws {
        try await GoRuntime.run(processors: processors) {
            let listener = try Net.listen(network, address)
            defer { listener.close() }
            let served = serveEcho(listener, connections: 1)
            let target = network == .unix ? address : listener.address.description
            let conn = try await Net.dial(network, target)
            let message = pattern(10_000)
            try await conn.write(message)
            #expect(try await readFully(conn, message.count) == message)
            if network != .unix {
                #expect(conn.remoteAddress == listener.address)
                #expect(conn.localAddress?.port ?? 0 > 0)
                #expect(conn.localAddress?.host == listener.address.host)
            } else {
                #expect(listener.address.path == address)
            }
            conn.close()
            try await served.wait()
        }
    }

    @Test func tcp_over_ipv4_echoes_every_byte() async throws {
        try await Self.roundTrip(.tcp4, listen: "127.0.0.1:0")
    }

    @Test(.enabled(if: hasIPv6Loopback, "the machine has no IPv6 loopback (::1) to bind"))
    func tcp_over_ipv6_echoes_every_byte() async throws {
        try await Self.roundTrip(.tcp6, listen: "[::1]:0")
        try await Self.roundTrip(.tcp, listen: "[::1]:0")
    }

    @Test func unix_domain_sockets_echo_every_byte_and_the_listener_removes_its_path() async throws {
        let path = temporarySocketPath()
        try await Self.roundTrip(.unix, listen: path)
        #expect(access(path, F_OK) != 0, "the closed listener removed its path")
    }

    @Test func plain_tasks_use_the_same_api() async throws {
        // Given a listener and both ends used from plain tasks, outside any goroutine
        let listener = try Net.listen(.tcp, "127.0.0.1:0")
        defer { listener.close() }
        async let accepted = listener.accept()
        let client = try await Net.dial(.tcp, listener.address.description)
        defer { client.close() }
        let server = try await accepted
        defer { server.close() }
        // When each writes, the other reads it
        try await client.write("ping")
        #expect(try await readFully(server, 4) == Array("ping".utf8))
        try await server.write("pong")
        #expect(try await readFully(client, 4) == Array("pong".utf8))
    }

    @Test func addresses_are_written_and_parsed_as_go_does() throws {
        #expect(try NetAddress.splitHostPort("127.0.0.1:80") == ("127.0.0.1", 80))
        #expect(try NetAddress.splitHostPort("[::1]:443") == ("::1", 443))
        #expect(try NetAddress.splitHostPort(":0") == ("", 0))
        #expect(try NetAddress.splitHostPort("localhost:8080") == ("localhost", 8080))
        #expect(throws: NetError.self) { try NetAddress.splitHostPort("::1:80") }
        #expect(throws: NetError.self) { try NetAddress.splitHostPort("127.0.0.1") }
        #expect(throws: NetError.self) { try NetAddress.splitHostPort("host:99999") }
        #expect(NetAddress(ip: "127.0.0.1", port: 8080)?.description == "127.0.0.1:8080")
        #expect(NetAddress(ip: "::1", port: 80)?.description == "[::1]:80")
        #expect(NetAddress(ip: "not an ip", port: 80) == nil)
        #expect(NetAddress(unixPath: "/tmp/x.sock")?.description == "/tmp/x.sock")
        #expect(throws: NetError.self) { try Net.listen(.tcp, "127.0.0.1") }
    }

    @Test func names_are_resolved_through_the_system_resolver() async throws {
        // "localhost" goes through getaddrinfo (in blocking { }): Go listens on
        // its IPv4 address.
        let listener = try Net.listen(.tcp, "localhost:0")
        defer { listener.close() }
        #expect(listener.address.family == .ipv4)
        let conn = try await Net.dial(.tcp, "localhost:\(listener.address.port)")
        conn.close()
        #expect(throws: NetError.self) { try Net.listen(.tcp, "no-such-host.invalid:0") }
    }

    @Test func dialing_a_port_nobody_listens_on_is_refused() async throws {
        // Given a port that was just free
        let listener = try Net.listen(.tcp, "127.0.0.1:0")
        let address = listener.address.description
        listener.close()
        // Then dialing it fails with the system's ECONNREFUSED
        await #expect(throws: NetError.system(.connectionRefused)) { try await Net.dial(.tcp, address) }
    }

    // MARK: End of stream

    @Test func half_close_ends_the_peers_stream_while_the_other_direction_stays_open() async throws {
        try await GoRuntime.run(processors: 2) {
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            let served = Chan<[UInt8]>(capacity: 1)
            go {
                let conn = try await listener.accept()
                defer { conn.close() }
                // The server reads to the end of the stream (read returns 0)...
                let request = try await readToEnd(conn)
                // ...and may still answer.
                try await conn.write("pong")
                try await served.send(request)
            }
            let conn = try await Net.dial(.tcp, listener.address.description)
            defer { conn.close() }
            try await conn.write("ping")
            try conn.closeWrite()
            #expect(try await served.receive() == Array("ping".utf8))
            #expect(try await readToEnd(conn) == Array("pong".utf8))
            var buffer = [UInt8](repeating: 0, count: 16)
            #expect(try await conn.read(into: &buffer) == 0, "the end of the stream reads 0 again")
            await #expect(throws: NetError.system(.brokenPipe)) { try await conn.write("more") }
        }
    }

    // MARK: Parking and resuming

    @Test func a_large_write_to_a_slow_reader_parks_and_resumes() async throws {
        let runtime = GoRuntime(processors: 1)
        let size = 8 << 20
        let (server, client) = try await onRuntime(runtime) { () async throws -> (Conn, Conn) in
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            async let accepted = listener.accept()
            let client = try await Net.dial(.tcp, listener.address.description)
            return (try await accepted, client)
        }
        defer { server.close(); client.close() }
        // Given a goroutine writing 8 MB to a connection nobody reads yet
        let written = Chan<Bool>(capacity: 1)
        go(on: runtime) {
            try await client.write(pattern(size))
            try await written.send(true)
        }
        // When the socket's buffers are full, it parks on the poller
        try await waitForIOWaiters(runtime, 1)
        #expect(written.tryReceive() == .empty)
        // Then the reader, reading in small steps, gets every byte in order
        // and the writer finishes
        var received: [UInt8] = []
        received.reserveCapacity(size)
        var buffer = [UInt8](repeating: 0, count: 1000)
        while received.count < size {
            let n = try await server.read(into: &buffer)
            try #require(n > 0)
            received.append(contentsOf: buffer[..<n])
        }
        #expect(try await written.receive() == true)
        #expect(received == pattern(size))
    }

    @Test func a_short_read_waits_for_readiness_before_the_next_system_call_and_loses_no_byte() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        let descriptor = server.socket.descriptor
        var buffer = [UInt8](repeating: 0, count: 64)
        // Given a read that came back short of its buffer
        try await client.write([1, 2, 3])
        #expect(try await server.read(into: &buffer) == 3)
        // Then the socket counts as drained: the next read waits first
        #expect(descriptor.isReadDrained)
        // When bytes arrive and the poller has recorded them before the next
        // read (a goroutine parked in the client's read keeps the runtime
        // polling)
        let clientRead = try await Self.parkedRead(client, on: runtime)
        try await client.write([4, 5, 6, 7, 8])
        try await waitUntil("the poller records the readiness") { descriptor.isReady(.read) }
        // Then that read makes its system call at once and gets them
        #expect(try await server.read(into: &buffer) == 5)
        #expect(Array(buffer[..<5]) == [4, 5, 6, 7, 8])
        try await server.write([0])
        #expect(try await clientRead.receive() == 1)
        // And a read that fills its buffer does not count as drained
        try await client.write([UInt8](repeating: 9, count: 100))
        #expect(try await server.read(into: &buffer) == 64)
        #expect(!descriptor.isReadDrained)
        #expect(try await server.read(into: &buffer) == 36)
        #expect(descriptor.isReadDrained)
        // And when the peer's last bytes and its end of stream were both
        // polled before the read, the short read that takes the bytes does
        // not make the next one wait: it returns 0 (it waited for ever when
        // the end of stream was not remembered)
        let lastRead = try await Self.parkedRead(client, on: runtime)
        try await client.write([10, 11])
        try client.closeWrite()
        try await waitUntil("the poller records the end of stream") { descriptor.isReadExceptional }
        #expect(try await server.read(into: &buffer) == 2)
        #expect(try await server.read(into: &buffer) == 0)
        try await server.write([0])
        #expect(try await lastRead.receive() == 1)
    }

    @Test func a_read_cut_short_at_tcp_urgent_data_does_not_make_the_next_one_wait() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        let descriptor = server.socket.descriptor
        let clientRead = try await Self.parkedRead(client, on: runtime)
        // Given bytes, an urgent byte (any TCP peer may send one), and more
        // bytes, all in the server's buffer
        try await client.write([1, 2, 3])
        var urgent: UInt8 = 120
        #expect(send(client.socket.fd, &urgent, 1, Int32(MSG_OOB)) == 1)
        try await client.write([4, 5, 6])
        // and every readiness they raised polled: the client's read, woken
        // by a byte sent after them, is woken by a poll that also delivers
        // whatever the server's socket raised before (epoll reports its
        // ready descriptors in the order they became ready)
        try await server.write([0])
        #expect(try await clientRead.receive() == 1)
        #expect(descriptor.isReadExceptional)
        // When a read stops at the urgent mark, short of its buffer
        var buffer = [UInt8](repeating: 0, count: 64)
        #expect(try await server.read(into: &buffer) == 3)
        // Then the next read still makes its system call and gets the bytes
        // behind the mark (without the poller's note of urgent data it waited
        // for a readiness that had come already, until its deadline, which
        // is only a hang guard here)
        server.setReadDeadline(.now + .seconds(60))
        #expect(try await server.read(into: &buffer) == 3)
        #expect(Array(buffer[..<3]) == [4, 5, 6])
    }

    @Test func a_ping_pong_of_short_reads_loses_no_wake_up() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        var buffer = [UInt8](repeating: 0, count: 64)
        // A ping-pong in which every read is short, with the peer's
        // bytes landing before, during and after the reader parks, loses no
        // wake-up (a lost one would hang here until the time limit)
        let rounds = Stress.size(2_000)
        let echoed = Chan<Int>(capacity: 1)
        go(on: runtime) {
            var buffer = [UInt8](repeating: 0, count: 256)
            var total = 0
            for _ in 0..<rounds {
                let n = try await server.read(into: &buffer)
                try await server.write(buffer[..<n])
                total += n
            }
            try await echoed.send(total)
        }
        var sent = 0
        for round in 0..<rounds {
            let message = [UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 1 + round % 17)
            try await client.write(message)
            sent += message.count
            var back = 0
            while back < message.count {
                let n = try await client.read(into: &buffer)
                try #require(n > 0)
                #expect(buffer[..<n].allSatisfy { $0 == UInt8(truncatingIfNeeded: round) })
                back += n
            }
        }
        #expect(try await echoed.receive() == sent)
    }

    /// A goroutine of `runtime` parked in a read of `conn` (which keeps the
    /// runtime polling); the channel gets the count it read.
    static func parkedRead(_ conn: Conn, on runtime: GoRuntime) async throws -> Chan<Int> {
        let count = Chan<Int>(capacity: 1)
        go(on: runtime) {
            var buffer = [UInt8](repeating: 0, count: 8)
            try await count.send(try await conn.read(into: &buffer))
        }
        try await waitForIOWaiters(runtime, 1)
        return count
    }

    /// A connected pair made by goroutines of `runtime`.
    static func connectedPair(on runtime: GoRuntime) async throws -> (server: Conn, client: Conn) {
        try await onRuntime(runtime) { () async throws -> (Conn, Conn) in
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            async let accepted = listener.accept()
            let client = try await Net.dial(.tcp, listener.address.description)
            return (try await accepted, client)
        }
    }

    @Test func close_wakes_a_parked_read_write_and_accept_with_closed() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close() }
        let listener = try await onRuntime(runtime) { try Net.listen(.tcp, "127.0.0.1:0") }
        // Given a goroutine parked in read, one in write (a peer that never
        // reads), and one in accept
        let reading = outcome(on: runtime) { try await readOnce(client) }
        try await waitForIOWaiters(runtime, 1)
        let writer = try await Self.connectedPair(on: runtime)
        defer { writer.server.close() }
        let writing = outcome(on: runtime) { try await writer.client.write(pattern(32 << 20)) }
        try await waitForIOWaiters(runtime, 2)
        let accepting = outcome(on: runtime) { _ = try await listener.accept() }
        try await waitForIOWaiters(runtime, 3)
        // When each is closed
        client.close()
        writer.client.close()
        listener.close()
        // Then each wakes with .closed
        #expect(try await reading.receive() == "\(NetError.closed)")
        #expect(try await writing.receive() == "\(NetError.closed)")
        #expect(try await accepting.receive() == "\(NetError.closed)")
        // And a later call fails with it too
        var buffer = [UInt8](repeating: 0, count: 16)
        await #expect(throws: NetError.closed) { try await client.read(into: &buffer) }
        await #expect(throws: NetError.closed) { try await listener.accept() }
    }

    @Test func a_goroutine_parked_in_read_is_listed_as_io_wait_at_its_call() async throws {
        let runtime = GoRuntime(processors: 1)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        // Given a goroutine parked in a read at a known line
        let line: UInt = #line + 1
        let reading = outcome(on: runtime) { var b = [UInt8](repeating: 0, count: 4); _ = try await client.read(into: &b) }
        try await waitForIOWaiters(runtime, 1)
        // Then a dump lists it as [IO wait] at that line
        let entries = GoRuntime.goroutines().filter { $0.runtime === runtime }.map(\.description)
        #expect(entries.contains { $0.contains("[IO wait]") && $0.contains("NetTests.swift:\(line)") }, "\(entries)")
        // And data wakes it
        try await server.write("x")
        #expect(try await reading.receive() == "returned")
    }

    @Test func cancelling_a_plain_tasks_read_ends_it_with_cancelled() async throws {
        let (server, client) = try await Self.connectedPair(on: .shared)
        defer { server.close(); client.close() }
        // Given a plain task reading a connection nobody writes to
        let reader = Task {
            var buffer = [UInt8](repeating: 0, count: 16)
            return try await client.read(into: &buffer)
        }
        try await letOthersRun()
        // When it is cancelled (parked by now, or about to: either way)
        reader.cancel()
        // Then its read ends with .cancelled, and the connection still works
        await #expect(throws: NetError.cancelled) { try await reader.value }
        try await server.write("after")
        #expect(try await readFully(client, 5) == Array("after".utf8))
    }

    // MARK: Deadlines on a manual clock

    @Test func a_read_deadline_in_the_future_fires_exactly_when_the_clock_reaches_it_and_keeps_failing_until_reset() async throws {
        let clock = ManualClock()
        let runtime = GoRuntime(processors: 1, clock: clock)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        // Given a read deadline 5 s ahead on the runtime's clock, and a
        // goroutine parked in read
        client.setReadDeadline(clock.now + .seconds(5))
        let reading = outcome(on: runtime) { try await readOnce(client) }
        try await waitForIOWaiters(runtime, 1)
        // When the clock reaches 1 ms before it, the read still waits
        clock.advance(by: .milliseconds(4999))
        try await letOthersRun()
        #expect(reading.tryReceive() == .empty)
        #expect(ioWaiters(on: runtime) == 1)
        // Then at the deadline it fails with .timeout
        clock.advance(by: .milliseconds(1))
        #expect(try await reading.receive() == "\(NetError.timeout)")
        // And every read after fails at once, data or not, until the deadline moves
        try await server.write("data")
        await #expect(throws: NetError.timeout) {
            try await onRuntime(runtime) { var b = [UInt8](repeating: 0, count: 16); return try await client.read(into: &b) }
        }
        client.setReadDeadline(nil)
        #expect(try await onRuntime(runtime) { try await readFully(client, 4) } == Array("data".utf8))
        // And a deadline moved into the future lets reads wait again
        client.setReadDeadline(clock.now + .seconds(1))
        try await server.write("more")
        #expect(try await onRuntime(runtime) { try await readFully(client, 4) } == Array("more".utf8))
    }

    @Test func a_deadline_in_the_past_fails_at_once_and_a_deadline_set_during_a_wait_applies_to_it() async throws {
        let clock = ManualClock()
        let runtime = GoRuntime(processors: 1, clock: clock)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        // A past deadline: the read fails at once, without the clock moving
        client.setDeadline(clock.now - .seconds(1))
        await #expect(throws: NetError.timeout) {
            try await onRuntime(runtime) { var b = [UInt8](repeating: 0, count: 16); return try await client.read(into: &b) }
        }
        await #expect(throws: NetError.timeout) {
            try await onRuntime(runtime) { try await client.write("x") }
        }
        client.setDeadline(nil)
        // A deadline set while a read is parked applies to that read
        var reading = outcome(on: runtime) { try await readOnce(client) }
        try await waitForIOWaiters(runtime, 1)
        client.setReadDeadline(clock.now + .seconds(2))
        clock.advance(by: .seconds(2))
        #expect(try await reading.receive() == "\(NetError.timeout)")
        // ...and one set in the past while a read is parked ends it at once
        client.setReadDeadline(nil)
        reading = outcome(on: runtime) { try await readOnce(client) }
        try await waitForIOWaiters(runtime, 1)
        client.setReadDeadline(clock.now - .milliseconds(1))
        #expect(try await reading.receive() == "\(NetError.timeout)")
    }

    @Test func a_write_deadline_ends_a_write_parked_on_a_full_socket() async throws {
        let clock = ManualClock()
        let runtime = GoRuntime(processors: 1, clock: clock)
        let (server, client) = try await Self.connectedPair(on: runtime)
        defer { server.close(); client.close() }
        client.setWriteDeadline(clock.now + .seconds(3))
        let writing = outcome(on: runtime) { try await client.write(pattern(32 << 20)) }
        try await waitForIOWaiters(runtime, 1)
        clock.advance(by: .seconds(3))
        #expect(try await writing.receive() == "\(NetError.timeout)")
    }

    @Test func a_dial_times_out_on_the_runtimes_clock_against_a_full_backlog() async throws {
        // Given a listener with a backlog of 0 that never accepts, filled up
        // with connections (Linux drops the SYN of one more: it never completes)
        let (port, fds) = try NetDialTests.fullTCPBacklog()
        defer { fds.forEach { close($0) } }
        // When a goroutine of a manual-clock runtime dials it with a 10 s timeout
        let clock = ManualClock()
        let runtime = GoRuntime(processors: 1, clock: clock)
        let dialing = outcome(on: runtime) { _ = try await Net.dial(.tcp, "127.0.0.1:\(port)", timeout: .seconds(10)) }
        try await waitForIOWaiters(runtime, 1)
        // Then it waits until the clock reaches the timeout, and fails with .timeout
        clock.advance(by: .milliseconds(9999))
        try await letOthersRun()
        #expect(dialing.tryReceive() == .empty)
        clock.advance(by: .milliseconds(1))
        #expect(try await dialing.receive() == "\(NetError.timeout)")
    }

    // MARK: UDP

    @Test func udp_datagrams_go_both_ways_with_their_senders_address() async throws {
        try await GoRuntime.run(processors: 2) {
            let a = try Net.listenPacket(.udp, "127.0.0.1:0")
            let b = try Net.listenPacket(.udp4, "127.0.0.1:0")
            defer { a.close(); b.close() }
            let aAddress = try #require(a.localAddress)
            let bAddress = try #require(b.localAddress)
            #expect(bAddress.port > 0)
            go {
                var buffer = [UInt8](repeating: 0, count: 1500)
                let (n, from) = try await b.readFrom(into: &buffer)
                try await b.writeTo(Array(buffer[..<n].reversed()), to: from)
            }
            try await a.writeTo(Array("datagram".utf8), to: bAddress)
            var buffer = [UInt8](repeating: 0, count: 1500)
            let (n, from) = try await a.readFrom(into: &buffer)
            #expect(Array(buffer[..<n]) == Array("margatad".utf8))
            #expect(from == bAddress)
            #expect(aAddress.host == "127.0.0.1")
        }
    }

    @Test func a_listener_on_every_interface_sees_ipv4_peers_as_ipv4_addresses() async throws {
        // ":0" listens on IPv6 and IPv4 at once where the machine has IPv6;
        // an IPv4 peer then arrives as ::ffff:127.0.0.1, shown as Go shows it.
        try await GoRuntime.run(processors: 2) {
            let listener = try Net.listen(.tcp, ":0")
            defer { listener.close() }
            async let accepted = listener.accept()
            let client = try await Net.dial(.tcp4, "127.0.0.1:\(listener.address.port)")
            let server = try await accepted
            defer { client.close(); server.close() }
            #expect(server.remoteAddress?.host == "127.0.0.1")
            #expect(server.remoteAddress == client.localAddress)
            #expect(server.localAddress == client.remoteAddress)

            let packets = try Net.listenPacket(.udp, ":0")
            let sender = try Net.listenPacket(.udp4, "127.0.0.1:0")
            defer { packets.close(); sender.close() }
            try await sender.writeTo(Array("hi".utf8), to: try #require(NetAddress(ip: "127.0.0.1", port: packets.localAddress?.port ?? 0)))
            var buffer = [UInt8](repeating: 0, count: 16)
            let (n, from) = try await packets.readFrom(into: &buffer)
            #expect(n == 2)
            #expect(from == sender.localAddress)
            try await packets.writeTo(Array("back".utf8), to: from)
            #expect(try await sender.readFrom(into: &buffer).count == 4)
        }
    }

    // MARK: Buffered reader

    @Test func the_buffered_reader_reads_lines_delimited_records_and_exact_counts() async throws {
        try await GoRuntime.run(processors: 2) {
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            let long = String(repeating: "x", count: 100)
            go {
                let conn = try await listener.accept()
                defer { conn.close() }
                // In small pieces, so that records span reads.
                let text = "alpha\r\nbeta\n\(long)\na;bb;" + String(decoding: pattern(40).map { $0 % 26 + 65 }, as: UTF8.self) + "tail"
                let bytes = Array(text.utf8)
                for start in stride(from: 0, to: bytes.count, by: 7) {
                    try await conn.write(Array(bytes[start..<min(start + 7, bytes.count)]))
                }
            }
            let conn = try await Net.dial(.tcp, listener.address.description)
            defer { conn.close() }
            var reader = BufferedReader(conn, size: 16)
            #expect(try await reader.readLine() == "alpha")
            #expect(try await reader.readLine() == "beta")
            #expect(try await reader.readLine() == long, "a line longer than the buffer")
            #expect(try await reader.readBytes(through: UInt8(ascii: ";")) == Array("a;".utf8))
            #expect(try await reader.readBytes(through: UInt8(ascii: ";")) == Array("bb;".utf8))
            #expect(try await reader.readExactly(40) == pattern(40).map { $0 % 26 + 65 })
            #expect(try await reader.readByte() == UInt8(ascii: "t"))
            #expect(try await reader.readLine() == "ail", "the last line, without a line end")
            #expect(try await reader.readLine() == nil)
            #expect(try await reader.readExactly(1) == nil)
        }
    }

    @Test func the_buffered_reader_reports_a_stream_cut_short() async throws {
        try await GoRuntime.run(processors: 2) {
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            go {
                let conn = try await listener.accept()
                try await conn.write("abc")
                conn.close()
            }
            let conn = try await Net.dial(.tcp, listener.address.description)
            defer { conn.close() }
            var reader = BufferedReader(conn)
            await #expect(throws: NetError.unexpectedEOF) { try await reader.readExactly(10) }
        }
    }

    // MARK: Many connections

    /// `count` clients connect, then all send at once, and each checks its
    /// echo; returns how many got theirs. Every connection is closed when it
    /// returns.
    static func manyConnections(_ count: Int, processors: Int) async throws -> Int {
        try await GoRuntime.run(processors: processors) {
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            defer { listener.close() }
            let served = serveEcho(listener, connections: count)
            let address = listener.address.description
            let start = Chan<Void>()
            let connected = Sync.WaitGroup()
            let done = Chan<Bool>(capacity: count)
            connected.add(count)
            for index in 0..<count {
                go {
                    let conn = try await Net.dial(.tcp, address)
                    connected.done()
                    _ = try await start.receive()
                    let message = Array("message \(index);".utf8)
                    try await conn.write(message)
                    let echoed = try await readFully(conn, message.count) == message
                    conn.close()
                    try await done.send(echoed)
                }
            }
            try await connected.wait()
            try start.close()
            var echoed = 0
            for _ in 0..<count where try await done.receive() == true { echoed += 1 }
            try await served.wait()
            return echoed
        }
    }

    @Test(arguments: [1, 2])
    func a_thousand_connections_readied_at_once_are_all_echoed(processors: Int) async throws {
        // At most 4,000 at the larger stress settings: two descriptors and
        // one loopback port each.
        let count = min(Stress.size(1000), 4000)
        #expect(try await Self.manyConnections(count, processors: processors) == count)
    }

    @Test func a_goroutine_in_accept_is_not_a_deadlock() async throws {
        // Given a program whose main goroutine waits on a channel that only a
        // goroutine parked in accept will send on: every goroutine is parked,
        // but one waits for the network, so this is no deadlock
        let listener = try Net.listen(.tcp, "127.0.0.1:0")
        defer { listener.close() }
        let runtime = Shared<GoRuntime?>(nil)
        let task = Task {
            try await GoRuntime.run(processors: 1) { () async throws -> String in
                runtime.set(Goroutine.current?.runtime)
                let accepted = Chan<String>()
                go {
                    let conn = try await listener.accept()
                    conn.close()
                    try await accepted.send("accepted")
                }
                return try await accepted.receive()!
            }
        }
        try await waitUntil("the run has started") { runtime.value != nil }
        try await waitForIOWaiters(runtime.value!, 1)
        try await letOthersRun()
        // When a client connects, the run ends with the main goroutine's value
        // (a Deadlock would have been thrown instead)
        let conn = try await Net.dial(.tcp, listener.address.description)
        conn.close()
        #expect(try await task.value == "accepted")
    }

    @Test("10,000 connections opened and closed leave no descriptor and no thread behind (in a child process)")
    func connections_leave_no_descriptor_and_no_thread_behind() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            func descriptors() -> Int {
                (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
            }
            // Given a process that has used the poller once
            let warmup = try await NetTests.manyConnections(10, processors: 2)
            if warmup != 10 { childVerdict(passed: false, "warm-up echoed \(warmup) of 10") }
            try? await Task.sleep(for: .milliseconds(200))
            let baselineDescriptors = descriptors()
            let baselineThreads = processThreadCount()
            // When it opens and closes 10,000 connections (at full stress), 100 at a time
            let total = Stress.size(200)
            var echoed = 0
            for _ in 0..<(total / 100) {
                echoed += try await NetTests.manyConnections(100, processors: 2)
            }
            if echoed != total / 100 * 100 { childVerdict(passed: false, "echoed \(echoed) of \(total)") }
            // Then every descriptor is closed and every thread gone
            if !(await poll { descriptors() <= baselineDescriptors }) {
                childVerdict(passed: false, "descriptors: \(descriptors()) after, \(baselineDescriptors) before")
            }
            if !(await poll { processThreadCount() <= baselineThreads + 2 }) {
                childVerdict(passed: false, "threads: \(processThreadCount()) after, \(baselineThreads) before")
            }
            childVerdict(passed: true, "\(total) connections")
        }
        let output = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(output.contains("PASS"), "\(output)")
    }
}

#endif
