// The errors of the Net layer: one enum a caller can switch over, as Go code
// tests `errors.Is(err, net.ErrClosed)`, `err.Timeout()` or a syscall.Errno.

import SystemPackage

/// Why a network operation failed (Go: the `error` of a `net` call).
///
///     do {
///         let n = try await conn.read(into: &buffer)
///     } catch .timeout {
///         // the read deadline passed (Go: os.ErrDeadlineExceeded, err.Timeout())
///     } catch .closed {
///         // the connection was closed (Go: net.ErrClosed)
///     } catch .system(.connectionReset) {
///         // the peer reset the connection (Go: syscall.ECONNRESET)
///     }
public enum NetError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A deadline passed before the operation could finish, or a dial's
    /// timeout did (Go: `os.ErrDeadlineExceeded`, "i/o timeout"). A deadline
    /// that stays in the past keeps failing every call until it is moved.
    case timeout
    /// The connection, listener or packet connection was closed, before or
    /// during the call (Go: `net.ErrClosed`, "use of closed network
    /// connection").
    case closed
    /// The task waiting for the socket was cancelled (a plain task's wait, or a
    /// goroutine's cancellable one), or a dial's context was (Go: an error
    /// wrapping `context.Canceled`, "operation was canceled"; Go's goroutines
    /// themselves are not cancelled).
    case cancelled
    /// The system refused: `connect` found no listener (`.connectionRefused`),
    /// the peer reset the connection (`.connectionReset`), the address is
    /// taken (`.addressInUse`), no descriptor is left (`.tooManyOpenFiles`),
    /// ... (Go: a `syscall.Errno` inside an `*OpError`).
    case system(Errno)
    /// An address Go would not parse either: no port, a bad port, an
    /// unbalanced bracket, a path too long for a Unix socket (Go: an
    /// `*AddrError`).
    case invalidAddress(String)
    /// Name resolution found no address for `host` (Go: a `*DNSError`);
    /// `reason` is the resolver's message.
    case unknownHost(host: String, reason: String)
    /// The connection ended before a read that needs a whole message could
    /// finish: ``BufferedReader/readExactly(_:file:line:)`` (Go: `io.ErrUnexpectedEOF`).
    case unexpectedEOF

    public var description: String {
        switch self {
        case .timeout: "i/o timeout"
        case .closed: "use of closed network connection"
        case .cancelled: "operation cancelled"
        case .system(let errno): errno.description
        case .invalidAddress(let reason): reason
        case .unknownHost(let host, let reason): "lookup \(host): \(reason)"
        case .unexpectedEOF: "unexpected EOF"
        }
    }

    /// Whether the failure is a timeout (Go: `err.Timeout()`).
    public var isTimeout: Bool { self == .timeout }
}

extension NetError {
    /// A dial's context ended it: its deadline as a timeout, a cancellation
    /// as a cancellation.
    init(_ err: ContextError) {
        self = err == .deadlineExceeded ? .timeout : .cancelled
    }

    /// The error a failed system call left in `errno`.
    @usableFromInline
    static func lastSystemError() -> NetError {
        .system(Errno(rawValue: systemErrno))
    }

    #if os(Linux)
    /// A poller wait's failure, in the user's terms.
    @usableFromInline
    init(_ error: PollWaitError) {
        switch error {
        case .closed: self = .closed
        case .timeout: self = .timeout
        case .cancelled: self = .cancelled
        }
    }
    #endif
}
