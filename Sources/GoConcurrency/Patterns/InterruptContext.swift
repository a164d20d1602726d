// Go's signal.NotifyContext(ctx, os.Interrupt): a context that Ctrl-C cancels.
//
// Invariants: from the call until `stop`, SIGINT is listened for (it does not
// end the process) and the first one cancels the context; `stop` runs its
// work once (later calls do nothing): it stops listening, so SIGINT's
// previous handling is back and a second Ctrl-C does what it did before, and
// cancels the context, releasing it. Its `done` is shared with the outside
// (the signal's handler), so the deadlock check never counts a goroutine
// waiting for Ctrl-C as stuck.

import Synchronization

/// The cause of a context cancelled by Ctrl-C (``Context/withInterrupt()``).
public struct InterruptReceived: Error, Sendable, Equatable, CustomStringConvertible {
    public init() {}
    /// Go's message: "interrupt signal received".
    public var description: String { "interrupt signal received" }
}

extension Context {
    /// A child that the process's first SIGINT (Ctrl-C) cancels, with
    /// ``InterruptReceived`` as its ``cause`` (Go:
    /// `signal.NotifyContext(ctx, os.Interrupt)`).
    ///
    ///     let (ctx, stop) = Context.background.withInterrupt()
    ///     defer { stop() }
    ///     try await serve(until: ctx)   // Ctrl-C: ctx.done closes, the server drains
    ///
    /// Until `stop` is called, Ctrl-C does not end the process; `stop` puts
    /// SIGINT's previous handling back (so a second Ctrl-C after it ends the
    /// process, as Go's `stop` restores the default) and cancels the context.
    /// Call it once you no longer need the context.
    public func withInterrupt() -> (Context, stop: @Sendable () -> Void) {
        let (context, cancel) = withCancelCause()
        // SIGINT is handled outside the runtime: a goroutine waiting on this
        // `done` alone waits for the outside, and is not stuck.
        context.canceller?.done.shareWithOutside()
        let (listening, missed) = InterruptSignal.listen { cancel(InterruptReceived()) }
        if missed { cancel(InterruptReceived()) }
        let stopped = Atomic<Bool>(false)
        let stop: @Sendable () -> Void = {
            guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
            InterruptSignal.stopListening(listening)
            cancel(nil)
        }
        return (context, stop)
    }
}
