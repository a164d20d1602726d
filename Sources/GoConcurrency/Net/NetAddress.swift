// A socket's address: an IPv4 or IPv6 address with a port, or a Unix-domain
// socket's path, held as the system's own `sockaddr` bytes (no allocation), and
// written the way Go writes it ("127.0.0.1:8080", "[::1]:80", "/tmp/s.sock").
// Also Go's host:port splitting and joining, and numeric IP parsing, which
// never block (names go through `Resolver`, in `blocking { }`).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The address of a socket: an IP address and port, or a Unix-domain socket's
/// path (Go: `net.TCPAddr`, `net.UDPAddr`, `net.UnixAddr`).
///
/// Its ``description`` is Go's `String()`: `127.0.0.1:8080`, `[::1]:80`,
/// `[fe80::1%eth0]:80`, or the path of a Unix-domain socket.
public struct NetAddress: Sendable, Hashable, CustomStringConvertible {
    /// What kind of address it is.
    public enum Family: Sendable, Hashable {
        case ipv4, ipv6, unix
    }

    /// The system's form, valid for its first `length` bytes.
    @usableFromInline var storage: sockaddr_storage
    @usableFromInline var length: socklen_t

    /// An address from what the system wrote (accept, recvfrom, getsockname).
    init(storage: sockaddr_storage, length: socklen_t) {
        self.storage = storage
        self.length = length
    }

    /// The address as Go shows it: an IPv4 peer of a dual-stack IPv6 socket,
    /// which the system writes as an IPv4-mapped IPv6 address
    /// (`::ffff:127.0.0.1`), becomes the IPv4 address it is (the system takes
    /// it back in that form); any other address stays as it is.
    func unmapped() -> NetAddress {
        guard Int32(storage.ss_family) == AF_INET6 else { return self }
        let v6 = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
        var v4 = sockaddr_in()
        let mapped = withUnsafeBytes(of: v6.sin6_addr) { raw -> Bool in
            guard raw[..<10].allSatisfy({ $0 == 0 }), raw[10] == 0xff, raw[11] == 0xff else { return false }
            withUnsafeMutableBytes(of: &v4.sin_addr) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[12..<16])) }
            return true
        }
        guard mapped else { return self }
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = v6.sin6_port
        var converted = sockaddr_storage()
        withUnsafeMutableBytes(of: &converted) { raw in
            withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) }
        }
        return NetAddress(storage: converted, length: socklen_t(MemoryLayout<sockaddr_in>.size))
    }

    /// An IP address and port, from an IP written as Go writes one (`"127.0.0.1"`,
    /// `"::1"`, `"fe80::1%eth0"`); nil if `ip` is not a numeric address.
    public init?(ip: String, port: Int) {
        guard (0...65535).contains(port), let parsed = NetAddress.parseIP(ip, port: UInt16(port)) else { return nil }
        self = parsed
    }

    /// The address of a Unix-domain socket at `path`; nil if the path does not
    /// fit the system's address (about 100 bytes).
    public init?(unixPath path: String) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        var storage = sockaddr_storage()
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: withUnsafeBytes(of: &address) { Array($0) }) }
        self.init(storage: storage, length: socklen_t(MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)! + bytes.count + 1))
    }

    /// IPv4, IPv6 or Unix.
    public var family: Family {
        switch Int32(storage.ss_family) {
        case AF_INET: .ipv4
        case AF_INET6: .ipv6
        default: .unix
        }
    }

    /// The IP address as Go writes it (`"127.0.0.1"`, `"::1"`,
    /// `"fe80::1%eth0"`); empty for a Unix-domain socket.
    public var host: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch family {
        case .ipv4:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &address.sin_addr, &text, socklen_t(text.count))
            return NetAddress.string(text)
        case .ipv6:
            var address = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &address.sin6_addr, &text, socklen_t(text.count))
            var host = NetAddress.string(text)
            if address.sin6_scope_id != 0 {
                var name = [CChar](repeating: 0, count: Int(IF_NAMESIZE) + 1)
                if if_indextoname(address.sin6_scope_id, &name) != nil {
                    host += "%" + NetAddress.string(name)
                } else {
                    host += "%\(address.sin6_scope_id)"
                }
            }
            return host
        case .unix:
            return ""
        }
    }

    /// The port (0 for a Unix-domain socket).
    public var port: Int {
        switch family {
        case .ipv4: Int(UInt16(bigEndian: withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }.sin_port))
        case .ipv6: Int(UInt16(bigEndian: withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }.sin6_port))
        case .unix: 0
        }
    }

    /// The path of a Unix-domain socket (empty for an unnamed one, and for IP).
    public var path: String {
        guard family == .unix else { return "" }
        let offset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path)!
        let count = Int(length) - offset
        if count <= 0 { return "" }
        return withUnsafeBytes(of: storage) { raw in
            let bytes = raw[offset..<(offset + count)]
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Go's `String()`: host:port with brackets around an IPv6 host, or the path.
    public var description: String {
        family == .unix ? path : NetAddress.joinHostPort(host, port)
    }

    public static func == (a: NetAddress, b: NetAddress) -> Bool {
        a.length == b.length && a.withBytes { x in b.withBytes { y in x.elementsEqual(y) } }
    }

    public func hash(into hasher: inout Hasher) {
        withBytes { hasher.combine(bytes: $0) }
    }

    private func withBytes<R>(_ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeBytes(of: storage) { body(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }

    /// Calls `body` with the system's form, for bind, connect and sendto.
    func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        withUnsafeBytes(of: storage) { raw in
            body(raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), length)
        }
    }

    /// The address family, as the socket call takes it.
    var systemFamily: Int32 { Int32(storage.ss_family) }

    // MARK: Go's host:port

    /// Splits Go's `host:port` (`"127.0.0.1:80"`, `"[::1]:80"`, `":0"`,
    /// `"localhost:80"`) into its host and port (Go: `net.SplitHostPort`).
    static func splitHostPort(_ text: String) throws(NetError) -> (host: String, port: Int) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw .invalidAddress("address \(text): missing ']' in address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw .invalidAddress(rest.isEmpty ? "address \(text): missing port in address" : "address \(text): unexpected ']' in address")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw .invalidAddress("address \(text): missing port in address")
            }
            host = text[..<colon]
            guard !host.contains(":") else {
                throw .invalidAddress("address \(text): too many colons in address")
            }
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw .invalidAddress("address \(text): invalid port \"\(portText)\"")
        }
        return (String(host), port)
    }

    /// Joins a host and a port as Go does, bracketing an IPv6 host (Go:
    /// `net.JoinHostPort`).
    static func joinHostPort(_ host: String, _ port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// A numeric IPv4 or IPv6 address (with an optional `%zone`), or nil.
    static func parseIP(_ text: String, port: UInt16) -> NetAddress? {
        var storage = sockaddr_storage()
        var v4 = sockaddr_in()
        if inet_pton(AF_INET, text, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in
                withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) }
            }
            return NetAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in>.size))
        }
        var v6 = sockaddr_in6()
        var address = Substring(text)
        if let percent = text.firstIndex(of: "%") {
            let zone = String(text[text.index(after: percent)...])
            address = text[..<percent]
            if let index = UInt32(zone) {
                v6.sin6_scope_id = index
            } else {
                let index = if_nametoindex(zone)
                if index == 0 { return nil }
                v6.sin6_scope_id = index
            }
        }
        guard inet_pton(AF_INET6, String(address), &v6.sin6_addr) == 1 else { return nil }
        v6.sin6_family = sa_family_t(AF_INET6)
        v6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &storage) { raw in
            withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) }
        }
        return NetAddress(storage: storage, length: socklen_t(MemoryLayout<sockaddr_in6>.size))
    }

    /// The wildcard address of `family` (0.0.0.0 or ::) with `port`.
    static func unspecified(_ family: Family, port: UInt16) -> NetAddress {
        parseIP(family == .ipv4 ? "0.0.0.0" : "::", port: port)!
    }

    /// The loopback address of `family` (127.0.0.1 or ::1) with `port`.
    static func loopback(_ family: Family, port: UInt16) -> NetAddress {
        parseIP(family == .ipv4 ? "127.0.0.1" : "::1", port: port)!
    }

    /// The text of a NUL-terminated C buffer.
    static func string(_ text: [CChar]) -> String {
        String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether it is 0.0.0.0 or ::.
    var isUnspecified: Bool {
        (family == .ipv4 || family == .ipv6) && (host == "0.0.0.0" || host == "::")
    }
}
