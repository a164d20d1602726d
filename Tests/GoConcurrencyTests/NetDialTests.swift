// How a dial ends when the connection cannot be made: it throws, and never
// returns a socket that is not connected (the two ways it once did: a TCP
// dial that took a stale writability for the end of its handshake, and a
// Unix-domain dial that took a full backlog's EAGAIN for "wait").

#if os(Linux)
import Foundation
import Testing
@testable import GoConcurrency
import Glibc

@Suite("Net: dials that cannot connect", .timeLimit(Stress.timeLimit))
struct NetDialTests {
    /// Whether `conn`'s socket has a peer (getpeername succeeds).
    static func isConnected(_ conn: Conn) -> Bool {
        (try? conn.socket.withDescriptor { fd throws(NetError) -> Bool in
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            return withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            } == 0
        }) ?? false
    }

    /// A loopback TCP listener (backlog 0) whose queue is full: a further
    /// SYN is dropped, so a dial to it stays in its handshake. Its port, and
    /// the descriptors to close.
    static func fullTCPBacklog() throws -> (port: Int, fds: [Int32]) {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, length) } }
        try #require(bound == 0 && listen(listening, 0) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listening, $0, &length) } }
        var fds = [listening]
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        for _ in 0..<16 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            fds.append(fd)
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }
            if connected != 0 { break }  // the queue is full
        }
        return (Int(UInt16(bigEndian: address.sin_port)), fds)
    }

    @Test("A TCP dial to a listener that never completes the handshake times out, however the polls fall")
    func tcpDialToAFullBacklogNeverReturnsAnUnconnectedConn() async throws {
        // Given a listener that drops SYNs, and a runtime of 2 processors one
        // of which sleeps in the poller (a goroutine waits on a socket): its
        // polls can find a new socket writable before its connect(2)
        let (port, fds) = try Self.fullTCPBacklog()
        defer { fds.forEach { close($0) } }
        let dials = Stress.size(300)
        let unconnected = try await GoRuntime.run(processors: 2) { () async throws -> Int in
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            let client = try await Net.dial(.tcp, listener.address.description)
            let server = try await listener.accept()
            go { var byte = [UInt8](repeating: 0, count: 1); _ = try? await server.read(into: &byte) }
            // When many short dials are made to it
            var unconnected = 0
            for _ in 0..<dials {
                do {
                    let conn = try await Net.dial(.tcp, "127.0.0.1:\(port)", timeout: .milliseconds(20))
                    if !Self.isConnected(conn) { unconnected += 1 }
                    conn.close()
                } catch let error as NetError where error == .timeout {
                    // what Go's dial does
                }
            }
            client.close(); server.close(); listener.close()
            return unconnected
        }
        // Then none returns a connection that is not one (2 of 500 did)
        #expect(unconnected == 0)
    }

    @Test("A Unix-domain dial to a full backlog throws EAGAIN, as Go's does")
    func unixDialToAFullBacklogThrows() async throws {
        // Given a Unix-domain listener whose backlog is full
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("dial-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sock").path
        unlink(path)
        let listening = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listening, $0, length) } }
        try #require(bound == 0 && listen(listening, 0) == 0)
        var fds = [listening]
        defer { fds.forEach { close($0) }; unlink(path) }
        var full = false
        for _ in 0..<16 {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            fds.append(fd)
            let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, length) } }
            if connected != 0 { full = errno == EAGAIN; break }
        }
        try #require(full, "the backlog never filled")
        // When a goroutine dials it
        let outcome = try await GoRuntime.run { () async -> String in
            do {
                let conn = try await Net.dial(.unix, path, timeout: .seconds(60))
                defer { conn.close() }
                return "a Conn, connected: \(Self.isConnected(conn))"
            } catch {
                return "\(error)"
            }
        }
        // Then the dial throws what connect(2) said (it returned a socket
        // that was not connected, whose first write failed)
        #expect(outcome == "\(NetError.system(.resourceTemporarilyUnavailable))")
    }

    // MARK: A dial under a context (Go: Dialer.DialContext)

    @Test("A dial stops when its context is cancelled, when its deadline passes, or at once if it is done")
    func dialUnderAContextStopsWithIt() async throws {
        let (port, fds) = try Self.fullTCPBacklog()
        defer { fds.forEach { close($0) } }
        let outcomes = try await GoRuntime.run(processors: 2) { () async throws -> [String] in
            func attempt(_ context: Context) async -> String {
                do {
                    let conn = try await Net.dial(.tcp, "127.0.0.1:\(port)", context: context)
                    conn.close()
                    return "connected"
                } catch {
                    return "\(error)"
                }
            }
            // Cancelled while the handshake waits (the dial parks first).
            let (waiting, cancel) = Context.background.withCancel()
            let runtime = Goroutine.current!.runtime
            go {
                try await waitForIOWaiters(runtime, 1)
                cancel()
            }
            let cancelled = await attempt(waiting)
            let (timed, cancelTimed) = Context.background.withTimeout(.milliseconds(30))
            defer { cancelTimed() }
            let timedOut = await attempt(timed)
            let (done, cancelDone) = Context.background.withCancel()
            cancelDone()
            let alreadyDone = await attempt(done)
            return [cancelled, timedOut, alreadyDone]
        }
        #expect(outcomes == ["\(NetError.cancelled)", "\(NetError.timeout)", "\(NetError.cancelled)"])
    }

    @Test("A connection dialled under a context outlives the context")
    func aDialledConnectionIgnoresItsContextAfterwards() async throws {
        let echoed = try await GoRuntime.run(processors: 2) { () async throws -> [UInt8] in
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            go {
                let server = try await listener.accept()
                var byte = [UInt8](repeating: 0, count: 1)
                _ = try await server.read(into: &byte)
                try await server.write(byte)
                server.close()
            }
            let (ctx, cancel) = Context.background.withTimeout(.seconds(60))
            let conn = try await Net.dial(.tcp, listener.address.description, context: ctx)
            cancel()
            try await conn.write([42])
            var reply = [UInt8](repeating: 0, count: 1)
            _ = try await conn.read(into: &reply)
            conn.close(); listener.close()
            return reply
        }
        #expect(echoed == [42])
    }

    @Test("A dial of a name under a context looks it up beside the context, and connects")
    func dialOfANameUnderAContextConnects() async throws {
        let reply = try await GoRuntime.run(processors: 2) { () async throws -> [UInt8] in
            let listener = try Net.listen(.tcp, "127.0.0.1:0")
            go {
                let server = try await listener.accept()
                try await server.write([7])
                server.close()
            }
            let (ctx, cancel) = Context.background.withTimeout(.seconds(60))
            defer { cancel() }
            let port = listener.address.port
            let conn = try await Net.dial(.tcp, "localhost:\(port)", context: ctx)
            var byte = [UInt8](repeating: 0, count: 1)
            _ = try await conn.read(into: &byte)
            conn.close(); listener.close()
            return byte
        }
        #expect(reply == [7])
    }

    @Test("A dial of a name with a timeout looks it up under that timeout, connects, and leaves no timer")
    func dialOfANameWithATimeoutLeavesNoTimer() async throws {
        let listener = try Net.listen(.tcp, "127.0.0.1:0")
        defer { listener.close() }
        let port = listener.address.port
        let clock = ManualClock()
        let runtime = GoRuntime(processors: 1, clock: clock)
        let connected = try await ManualClockTests.onRuntime(runtime) { () async throws -> Bool in
            // The kernel completes the handshake from the backlog: no accept needed.
            let conn = try await Net.dial(.tcp, "localhost:\(port)", timeout: .seconds(30))
            defer { conn.close() }
            return conn.remoteAddress?.port == port
        }
        #expect(connected)
        #expect(clock.pendingTimers == 0, "the lookup's deadline and the connect's are both let go")
    }
}
#endif
