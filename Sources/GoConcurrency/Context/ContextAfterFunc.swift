// Go's context.AfterFunc: a function that starts when a context is done,
// once, unless stopped first.
//
// Invariants: a `ContextFunction` moves from pending to started or to stopped
// once (one atomic exchange decides), so the function starts at most once and
// a stop that returns true means it never will. It is registered with the
// context's canceller while pending, and leaves it when stopped or when the
// cancellation takes it.

import Synchronization

final class ContextFunction: @unchecked Sendable {
    enum Body {
        /// Runs as a new goroutine, on `runtime`.
        case goroutine(GoRuntime, StaticString, UInt, @Sendable () async throws -> Void)
        /// Runs on the thread that cancels, with the canceller's lock released:
        /// the package's own short reactions (waking a dial's wait).
        case inline(@Sendable () -> Void)
    }

    private static let pending: UInt8 = 0
    private static let started: UInt8 = 1
    private static let stopped: UInt8 = 2

    private let phase = Atomic<UInt8>(ContextFunction.pending)
    private let body: Body

    init(_ body: Body) {
        self.body = body
    }

    /// Starts the function unless it started or was stopped already.
    func start() {
        guard phase.compareExchange(expected: Self.pending, desired: Self.started, ordering: .acquiringAndReleasing).exchanged else { return }
        switch body {
        case .goroutine(let runtime, let file, let line, let function):
            go(on: runtime, file: file, line: line, function)
        case .inline(let function):
            function()
        }
    }

    /// Stops it from starting; true if this call did (it had not started and
    /// was not stopped).
    func stop() -> Bool {
        phase.compareExchange(expected: Self.pending, desired: Self.stopped, ordering: .acquiringAndReleasing).exchanged
    }
}

extension Context {
    /// Starts `function` as a new goroutine once the context is done, whether
    /// by cancellation or by its deadline (Go: `context.AfterFunc(ctx, f)`);
    /// at once if it is done already. Returns the function that stops it:
    /// `stop()` is true if that call kept `function` from starting, false if
    /// it has started or was stopped before.
    ///
    ///     let stop = ctx.afterFunc {
    ///         try? listener.close()   // unblocks the accept loop
    ///     }
    ///     defer { _ = stop() }
    ///
    /// Like `go`, it runs on the runtime of the goroutine that calls
    /// `afterFunc` (``GoRuntime/shared`` outside goroutines), and an error
    /// escaping it is a goroutine panic. On a context that is never done
    /// (``background``), `function` never starts.
    @discardableResult
    public func afterFunc(
        file: StaticString = #fileID,
        line: UInt = #line,
        _ function: @escaping @Sendable () async throws -> Void
    ) -> @Sendable () -> Bool {
        let registration = ContextFunction(.goroutine(GoRuntime.startingOn(nil), file, line, function))
        return whenDone(registration)
    }

    /// Runs `function` on the thread that cancels the context, once it is
    /// done (at once if it is): for the package's own reactions, which only
    /// wake something. Returns the stop function, as ``afterFunc(file:line:_:)``.
    func whenDone(_ function: @escaping @Sendable () -> Void) -> @Sendable () -> Bool {
        whenDone(ContextFunction(.inline(function)))
    }

    private func whenDone(_ registration: ContextFunction) -> @Sendable () -> Bool {
        guard let canceller else {
            return { registration.stop() }
        }
        if !canceller.register(registration) {
            registration.start()
        }
        return { [weak canceller] in
            guard registration.stop() else { return false }
            canceller?.unregister(registration)
            return true
        }
    }
}
