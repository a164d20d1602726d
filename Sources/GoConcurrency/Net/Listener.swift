// A listening stream socket: Go's net.Listener.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A socket that accepts connections, TCP or Unix-domain (Go: `net.Listener`),
/// from ``Net/listen(_:_:)``.
///
///     let listener = try Net.listen(.tcp, ":8080")
///     while true {
///         let conn = try await listener.accept()
///         go { try await serve(conn) }
///     }
///
/// A goroutine in ``accept(file:line:)`` parks on the runtime's poller: it is
/// never reported as a deadlock (a connection may come). Several tasks may
/// accept at once; they take turns.
public final class Listener: Sendable {
    let socket: NetSocket

    /// The address it listens on (Go: `Addr`), with the port the system
    /// chose for port 0.
    public let address: NetAddress

    /// A Unix-domain listener's path, removed when it closes (as Go's are).
    private let unlinkPath: String?

    init(socket: NetSocket, address: NetAddress, unlinking unlinkPath: String? = nil) {
        self.socket = socket
        self.address = address
        self.unlinkPath = unlinkPath
    }

    deinit {
        close()
    }

    /// Waits for the next connection and returns it (Go: `Accept`). The
    /// connection uses the caller's runtime's poller, non-blocking, with
    /// Nagle's algorithm off for TCP (as Go sets it).
    ///
    /// - Throws: ``NetError/closed`` when the listener is closed (before or
    ///   during the wait), ``NetError/timeout`` past its deadline,
    ///   ``NetError/cancelled``, or ``NetError/system(_:)`` (e.g.
    ///   `.tooManyOpenFiles`).
    nonisolated(nonsending)
    public func accept(file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> Conn {
        let listening = socket.fd
        var peer = sockaddr_storage()
        var peerLength = socklen_t(0)
        let fd = try await socket.perform(.read, file: file, line: line) {
            while true {
                peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let accepted = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketCalls.accept(listening, $0, &peerLength) }
                }
                if accepted >= 0 { return Int(accepted) }
                // A connection reset before it was accepted: take the next (as Go does).
                if errno == ECONNABORTED { continue }
                return -Int(errno)
            }
        }
        let remote = NetAddress(storage: peer, length: peerLength).unmapped()
        if remote.family != .unix {
            _ = SocketCalls.setOption(Int32(fd), Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        }
        return Conn(socket: try NetSocket.adopt(Int32(fd)), remote: remote.family == .unix ? nil : remote)
    }

    /// Stops listening (Go: `Close`): a parked ``accept(file:line:)`` wakes
    /// with ``NetError/closed``, and a Unix-domain listener's path is removed.
    /// Closing again does nothing.
    public func close() {
        if socket.close(), let unlinkPath {
            _ = unlink(unlinkPath)
        }
    }

    /// Sets the deadline of ``accept(file:line:)`` (Go: `SetDeadline` of a
    /// `*TCPListener`); nil clears it.
    public func setDeadline(_ deadline: ContinuousClock.Instant?) {
        socket.setDeadline(deadline, for: .read)
    }
}

#endif
