// SIGINT (Ctrl-C) as a flag the Runner polls between tasks: Go's
// signal.Notify(ch, os.Interrupt) with a one-value channel, where repeated
// signals coalesce.
//
// Invariants:
// - While `listeners > 0`, SIGINT's handler is ours: it only adds to `pending`
//   (an atomic, so the handler stays async-signal-safe, and the flag is set the
//   moment the signal arrives, whatever the load on the machine); the
//   disposition that was there before the first `start` is saved in
//   `previous` and put back by the last `stop`.
// - `listeners` and `previous` are protected by `state`'s lock.
//
// Why not a Dispatch signal source (or swift-service-lifecycle's UnixSignals,
// which is one): both ways of using one failed the real-signal tests here on
// Linux under parallel test load. With the disposition set to "ignore" first,
// the SIGINT was lost (the runner ran on as if none had come); left alone, as
// UnixSignals does on Linux, a SIGINT soon after the source was resumed killed
// the process. Reading libdispatch's Linux backend (event_epoll.c) explains
// both: the source reads a signalfd, which only sees a signal no thread takes
// the ordinary way, so libdispatch installs its own handler (one that blocks
// the signal on the thread it lands on and raises it again) — on its manager
// thread, some time after `resume` returns, and only the first time a source
// for that signal is made in the process. Before that moment the default
// disposition (kill) or "ignore" applies; and once a Runner has put back the
// previous handling, as the issue asks, later sources never get libdispatch's
// handler again. A plain handler is in place when `start` returns, runs on
// whichever thread the signal lands, can be put back and installed again, and
// has missed no signal.

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
    }

    private static let state = Locked(State())

    /// Starts listening: SIGINT no longer ends the process but sets the flag.
    static func start() {
        _ = pending.load(ordering: .relaxed)  // initialised before the handler can run
        state.withLock { state in
            state.listeners += 1
            guard state.listeners == 1 else { return }
            pending.store(0, ordering: .relaxed)
            state.previous = SignalHandler.install(SIGINT) { _ in
                InterruptSignal.pending.add(1, ordering: .relaxed)
            }
        }
    }

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
