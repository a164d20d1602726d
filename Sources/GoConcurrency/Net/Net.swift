// Go's net package entry points: listen, dial, listenPacket.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Go's `net` package: TCP (IPv4 and IPv6), Unix-domain stream sockets and
/// UDP, whose calls park the calling goroutine on the runtime's network
/// poller instead of blocking a thread.
///
/// Addresses are written as Go writes them: `"127.0.0.1:8080"`, `"[::1]:80"`,
/// `":0"` (every interface, a port the system chooses), `"localhost:80"`
/// (looked up by the system's resolver, in ``blocking(file:line:_:)``), and a
/// path for a Unix-domain socket.
///
///     GoRuntime.main {
///         let listener = try Net.listen(.tcp, "127.0.0.1:7000")
///         while true {
///             let conn = try await listener.accept()
///             go {
///                 defer { conn.close() }
///                 var buffer = [UInt8](repeating: 0, count: 4096)
///                 while true {
///                     let n = try await conn.read(into: &buffer)
///                     if n == 0 { return }
///                     try await conn.write(buffer[..<n])
///                 }
///             }
///         }
///     }
public enum Net {
    /// A stream network (Go's network names for `Listen` and `Dial`).
    public enum StreamNetwork: String, Sendable {
        /// TCP over IPv4 or IPv6: `":port"` listens on both.
        case tcp
        /// TCP over IPv4 only.
        case tcp4
        /// TCP over IPv6 only.
        case tcp6
        /// Unix-domain stream sockets; the address is a path.
        case unix
    }

    /// A datagram network (Go's network names for `ListenPacket`).
    public enum PacketNetwork: String, Sendable {
        /// UDP over IPv4 or IPv6.
        case udp
        /// UDP over IPv4 only.
        case udp4
        /// UDP over IPv6 only.
        case udp6
    }

    /// The backlog of a listening socket: the system's maximum (Linux lowers
    /// it to `net.core.somaxconn`), as Go asks for.
    static let backlog: Int32 = 65535

    /// Listens on `address` (Go: `net.Listen(network, address)`).
    ///
    ///     let listener = try Net.listen(.tcp, "127.0.0.1:0")
    ///     print(listener.address)   // 127.0.0.1:41234
    ///
    /// TCP listeners reuse a recently closed port (SO_REUSEADDR, as Go's do);
    /// `":port"` with ``StreamNetwork/tcp`` listens on IPv6 and IPv4 at once
    /// where the system has IPv6. A Unix-domain listener creates its path and
    /// removes it when closed.
    ///
    /// - Throws: ``NetError/invalidAddress(_:)``, ``NetError/unknownHost(host:reason:)``,
    ///   or ``NetError/system(_:)`` (e.g. `.addressInUse`).
    public static func listen(_ network: StreamNetwork, _ address: String) throws(NetError) -> Listener {
        if network == .unix {
            guard let path = NetAddress(unixPath: address) else {
                throw .invalidAddress("address \(address): invalid Unix-domain socket path")
            }
            let socket = try bound(path, type: SocketCalls.stream)
            // Bound: the path is now this listener's to remove.
            let listener = Listener(socket: socket, address: socket.localAddress ?? path, unlinking: address)
            do {
                try listening(socket)
            } catch {
                // `listening` closed the socket, so the listener will not
                // remove the path it bound: remove it here.
                unlink(address)
                throw error
            }
            return listener
        }
        let candidates = try Resolver.resolve(address, families: families(network), passive: true, datagram: false)
        var lastError = NetError.invalidAddress("address \(address): no suitable address")
        for candidate in candidates {
            do {
                let socket = try bound(candidate, type: SocketCalls.stream, dualStack: network == .tcp)
                try listening(socket)
                return Listener(socket: socket, address: socket.localAddress ?? candidate)
            } catch .system(.addressFamilyNotSupported) where candidate.isUnspecified && candidate.family == .ipv6 {
                // No IPv6 on this machine: the IPv4 wildcard instead.
                let socket = try bound(.unspecified(.ipv4, port: UInt16(candidate.port)), type: SocketCalls.stream)
                try listening(socket)
                return Listener(socket: socket, address: socket.localAddress ?? candidate)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// Connects to `address` (Go: `net.Dial`, `net.DialTimeout` with a
    /// `timeout`, `Dialer.DialContext` with a `context`), trying each address
    /// a name resolves to in turn.
    ///
    ///     let conn = try await Net.dial(.tcp, "localhost:7000", timeout: .seconds(5))
    ///     let conn = try await Net.dial(.tcp, "db:5432", context: requestContext)
    ///
    /// A `context` that is done before the connection is made (cancelled, or
    /// its deadline passed) stops the dial: a name's lookup is no longer
    /// waited for, the connect wait ends at once and the socket is closed.
    /// Once `dial` has returned, the context no longer affects the
    /// connection (Go's rule). A `timeout` covers the whole dial, the
    /// lookup included, as Go's does.
    ///
    /// The wait for the connection parks the caller on the poller. A timeout
    /// counts on the runtime's timers (a ``ManualClock``'s time on a test
    /// runtime). TCP connections have Nagle's algorithm off, as Go sets it.
    ///
    /// - Throws: ``NetError/timeout`` when `timeout` passes first or the
    ///   context's deadline does, ``NetError/cancelled`` when the context is
    ///   cancelled first (or the waiting task is),
    ///   ``NetError/system(_:)`` (`.connectionRefused`, `.networkUnreachable`,
    ///   ...), ``NetError/invalidAddress(_:)`` or ``NetError/unknownHost(host:reason:)``.
    nonisolated(nonsending)
    public static func dial(
        _ network: StreamNetwork, _ address: String, timeout: Duration? = nil,
        context: Context = .background,
        file: StaticString = #fileID, line: UInt = #line
    ) async throws(NetError) -> Conn {
        if let err = context.err { throw NetError(err) }
        // Go's timeout covers the whole dial, a name's lookup included: one
        // deadline, in the time of the runtime the sockets register with.
        let timers = GoRuntime.startingOn(nil).timers
        let deadline = timeout.map { timers.now() &+ Monotonic.nanoseconds($0) }
        let candidates: [NetAddress]
        if network == .unix {
            guard let path = NetAddress(unixPath: address) else {
                throw .invalidAddress("address \(address): invalid Unix-domain socket path")
            }
            candidates = [path]
        } else {
            candidates = try await Resolver.resolve(
                address, families: families(network), context: context,
                deadline: deadline.map { ($0, timers) }, file: file, line: line)
        }
        var lastError = NetError.invalidAddress("address \(address): no suitable address")
        for candidate in candidates {
            let socket = try NetSocket.make(family: candidate.systemFamily, type: SocketCalls.stream)
            if let deadline { socket.descriptor.setDeadline(deadline, for: .write) }
            // The context's end wakes the wait as a deadline already past does.
            let stopWatching = context.whenDone {
                socket.descriptor.setDeadline(0, for: .write)
            }
            do throws(NetError) {
                try await connect(socket, to: candidate, file: file, line: line)
                if !stopWatching() {
                    // Done as the connection was made: the write deadline may
                    // be set already, so the connection is not handed out.
                    throw NetError(context.err!)
                }
                if timeout != nil { socket.descriptor.setDeadline(nil, for: .write) }
                if network != .unix {
                    _ = try? socket.withDescriptor { fd throws(NetError) in
                        SocketCalls.setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
                    }
                }
                return Conn(socket: socket, remote: candidate)
            } catch {
                _ = stopWatching()
                socket.close()
                if let err = context.err { throw NetError(err) }
                if error == .timeout || error == .cancelled { throw error }
                lastError = error
            }
        }
        throw lastError
    }

    /// Opens a UDP socket on `address` (Go: `net.ListenPacket(network,
    /// address)`), for ``PacketConn/readFrom(into:file:line:)-(UnsafeMutableRawBufferPointer,_,_)`` and
    /// ``PacketConn/writeTo(_:to:file:line:)-(UnsafeRawBufferPointer,_,_,_)``.
    ///
    /// - Throws: ``NetError/invalidAddress(_:)``, ``NetError/unknownHost(host:reason:)``,
    ///   or ``NetError/system(_:)``.
    public static func listenPacket(_ network: PacketNetwork, _ address: String) throws(NetError) -> PacketConn {
        let families: Resolver.Families = network == .udp4 ? .ipv4 : network == .udp6 ? .ipv6 : .any
        let candidates = try Resolver.resolve(address, families: families, passive: true, datagram: true)
        var lastError = NetError.invalidAddress("address \(address): no suitable address")
        for candidate in candidates {
            do {
                let socket = try bound(candidate, type: SocketCalls.datagram, dualStack: network == .udp)
                return PacketConn(socket: socket)
            } catch .system(.addressFamilyNotSupported) where candidate.isUnspecified && candidate.family == .ipv6 {
                return PacketConn(socket: try bound(.unspecified(.ipv4, port: UInt16(candidate.port)), type: SocketCalls.datagram))
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    // MARK: Steps

    private static func families(_ network: StreamNetwork) -> Resolver.Families {
        switch network {
        case .tcp4: .ipv4
        case .tcp6: .ipv6
        case .tcp, .unix: .any
        }
    }

    /// A socket bound to `address`.
    private static func bound(_ address: NetAddress, type: Int32, dualStack: Bool = false) throws(NetError) -> NetSocket {
        let socket = try NetSocket.make(family: address.systemFamily, type: type)
        do {
            try socket.withDescriptor { fd throws(NetError) in
                if address.family != .unix && type == SocketCalls.stream {
                    _ = SocketCalls.setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
                }
                if address.family == .ipv6 {
                    _ = SocketCalls.setOption(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, dualStack ? 0 : 1)
                }
                let result = address.withSockaddr { bind(fd, $0, $1) }
                if result != 0 { throw NetError.lastSystemError() }
            }
        } catch {
            socket.close()
            throw error
        }
        return socket
    }

    private static func listening(_ socket: NetSocket) throws(NetError) {
        do {
            try socket.withDescriptor { fd throws(NetError) in
                if SocketCalls.startListening(fd, backlog: backlog) != 0 { throw NetError.lastSystemError() }
            }
        } catch {
            socket.close()
            throw error
        }
    }

    /// Connects `socket` to `address`, parking while the connection is under
    /// way (Go's fd.connect).
    ///
    /// Only EINPROGRESS, EALREADY and EINTR from connect(2) mean "under way";
    /// anything else fails the dial, EAGAIN included (a Unix-domain listener
    /// whose backlog is full says so, and an unconnected Unix socket is always
    /// writable, so waiting would return a socket that is not connected). And
    /// writability alone does not prove the connection: a new TCP socket is
    /// reported writable (hung up) as soon as it is registered, and a poll
    /// between `prepare` and connect(2) can leave that readiness behind. So,
    /// as Go does, a zero SO_ERROR is checked with getpeername, and the wait
    /// goes on while it says "not connected".
    nonisolated(nonsending)
    private static func connect(_ socket: NetSocket, to address: NetAddress, file: StaticString, line: UInt) async throws(NetError) {
        let fd = socket.fd
        var started = false
        var refused: Int32 = 0
        _ = try await socket.perform(.write, takingTurns: false, file: file, line: line) {
            if !started {
                started = true
                if address.withSockaddr({ SocketCalls.startConnecting(fd, to: $0, $1) }) == 0 { return 0 }
                let code = errno
                // Under way (EINTR too: the connection goes on): wait until
                // the socket is writable, then read how it went.
                if code == EINPROGRESS || code == EALREADY || code == EINTR { return -Int(EAGAIN) }
                if code == EISCONN { return 0 }
                refused = code  // thrown below, whatever it is: not a wait
                return 0
            }
            guard let code = SocketCalls.option(fd, SOL_SOCKET, SO_ERROR) else { return -Int(errno) }
            if code == EINPROGRESS || code == EALREADY || code == EINTR { return -Int(EAGAIN) }
            if code != 0 { return -Int(code) }
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
            }
            if named == 0 { return 0 }
            // Writable before the handshake ended (a readiness left from
            // before connect(2)): wait for the next one.
            return errno == ENOTCONN ? -Int(EAGAIN) : -Int(errno)
        }
        if refused != 0 { throw .system(Errno(rawValue: refused)) }
    }
}

#endif
