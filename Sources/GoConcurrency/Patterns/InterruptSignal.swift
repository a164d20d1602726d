// SIGINT (Ctrl-C) as a flag the Runner polls between tasks: Go's
// signal.Notify(ch, os.Interrupt) with a one-value channel, where repeated
// signals coalesce. The signal comes through a Dispatch signal source.
//
// Invariants:
// - While `listeners > 0`, SIGINT is handled for the Dispatch source, whose
//   event handler only adds to `pending`; the disposition that was there
//   before the first `start` is saved in `previous` and put back by the last
//   `stop`, so that afterwards Ctrl-C does what it did before.
// - `source` is made by the first `start` in the process and never cancelled;
//   `dispatchHandling` is the handler libdispatch installed for it.
// - `listeners`, `previous`, `source` and `dispatchHandling` are protected by
//   `state`'s lock.
//
// Two things about libdispatch's Linux backend (event_epoll.c) shape this.
// A signal source reads a signalfd on libdispatch's manager thread, which
// only sees a signal no other thread takes the ordinary way; so libdispatch
// installs a handler of its own that blocks the signal on the thread it lands
// on and sends it to the manager thread. It installs it on that thread, some
// time after `resume` returns, and only for the first source of that signal in
// the process. Hence:
// - The first `start` waits until that handler is in place (microseconds
//   normally), so a SIGINT right after `start` is never met by the default
//   action (which would end the process); a source resumed without that wait
//   lost that race here under load.
// - Cancelling the source and making a new one for the next Runner would leave
//   the next one without a handler once `stop` has put the previous handling
//   back; so the source stays, and later `start`s put libdispatch's handler
//   back themselves.

import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum InterruptSignal {
    /// SIGINTs received and not yet taken.
    static let pending = Atomic<Int>(0)

    private struct State {
        var listeners = 0
        var previous = sigaction()
        var source: (any DispatchSourceSignal)?
        var dispatchHandling = sigaction()
    }

    private static let state = Locked(State())

    /// How long the first `start` waits for libdispatch's handler at most.
    private static let handlerWaitLimit: Duration = .seconds(5)

    /// Starts listening: SIGINT no longer ends the process but sets the flag.
    static func start() {
        state.withLock { state in
            state.listeners += 1
            guard state.listeners == 1 else { return }
            pending.store(0, ordering: .relaxed)
            sigaction(SIGINT, nil, &state.previous)
            if state.source == nil {
                #if canImport(Darwin)
                // Darwin's sources (kqueue) see a signal whatever its
                // disposition, so there it is ignored first, as Apple's
                // documentation says; on Linux that would discard it.
                signal(SIGINT, SIG_IGN)
                #endif
                let source = DispatchSource.makeSignalSource(
                    signal: SIGINT, queue: DispatchQueue(label: "GoConcurrency.InterruptSignal"))
                source.setEventHandler {
                    InterruptSignal.pending.add(1, ordering: .relaxed)
                }
                source.resume()
                state.source = source
                state.dispatchHandling = waitForDispatchHandler(replacing: state.previous)
            } else {
                sigaction(SIGINT, &state.dispatchHandling, nil)
            }
        }
    }

    /// Waits until SIGINT's handling is no longer `previous` (libdispatch
    /// installed its handler) and returns it.
    private static func waitForDispatchHandler(replacing previous: sigaction) -> sigaction {
        #if canImport(Darwin)
        var now = sigaction()
        sigaction(SIGINT, nil, &now)
        return now
        #else
        let deadline = ContinuousClock.now + handlerWaitLimit
        var now = sigaction()
        repeat {
            sigaction(SIGINT, nil, &now)
            if handlerAddress(now) != handlerAddress(previous) { break }
            usleep(50)
        } while ContinuousClock.now < deadline
        return now
        #endif
    }

    #if !canImport(Darwin)
    private static func handlerAddress(_ action: sigaction) -> UInt {
        unsafeBitCast(action.__sigaction_handler.sa_handler, to: UInt.self)
    }
    #endif

    /// Stops listening; the last listener puts SIGINT's previous handling back.
    static func stop() {
        state.withLock { state in
            guard state.listeners > 0 else { return }
            state.listeners -= 1
            if state.listeners == 0 {
                sigaction(SIGINT, &state.previous, nil)
            }
        }
    }

    /// Whether a SIGINT came since the last call; takes it (repeated signals
    /// count as one).
    static func take() -> Bool {
        pending.exchange(0, ordering: .acquiringAndReleasing) > 0
    }
}
