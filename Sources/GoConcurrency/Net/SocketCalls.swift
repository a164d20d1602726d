// The system calls of the Net layer, in one place: the socket calls that differ
// between Linux and Darwin (non-blocking and close-on-exec at creation, no
// SIGPIPE on a write to a closed peer), errno, and the constants Glibc imports
// as C enums.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import CGoConcurrencyPoll
#endif

/// The calling thread's `errno`.
@usableFromInline
var systemErrno: Int32 {
    errno
}

enum SocketCalls {
    #if os(Linux)
    static let stream = Int32(SOCK_STREAM.rawValue)
    static let datagram = Int32(SOCK_DGRAM.rawValue)
    /// Flags that keep a write to a closed peer from raising SIGPIPE.
    static let sendFlags = Int32(MSG_NOSIGNAL)
    #else
    static let stream = SOCK_STREAM
    static let datagram = SOCK_DGRAM
    static let sendFlags: Int32 = 0
    #endif

    /// A new socket, non-blocking and closed on exec, whose writes never raise
    /// SIGPIPE; -1 with `errno` set if the system refused.
    static func socket(family: Int32, type: Int32) -> Int32 {
        #if os(Linux)
        return Glibc.socket(family, type | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        return prepared(Darwin.socket(family, type, 0))
        #endif
    }

    /// Accepts a connection on `fd` with the same properties as `socket`'s,
    /// storing the peer's address; -1 with `errno` set otherwise.
    static func accept(_ fd: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>) -> Int32 {
        #if os(Linux)
        return goconcurrency_accept4(fd, address, length, goconcurrency_sock_nonblock | goconcurrency_sock_cloexec)
        #else
        return prepared(Darwin.accept(fd, address, length))
        #endif
    }

    #if !os(Linux)
    /// Darwin has no SOCK_NONBLOCK/SOCK_CLOEXEC/MSG_NOSIGNAL: the same by fcntl
    /// and setsockopt, right after the descriptor is made; the descriptor
    /// (closed, and -1 with `errno`, if that fails).
    private static func prepared(_ fd: Int32) -> Int32 {
        if fd < 0 { return fd }
        let flags = fcntl(fd, F_GETFL)
        var on: Int32 = 1
        if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0
            || setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            let code = errno
            Darwin.close(fd)
            errno = code
            return -1
        }
        return fd
    }
    #endif

    /// Sends `bytes[offset...]`, moving `offset` on, until all is sent or the
    /// socket would block: the count sent in all, or minus the errno.
    static func sendAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, from offset: inout Int) -> Int {
        while offset < bytes.count {
            let count = send(fd, bytes.baseAddress! + offset, bytes.count - offset, sendFlags)
            if count < 0 { return -Int(errno) }
            offset += count
        }
        return offset
    }

    /// Receives one datagram into `buffer`, with its sender: the count, or
    /// minus the errno.
    static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, from sender: inout NetAddress) -> Int {
        sender.length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let count = withUnsafeMutablePointer(to: &sender.storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                recvfrom(fd, buffer.baseAddress, buffer.count, 0, $0, &sender.length)
            }
        }
        return count >= 0 ? count : -Int(errno)
    }

    /// Sets an integer socket option; false with `errno` set if refused.
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) -> Bool {
        var value = value
        return setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Reads an integer socket option (SO_ERROR after a connect); nil with
    /// `errno` set if refused.
    static func option(_ fd: Int32, _ level: Int32, _ name: Int32) -> Int32? {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, level, name, &value, &length) == 0 ? value : nil
    }

    /// listen(2).
    static func startListening(_ fd: Int32, backlog: Int32) -> Int32 {
        listen(fd, backlog)
    }

    /// connect(2), which on a non-blocking socket usually returns EINPROGRESS.
    static func startConnecting(_ fd: Int32, to address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
        connect(fd, address, length)
    }

    /// Closes a descriptor that was never registered with a poller.
    static func closeUnregistered(_ fd: Int32) {
        _ = close(fd)
    }
}
