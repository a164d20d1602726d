// SIGINT (Ctrl-C) as a count each Runner compares with the count when it
// started listening: Go's signal.Notify(ch, os.Interrupt) with a one-value
// channel per listener, where repeated signals coalesce. The signal comes
// through a Dispatch signal source.
//
// Invariants:
// - `received` counts every SIGINT the source reported, and only grows: each
//   listener keeps its own baseline, so runners listening at once each see a
//   signal, and one that stopped listening takes nothing from later ones.
// - While `listeners > 0`, SIGINT is handled for the Dispatch source; the
//   disposition that was there before the first `start` is saved in
//   `previous` and put back by the last `stop`, so that afterwards Ctrl-C
//   does what it did before. A SIGINT sent before that `stop` is the
//   listeners' even when no thread has taken it yet: `stop` takes what the
//   kernel still holds before it puts `previous` back (two Ctrl-C in a row
//   ended the process when the second was delivered after the first was
//   noticed; under load a thread the kernel picks for a signal can wait
//   milliseconds for a core).
// - `source` is made by the first `start` in the process and never cancelled;
//   `dispatchHandling` is the handler libdispatch installed for it.
// - `listeners`, `previous`, `source` and `dispatchHandling` are protected by
//   `state`'s lock.
// - `subscribers` (its own lock) are called, outside that lock, on the
//   source's queue after each SIGINT is counted; a subscriber is also a
//   listener, from `start` to `stop`, which its owner calls around it.
//
// Two things about libdispatch's Linux backend (event_epoll.c) shape this.
// A signal source reads a signalfd on libdispatch's manager thread, which
// only sees a signal no other thread takes the ordinary way; so libdispatch
// installs a handler of its own that blocks the signal on the thread it lands
// on and sends it to the manager thread. It installs it on that thread, some
// time after `resume` returns, and only for the first source of that signal in
// the process. Hence:
// - The first `start` waits until the source is registered (its registration
//   handler runs after libdispatch has set up the signalfd and its handler;
//   microseconds normally), so a SIGINT right after `start` is never met by
//   the default action (which would end the process); a source resumed
//   without that wait lost that race here under load.
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
    /// SIGINTs received since the process started.
    private static let received = Atomic<UInt64>(0)

    private struct State {
        var listeners = 0
        var previous = sigaction()
        var source: (any DispatchSourceSignal)?
        var dispatchHandling = sigaction()
    }

    private static let state = Locked(State())

    /// How long the first `start` waits for the source's registration at
    /// most (a guard: it takes microseconds).
    private static let registrationWaitLimit: DispatchTimeInterval = .seconds(5)

    /// Starts listening: SIGINT no longer ends the process but is counted.
    /// Returns the count so far, the caller's baseline for `arrived(since:)`.
    static func start() -> UInt64 {
        // Read first: a signal that comes while this call installs the
        // handling, or right after, is later than the baseline.
        let baseline = received.load(ordering: .acquiring)
        state.withLock { state in
            state.listeners += 1
            guard state.listeners == 1 else { return }
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
                    InterruptSignal.received.add(max(1, UInt64(source.data)), ordering: .releasing)
                    InterruptSignal.notifySubscribers()
                }
                let registered = DispatchSemaphore(value: 0)
                source.setRegistrationHandler { registered.signal() }
                source.resume()
                _ = registered.wait(timeout: .now() + registrationWaitLimit)
                state.source = source
                sigaction(SIGINT, nil, &state.dispatchHandling)
            } else {
                sigaction(SIGINT, &state.dispatchHandling, nil)
            }
        }
        return baseline
    }

    private static let subscribers = Locked<(next: Int, calls: [Int: @Sendable () -> Void])>((0, [:]))

    /// Calls `call` after each SIGINT counted from now on, until
    /// `unsubscribe` with the returned token. The caller listens (`start`)
    /// while it is subscribed.
    static func subscribe(_ call: @escaping @Sendable () -> Void) -> Int {
        subscribers.withLock { subscribers in
            subscribers.next += 1
            subscribers.calls[subscribers.next] = call
            return subscribers.next
        }
    }

    static func unsubscribe(_ token: Int) {
        subscribers.withLock { _ = $0.calls.removeValue(forKey: token) }
    }

    /// A listener's baseline and subscription.
    struct Listening: Sendable {
        /// The SIGINT count when it began listening (`arrived(since:)`).
        let count: UInt64
        let subscription: Int
    }

    /// Starts listening and calls `call` after each SIGINT from now on.
    /// `missed` is true if one came between the start and the subscription:
    /// the caller acts on it as `call` would (outside any lock of its own).
    static func listen(_ call: @escaping @Sendable () -> Void) -> (listening: Listening, missed: Bool) {
        let count = start()
        let subscription = subscribe(call)
        return (Listening(count: count, subscription: subscription), arrived(since: count))
    }

    /// Ends what `listen` began.
    static func stopListening(_ listening: Listening) {
        unsubscribe(listening.subscription)
        stop()
    }

    private static func notifySubscribers() {
        for call in subscribers.withLock({ Array($0.calls.values) }) { call() }
    }

    /// SIGINTs counted so far (while some runner listened).
    static var count: UInt64 {
        received.load(ordering: .acquiring)
    }

    /// Whether a SIGINT came after `baseline` (a count `start` returned).
    static func arrived(since baseline: UInt64) -> Bool {
        count > baseline
    }

    /// Puts `previous` back as SIGINT's handling, first taking (and counting)
    /// a SIGINT the kernel still holds for the process: one sent while a
    /// runner listened that no thread has taken yet (a thread the kernel
    /// picked may wait for a core), which `previous` would otherwise meet.
    /// Called with `state`'s lock held.
    private static func restorePreviousHandling(_ previous: inout sigaction) {
        #if canImport(Darwin)
        // Ignored there while listening: a signal is dropped when it is sent,
        // never left pending.
        sigaction(SIGINT, &previous, nil)
        #else
        var interrupt = sigset_t()
        sigemptyset(&interrupt)
        sigaddset(&interrupt, SIGINT)
        var callersMask = sigset_t()
        // Blocked here, a pending SIGINT can be taken with sigtimedwait; and one
        // sent from now on still goes to some other thread, which meets the
        // handling in place at that moment.
        pthread_sigmask(SIG_BLOCK, &interrupt, &callersMask)
        var noWait = timespec()
        var taken = false
        while sigtimedwait(&interrupt, nil, &noWait) == SIGINT { taken = true }
        if taken { received.add(1, ordering: .releasing) }
        sigaction(SIGINT, &previous, nil)
        pthread_sigmask(SIG_SETMASK, &callersMask, nil)
        #endif
    }

    /// Stops listening; the last listener puts SIGINT's previous handling back.
    static func stop() {
        state.withLock { state in
            guard state.listeners > 0 else { return }
            state.listeners -= 1
            if state.listeners == 0 {
                restorePreviousHandling(&state.previous)
            }
        }
    }
}
