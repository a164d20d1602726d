// From Go's address strings to socket addresses. Numeric hosts are parsed in
// place; names go to the system's resolver (getaddrinfo), which blocks, so it
// runs in `blocking { }`: the caller's processor keeps running the others
// meanwhile, as Go's cgo resolver runs on a thread of its own.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum Resolver {
    /// Which IP families an address may be.
    enum Families {
        case any, ipv4, ipv6

        var allows4: Bool { self != .ipv6 }
        var allows6: Bool { self != .ipv4 }
    }

    /// The addresses `hostPort` names, best first. An empty host is the
    /// wildcard when `passive` (listen), else the local system (dial, as Go's
    /// `Dial("tcp", ":80")`).
    static func resolve(_ hostPort: String, families: Families, passive: Bool, datagram: Bool) throws(NetError) -> [NetAddress] {
        if let literal = try literal(hostPort, families: families, passive: passive) { return literal }
        let (host, port) = try NetAddress.splitHostPort(hostPort)
        let found = try lookUp(host, families: families, datagram: datagram)
        // Go listens on a name's first IPv4 address, and dials them all in turn.
        let ordered = passive ? found.filter { $0.family == .ipv4 } + found.filter { $0.family != .ipv4 } : found
        return ordered.map { address in
            var address = address
            address.setPort(UInt16(port))
            return address
        }
    }

    /// At most this many lookups for dials under a context run at once: an
    /// abandoned one keeps its thread until getaddrinfo returns, so a
    /// resolver that hangs must not grow threads without bound (Go bounds its
    /// cgo lookups at 500 as well).
    private static let contextLookups = Sync.Semaphore(capacity: 500)

    /// `resolve` for a dial under `context` and with a `deadline` (in
    /// `timers`' time): a name's lookup (getaddrinfo, which nothing
    /// interrupts) runs in a goroutine of its own, and the dial stops waiting
    /// for it when the context is done or the deadline passes first
    /// (`.timeout`); the lookup then ends on its own and its answer is
    /// dropped (as Go's cgo resolver does).
    static func resolve(
        _ hostPort: String, families: Families, context: Context,
        deadline: (UInt64, TimerQueue)?, file: StaticString, line: UInt
    ) async throws(NetError) -> [NetAddress] {
        let needsLookUp = try literal(hostPort, families: families, passive: false) == nil
        if !needsLookUp || (context.canceller == nil && deadline == nil) {
            return try resolve(hostPort, families: families, passive: false, datagram: false)
        }
        let bounded: (context: Context, end: @Sendable () -> Void)
        if let (due, timers) = deadline {
            let (child, cancel) = context.withDeadline(at: due, on: timers)
            bounded = (child, cancel)
        } else {
            bounded = (context, {})
        }
        defer { bounded.end() }
        let context = bounded.context
        let answer = Chan<Result<[NetAddress], NetError>>(capacity: 1)
        go(file: file, line: line) {
            // A goroutine's wait is never cancelled: it waits its turn, and
            // skips the lookup if its dial stopped waiting meanwhile.
            try await contextLookups.acquire(file: file, line: line)
            defer { contextLookups.release() }
            if context.err != nil { return }
            let found = Result { () throws(NetError) in
                try resolve(hostPort, families: families, passive: false, datagram: false)
            }
            try await answer.send(found)
        }
        let outcome: Result<[NetAddress], NetError>?
        do {
            outcome = try await select(file: file, line: line) {
                answer.onReceive { $0 }
                context.done.onReceive { _ in nil }
            }
        } catch {
            throw .cancelled  // the waiting task was cancelled
        }
        guard let outcome else { throw NetError(context.err ?? .canceled) }
        return try outcome.get()
    }

    /// The addresses of `hostPort` when no lookup is needed (an empty host,
    /// an IP literal); nil when the host is a name.
    private static func literal(_ hostPort: String, families: Families, passive: Bool) throws(NetError) -> [NetAddress]? {
        let (host, port) = try NetAddress.splitHostPort(hostPort)
        let port16 = UInt16(port)
        if host.isEmpty {
            switch (families, passive) {
            case (.ipv4, true): return [.unspecified(.ipv4, port: port16)]
            case (_, true): return [.unspecified(.ipv6, port: port16)]
            case (.ipv6, false): return [.loopback(.ipv6, port: port16)]
            case (_, false): return [.loopback(.ipv4, port: port16)]
            }
        }
        if let numeric = NetAddress.parseIP(host, port: port16) {
            if numeric.family == .ipv4 && !families.allows4 || numeric.family == .ipv6 && !families.allows6 {
                throw .invalidAddress("address \(hostPort): no suitable address")
            }
            return [numeric]
        }
        return nil
    }

    /// getaddrinfo, in `blocking { }`.
    private static func lookUp(_ host: String, families: Families, datagram: Bool) throws(NetError) -> [NetAddress] {
        let outcome: Result<[NetAddress], NetError>
        do {
            outcome = try blocking { () -> Result<[NetAddress], NetError> in
                var hints = addrinfo()
                hints.ai_family = families == .ipv4 ? AF_INET : families == .ipv6 ? AF_INET6 : AF_UNSPEC
                hints.ai_socktype = datagram ? SocketCalls.datagram : SocketCalls.stream
                var list: UnsafeMutablePointer<addrinfo>?
                let status = getaddrinfo(host, nil, &hints, &list)
                guard status == 0 else {
                    let reason = status == EAI_SYSTEM ? String(cString: strerror(errno)) : String(cString: gai_strerror(status))
                    return .failure(.unknownHost(host: host, reason: reason))
                }
                defer { freeaddrinfo(list) }
                var found: [NetAddress] = []
                var next = list
                while let entry = next {
                    if let address = entry.pointee.ai_addr,
                       entry.pointee.ai_family == AF_INET || entry.pointee.ai_family == AF_INET6 {
                        var storage = sockaddr_storage()
                        let length = Int(entry.pointee.ai_addrlen)
                        withUnsafeMutableBytes(of: &storage) { raw in
                            raw.copyMemory(from: UnsafeRawBufferPointer(start: address, count: min(length, raw.count)))
                        }
                        let candidate = NetAddress(storage: storage, length: socklen_t(length))
                        if !found.contains(candidate) { found.append(candidate) }
                    }
                    next = entry.pointee.ai_next
                }
                return found.isEmpty ? .failure(.unknownHost(host: host, reason: "no such host")) : .success(found)
            }
        } catch {
            // No thread left for the call (ThreadLimitExceeded): the system's
            // "try again".
            throw .system(.resourceTemporarilyUnavailable)
        }
        return try outcome.get()
    }
}

extension NetAddress {
    /// Replaces the port of an IP address.
    mutating func setPort(_ port: UInt16) {
        switch family {
        case .ipv4:
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: port.bigEndian, toByteOffset: MemoryLayout<sockaddr_in>.offset(of: \sockaddr_in.sin_port)!, as: UInt16.self)
            }
        case .ipv6:
            withUnsafeMutableBytes(of: &storage) { raw in
                raw.storeBytes(of: port.bigEndian, toByteOffset: MemoryLayout<sockaddr_in6>.offset(of: \sockaddr_in6.sin6_port)!, as: UInt16.self)
            }
        case .unix:
            break
        }
    }
}
