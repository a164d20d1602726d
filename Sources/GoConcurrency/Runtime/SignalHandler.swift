// Installing a plain signal handler: how SIGQUIT's goroutine dump is taken
// (QuitSignal.swift says why). The Runner's SIGINT comes through a
// Dispatch signal source instead (Patterns/InterruptSignal.swift).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum SignalHandler {
    /// Makes `handler` (which must be async-signal-safe) handle `signal` on
    /// whichever thread it lands; returns the handling it replaces.
    ///
    /// Also unblocks `signal` on the calling thread: a process can start with
    /// it blocked on every thread, inherited from its parent (a test runner's
    /// worker thread does that), and then it would never be delivered. Go's
    /// runtime unblocks the signals it handles for the same reason. Callers
    /// call from a thread that lives as long as the process (the main thread,
    /// a runtime's thread).
    @discardableResult
    static func install(_ signal: Int32, _ handler: @convention(c) (Int32) -> Void) -> sigaction {
        var action = sigaction()
        #if canImport(Darwin)
        action.__sigaction_u.__sa_handler = handler
        #else
        action.__sigaction_handler.sa_handler = handler
        #endif
        sigemptyset(&action.sa_mask)
        var previous = sigaction()
        sigaction(signal, &action, &previous)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, signal)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return previous
    }
}
