// A connected stream socket (TCP or Unix-domain): Go's net.Conn.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A connected stream socket, TCP or Unix-domain (Go: `net.Conn`, `*net.TCPConn`,
/// `*net.UnixConn`), from ``Net/dial(_:_:timeout:context:file:line:)`` or
/// ``Listener/accept(file:line:)``.
///
/// A goroutine that reads or writes parks on the runtime's network poller
/// while the socket is not ready, and its processor runs other goroutines
/// meanwhile: no thread waits for it. Plain tasks may call it too; their waits
/// end with ``NetError/cancelled`` when they are cancelled.
///
///     let conn = try await Net.dial(.tcp, "127.0.0.1:7000")
///     defer { conn.close() }
///     try await conn.write(Array("hello\n".utf8))
///     var buffer = [UInt8](repeating: 0, count: 4096)
///     let n = try await conn.read(into: &buffer)   // 0: the peer closed
///
/// Sharing: one task may read while another writes. Several readers (or
/// several writers) take turns, as in Go: each call runs whole, so one
/// ``write(_:file:line:)-(UnsafeRawBufferPointer,_,_)`` is never interleaved
/// with another's bytes.
///
/// The connection closes with ``close()``, or when the last reference to it
/// goes.
public final class Conn: Sendable {
    let socket: NetSocket
    /// Where the peer is: known at accept and connect, kept for after the
    /// peer has gone.
    private let remote: NetAddress?

    init(socket: NetSocket, remote: NetAddress?) {
        self.socket = socket
        self.remote = remote
    }

    // MARK: Reading

    /// Reads what has arrived, up to `buffer.count` bytes, into `buffer`,
    /// waiting until at least one byte has (Go: `conn.Read`).
    ///
    /// - Returns: the number of bytes read; **0 at the end of the stream**
    ///   (the peer closed or half-closed its side: Go's `io.EOF`), and 0 for an
    ///   empty buffer.
    /// - Throws: ``NetError/timeout`` when the read deadline passes,
    ///   ``NetError/closed`` when the connection is closed, ``NetError/cancelled``,
    ///   or ``NetError/system(_:)`` (e.g. `.connectionReset`).
    nonisolated(nonsending)
    public func read(into buffer: UnsafeMutableRawBufferPointer, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> Int {
        if buffer.isEmpty { return 0 }
        let fd = socket.fd
        return try await socket.perform(.read, drainedBelow: buffer.count, file: file, line: line) {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            return count >= 0 ? count : -Int(errno)
        }
    }

    /// Reads what has arrived, up to `buffer.count` bytes, into the front of
    /// `buffer` (Go: `conn.Read(buf)`); no allocation.
    ///
    /// - Returns: the number of bytes read; **0 at the end of the stream**.
    nonisolated(nonsending)
    public func read(into buffer: inout [UInt8], file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> Int {
        try await read(into: &buffer, at: 0, file: file, line: line)
    }

    /// Reads into `buffer[offset...]` (for ``BufferedReader``).
    nonisolated(nonsending)
    func read(into buffer: inout [UInt8], at offset: Int, file: StaticString, line: UInt) async throws(NetError) -> Int {
        if offset >= buffer.count { return 0 }
        let fd = socket.fd
        return try await socket.perform(.read, drainedBelow: buffer.count - offset, file: file, line: line) {
            buffer.withUnsafeMutableBytes { raw in
                let count = recv(fd, raw.baseAddress! + offset, raw.count - offset, 0)
                return count >= 0 ? count : -Int(errno)
            }
        }
    }

    // MARK: Writing

    /// Writes every byte of `bytes`, waiting while the socket's send buffer is
    /// full (Go: `conn.Write`). Never raises SIGPIPE: a peer that has gone
    /// gives ``NetError/system(_:)`` with `.brokenPipe` or `.connectionReset`.
    ///
    /// - Throws: ``NetError/timeout`` when the write deadline passes: some
    ///   of the bytes may have been sent by then, and how many is not told
    ///   (Go's `Write` returns the count with its error), so a connection whose
    ///   write timed out is usually closed rather than written to again;
    ///   ``NetError/closed``,
    ///   ``NetError/cancelled``, or ``NetError/system(_:)``.
    nonisolated(nonsending)
    public func write(_ bytes: UnsafeRawBufferPointer, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        if bytes.isEmpty { return }
        let fd = socket.fd
        var offset = 0
        _ = try await socket.perform(.write, file: file, line: line) {
            SocketCalls.sendAll(fd, bytes, from: &offset)
        }
    }

    /// Writes every byte of `bytes` (Go: `conn.Write`).
    nonisolated(nonsending)
    public func write(_ bytes: [UInt8], file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        try await write(bytes[...], file: file, line: line)
    }

    /// Writes every byte of `bytes`, a part of an array (Go: `conn.Write(buf[:n])`),
    /// without copying it:
    ///
    ///     let n = try await conn.read(into: &buffer)
    ///     try await conn.write(buffer[..<n])
    nonisolated(nonsending)
    public func write(_ bytes: ArraySlice<UInt8>, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        if bytes.isEmpty { return }
        let fd = socket.fd
        var offset = 0
        _ = try await socket.perform(.write, file: file, line: line) {
            bytes.withUnsafeBytes { SocketCalls.sendAll(fd, $0, from: &offset) }
        }
    }

    /// Writes `text` as UTF-8 (Go: `io.WriteString(conn, s)`).
    nonisolated(nonsending)
    public func write(_ text: String, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) {
        try await write(Array(text.utf8), file: file, line: line)
    }

    // MARK: Closing

    /// Closes the connection (Go: `conn.Close`): every read and write parked on
    /// it wakes with ``NetError/closed``, and later calls fail with it. Closing
    /// again does nothing.
    public func close() {
        socket.close()
    }

    /// Shuts down the writing side (Go: `CloseWrite`): the peer reads the end
    /// of the stream, while this side may still read what the peer sends.
    public func closeWrite() throws(NetError) {
        try socket.withDescriptor { fd throws(NetError) in
            if shutdown(fd, Int32(SHUT_WR)) != 0 { throw NetError.lastSystemError() }
        }
    }

    // MARK: Deadlines

    /// Sets the read and write deadlines (Go: `SetDeadline`): an absolute
    /// instant, as Go's `time.Time`; nil clears them. A deadline applies to the
    /// calls in progress and to later ones; once it has passed, every call fails
    /// with ``NetError/timeout`` until the deadline is moved or cleared.
    ///
    /// On a runtime made with a ``ManualClock``, the instant is on that clock
    /// (from its ``ManualClock/now``), and the deadline passes when the test
    /// advances the clock beyond it.
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

    // MARK: Addresses and options

    /// This side's address (Go: `LocalAddr`); nil once closed.
    public var localAddress: NetAddress? {
        socket.localAddress
    }

    /// The peer's address (Go: `RemoteAddr`).
    public var remoteAddress: NetAddress? {
        remote ?? socket.peerAddress
    }

    /// Turns Nagle's algorithm off (true, the default for TCP, as in Go) or on
    /// (Go: `SetNoDelay`). A Unix-domain socket has no such option:
    /// ``NetError/system(_:)``.
    public func setNoDelay(_ noDelay: Bool) throws(NetError) {
        try socket.withDescriptor { fd throws(NetError) in
            if !SocketCalls.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, noDelay ? 1 : 0) {
                throw NetError.lastSystemError()
            }
        }
    }
}

#endif
