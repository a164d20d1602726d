// A UDP socket: Go's net.PacketConn.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A datagram socket, UDP over IPv4 or IPv6 (Go: `net.PacketConn`,
/// `*net.UDPConn`), from ``Net/listenPacket(_:_:)``.
///
///     let socket = try Net.listenPacket(.udp, "127.0.0.1:0")
///     var buffer = [UInt8](repeating: 0, count: 1500)
///     let (n, from) = try await socket.readFrom(into: &buffer)
///     try await socket.writeTo(Array(buffer[..<n]), to: from)
///
/// Each call sends or receives one whole datagram. Several readers (or
/// writers) take turns.
public final class PacketConn: Sendable {
    let socket: NetSocket

    init(socket: NetSocket) {
        self.socket = socket
    }

    /// Waits for a datagram and copies it into `buffer` (Go: `ReadFrom`); a
    /// datagram longer than the buffer is cut to fit.
    ///
    /// - Returns: how many bytes were copied (0 for an empty datagram), and
    ///   the sender's address.
    /// - Throws: ``NetError/timeout`` when the read deadline passes,
    ///   ``NetError/closed``, ``NetError/cancelled``, or ``NetError/system(_:)``.
    nonisolated(nonsending)
    public func readFrom(into buffer: UnsafeMutableRawBufferPointer, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> (count: Int, from: NetAddress) {
        let fd = socket.fd
        var sender = NetAddress(storage: sockaddr_storage(), length: 0)
        let count = try await socket.perform(.read, file: file, line: line) {
            SocketCalls.receive(fd, into: buffer, from: &sender)
        }
        return (count, sender.unmapped())
    }

    /// Waits for a datagram and copies it into the front of `buffer` (Go:
    /// `ReadFrom`).
    nonisolated(nonsending)
    public func readFrom(into buffer: inout [UInt8], file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> (count: Int, from: NetAddress) {
        let fd = socket.fd
        var sender = NetAddress(storage: sockaddr_storage(), length: 0)
        let count = try await socket.perform(.read, file: file, line: line) {
            buffer.withUnsafeMutableBytes { SocketCalls.receive(fd, into: $0, from: &sender) }
        }
        return (count, sender.unmapped())
    }

    /// Sends `bytes` as one datagram to `address` (Go: `WriteTo`).
    ///
    /// - Throws: ``NetError/timeout`` when the write deadline passes,
    ///   ``NetError/closed``, ``NetError/cancelled``, or ``NetError/system(_:)``
    ///   (`.messageTooLong` for a datagram the network cannot carry).
    nonisolated(nonsending)
    public func writeTo(_ bytes: UnsafeRawBufferPointer, to address: NetAddress, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        let fd = socket.fd
        _ = try await socket.perform(.write, file: file, line: line) {
            let count = address.withSockaddr { sendto(fd, bytes.baseAddress, bytes.count, SocketCalls.sendFlags, $0, $1) }
            return count >= 0 ? count : -Int(errno)
        }
    }

    /// Sends `bytes` as one datagram to `address` (Go: `WriteTo`).
    nonisolated(nonsending)
    public func writeTo(_ bytes: [UInt8], to address: NetAddress, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        let fd = socket.fd
        _ = try await socket.perform(.write, file: file, line: line) {
            bytes.withUnsafeBytes { raw in
                let count = address.withSockaddr { sendto(fd, raw.baseAddress, raw.count, SocketCalls.sendFlags, $0, $1) }
                return count >= 0 ? count : -Int(errno)
            }
        }
    }

    /// Closes the socket (Go: `Close`): parked calls wake with
    /// ``NetError/closed``. Closing again does nothing.
    public func close() {
        socket.close()
    }

    /// The address it is bound to (Go: `LocalAddr`); nil once closed.
    public var localAddress: NetAddress? {
        socket.localAddress
    }

    /// Sets the read and write deadlines (Go: `SetDeadline`); nil clears them.
    public func setDeadline(_ deadline: ContinuousClock.Instant?) {
        socket.setDeadline(deadline, for: .both)
    }

    /// Sets the read deadline (Go: `SetReadDeadline`); nil clears it.
    public func setReadDeadline(_ deadline: ContinuousClock.Instant?) {
        socket.setDeadline(deadline, for: .read)
    }

    /// Sets the write deadline (Go: `SetWriteDeadline`); nil clears it.
    public func setWriteDeadline(_ deadline: ContinuousClock.Instant?) {
        socket.setDeadline(deadline, for: .write)
    }
}

#endif
