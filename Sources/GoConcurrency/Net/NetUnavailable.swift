// Where the runtime has no network poller (it is epoll's: Linux), the Net
// layer's types that park on it are declared unavailable, so that a program
// using them fails to compile with the reason instead of falling back to
// something else. Addresses and errors stay available.

#if !os(Linux)

/// Go's `net` package; needs the runtime's network poller (epoll, Linux).
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
public enum Net {}

/// A connected stream socket; needs the runtime's network poller (epoll, Linux).
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
public final class Conn {}

/// A listening socket; needs the runtime's network poller (epoll, Linux).
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
public final class Listener {}

/// A datagram socket; needs the runtime's network poller (epoll, Linux).
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
public final class PacketConn {}

/// A buffer in front of a connection; needs the runtime's network poller
/// (epoll, Linux).
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
public struct BufferedReader {}

#endif
