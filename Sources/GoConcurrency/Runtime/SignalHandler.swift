// Installing a plain signal handler: the one way GoConcurrency takes signals
// (SIGINT for the Runner, SIGQUIT for the goroutine dump). Why not a Dispatch
// signal source: see Patterns/InterruptSignal.swift.

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
        return previous
    }
}
