// The same server without the poller: blocking sockets, each accept, read and
// write inside `blocking { }`, so every connection waiting for its client holds
// an OS thread (what GoConcurrency offered before its network poller).

#if os(Linux)

import GoConcurrency

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum BlockingEchoServer {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func serve(_ address: String) async throws {
        let listening = try listen(address)
        print("listening \(address)")
        fflush(nil)
        while true {
            // Past the runtime's thread limit (ThreadLimitExceeded) the
            // server says so and tries again a little later, as Go's anchor
            // goes on after an accept error.
            let fd: Int32
            do {
                fd = try blocking { accept(listening, nil, nil) }
            } catch {
                printError("accept: \(error)")
                try? await sleep(for: .milliseconds(10))
                continue
            }
            if fd < 0 {
                printError("accept: \(String(cString: strerror(errno)))")
                continue
            }
            var on: Int32 = 1
            setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            go {
                // A call that found no thread ends its connection only.
                try? await echo(fd)
            }
        }
    }

    static func echo(_ fd: Int32) async throws {
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = try blocking { recv(fd, buffer.baseAddress, buffer.count, 0) }
            if count <= 0 { return }
            var offset = 0
            while offset < count {
                let written = try blocking { send(fd, buffer.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                if written < 0 { return }
                offset += written
            }
        }
    }

    /// A blocking listening socket on a numeric IPv4 or IPv6 `host:port`.
    static func listen(_ address: String) throws -> Int32 {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw Failure(description: "listen: bad address \(address)")
        }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var storage = sockaddr_storage()
        var length: socklen_t
        var v4 = sockaddr_in()
        var v6 = sockaddr_in6()
        if host.isEmpty || inet_pton(AF_INET, host, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: v4) { raw.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        } else if inet_pton(AF_INET6, host, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &storage) { raw in withUnsafeBytes(of: v6) { raw.copyMemory(from: $0) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            throw Failure(description: "listen: \(host) is not a numeric address")
        }
        let fd = socket(Int32(storage.ss_family), Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        if fd < 0 { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var on: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if bound != 0 || Glibc.listen(fd, 65535) != 0 {
            throw Failure(description: "listen: \(String(cString: strerror(errno)))")
        }
        return fd
    }
}

#endif
