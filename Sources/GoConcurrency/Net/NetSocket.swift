// One open socket of the Net layer: its descriptor registered with a runtime's
// poller, and the loop every blocking step runs (Go's internal/poll shape): try
// the non-blocking system call; when it would block, park on the poller until
// the descriptor may be ready (or closed, or past its deadline); try again.
//
// Invariants:
// - The descriptor is the poller's `PollDescriptor`: every system call on it is
//   made while holding one of its references (`acquire`), so a `close` racing
//   with a call in flight cannot let the number be reused under the call; the
//   poller closes the number when the last reference goes.
// - Calls of one direction take turns (`PollDescriptor.takeTurn`, Go's
//   fdMutex read and write locks): at most one task waits in each direction of the
//   descriptor at a time, which is what the poller's one waiter per direction
//   needs, and a write's bytes are never interleaved with another's.
// - `closed` flips once, from `close()` or the deinit; only the first flip
//   closes the descriptor.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

import Synchronization
import SystemPackage

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
final class NetSocket: Sendable {
    let descriptor: PollDescriptor
    private let closed = Atomic<Bool>(false)

    private init(descriptor: PollDescriptor) {
        self.descriptor = descriptor
    }

    deinit {
        close()
    }

    /// A new socket of `family` and `type`, registered with the caller's runtime's
    /// poller (its goroutine's runtime, else ``GoRuntime/shared``).
    static func make(family: Int32, type: Int32) throws(NetError) -> NetSocket {
        let fd = SocketCalls.socket(family: family, type: type)
        if fd < 0 { throw NetError.lastSystemError() }
        return try adopt(fd)
    }

    /// Registers `fd` (non-blocking already) with the caller's runtime's poller;
    /// closes it if the poller refuses.
    static func adopt(_ fd: Int32) throws(NetError) -> NetSocket {
        let runtime = GoRuntime.startingOn(nil)
        do {
            return NetSocket(descriptor: try PollDescriptor.register(fd, on: runtime))
        } catch {
            SocketCalls.closeUnregistered(fd)
            throw .system(error)
        }
    }

    /// The descriptor number, for a system call made while a reference is held.
    var fd: Int32 { descriptor.fd }

    /// Closes it: every parked call wakes with ``NetError/closed``, later calls
    /// fail with it, and the number is closed once no call is using it. True
    /// the first time.
    @discardableResult
    func close() -> Bool {
        if closed.exchange(true, ordering: .acquiringAndReleasing) { return false }
        descriptor.close()
        return true
    }

    var isClosed: Bool { closed.load(ordering: .acquiring) }

    /// Runs `attempt`, a non-blocking system call that returns its result (0 or
    /// more) or minus its errno, until it succeeds: parks on the poller while
    /// it would block, retries after EINTR, throws any other error, and throws
    /// ``NetError/closed``, ``NetError/timeout`` or ``NetError/cancelled`` when
    /// the wait ends so. `takingTurns` (all but a connect, which nothing else
    /// calls at the same time): the call first waits for its turn in that
    /// direction.
    ///
    /// `drainedBelow`: for a read of a stream socket, the buffer's size: a
    /// result short of it shows that the socket's receive buffer was emptied,
    /// so the next read waits for readiness before its system call instead
    /// of making one that would say EAGAIN (a system call saved per message
    /// of a request-response exchange).
    nonisolated(nonsending)
    func perform(
        _ mode: PollMode, takingTurns: Bool = true, drainedBelow capacity: Int = 0, file: StaticString, line: UInt,
        _ attempt: () -> Int
    ) async throws(NetError) -> Int {
        // One lock to start (turn, reference, prepare) and one to end.
        var start = descriptor.beginCall(mode, takingTurn: takingTurns)
        if case .waitForTurn = start {
            do {
                try await descriptor.takeTurn(mode, file: file, line: line)
            } catch {
                throw NetError(error)
            }
            start = descriptor.beginCall(mode, takingTurn: false)
            if case .closed = start {
                descriptor.giveTurn(mode)
                throw .closed
            }
        }
        var mustWait = false
        switch start {
        case .closed: throw .closed
        case .waitForTurn: preconditionFailure("the turn is taken")
        case .startedDrained: mustWait = true
        case .started, .failed: break
        }
        var drained = false
        defer { descriptor.endCall(mode, givingTurn: takingTurns, drained: drained) }
        if case .failed(let failure) = start { throw NetError(failure) }
        while true {
            if mustWait {
                do {
                    try await descriptor.wait(mode, file: file, line: line)
                } catch {
                    throw NetError(error)
                }
            }
            let result = attempt()
            if result >= 0 {
                drained = result > 0 && result < capacity
                return result
            }
            let code = Int32(truncatingIfNeeded: -result)
            if code == EINTR {
                mustWait = false
                continue
            }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw .system(Errno(rawValue: code)) }
            mustWait = true
        }
    }

    /// Runs a call that never blocks (an option, shutdown, an address) while
    /// holding a reference; ``NetError/closed`` once closed.
    func withDescriptor<R>(_ body: (Int32) throws(NetError) -> R) throws(NetError) -> R {
        guard descriptor.acquire() else { throw .closed }
        defer { descriptor.release() }
        return try body(descriptor.fd)
    }

    /// The socket's own address (getsockname), or nil once closed.
    var localAddress: NetAddress? {
        address { getsockname($0, $1, $2) }
    }

    /// The connected peer's address (getpeername), or nil.
    var peerAddress: NetAddress? {
        address { getpeername($0, $1, $2) }
    }

    /// The address `call` (getsockname or getpeername) writes, or nil.
    private func address(_ call: (Int32, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> Int32) -> NetAddress? {
        try? withDescriptor { fd throws(NetError) in
            var address = NetAddress(storage: sockaddr_storage(), length: socklen_t(MemoryLayout<sockaddr_storage>.size))
            let result = withUnsafeMutablePointer(to: &address.storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call(fd, $0, &address.length) }
            }
            if result != 0 { throw NetError.lastSystemError() }
            return address.unmapped()
        }
    }

    /// Sets the deadline of `modes` to `instant` (nil clears it), in the time
    /// of the runtime whose timers the descriptor uses: `Monotonic`
    /// nanoseconds, or those of its `ManualClock`, so that a test clock fires
    /// a deadline exactly when the test moves it past.
    func setDeadline(_ instant: ContinuousClock.Instant?, for modes: PollModes) {
        let timers = descriptor.runtime.timers
        descriptor.setDeadline(instant.map { timers.deadline(for: $0) }, for: modes)
    }
}

#endif
