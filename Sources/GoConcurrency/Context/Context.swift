// Go's context package: how cancellation, deadlines and request-scoped values
// cross API boundaries. A context is immutable; deriving one makes a child
// that a parent's cancellation reaches and that never reaches the parent.
//
// A context is a chain of links, each made by one derivation. A link that
// can be cancelled on its own (withCancel, withDeadline, ...) has a
// `ContextCanceller` (ContextCanceller.swift); every other link (withValue)
// shares its parent's, and a link under which nothing can cancel any more
// (background, withoutCancel) has none. Values are found by walking up the
// chain; cancellation flows down through the cancellers.

/// Carries a cancellation signal, a deadline and request-scoped values
/// across API boundaries and between goroutines (Go: `context.Context`).
///
///     let (ctx, cancel) = Context.background.withTimeout(.seconds(2))
///     defer { cancel() }
///     let result = try await select {
///         results.onReceive { $0 }
///         ctx.done.onReceive { _ in nil }   // Go: case <-ctx.Done():
///     }
///     if result == nil { print(ctx.err!) }   // "context deadline exceeded"
///
/// Go's rules hold: cancelling a context cancels every context derived from
/// it, at once (before the cancel function returns), and never its parent; a
/// child's deadline is never later than its parent's; ``err`` tells a
/// cancellation from a passed deadline, and ``cause`` says why. Deadlines
/// count on the runtime's timers, so on a runtime with a ``ManualClock`` they
/// pass exactly when the test moves the clock. A cancelled context lets go of
/// its timer and of its link to its parent, so a short-lived child of a
/// long-lived context leaves nothing behind once it is cancelled — call the
/// cancel function when you are done with a context, as in Go.
///
/// With Swift's own cancellation, both ways: ``withCurrentTask(_:_:)`` gives a
/// context that the current task's cancellation cancels, and ``run(_:)`` runs
/// code as a Swift task that the context's cancellation cancels (so
/// `Task.isCancelled` and `try Task.checkCancellation()` see it).
public final class Context: Sendable, CustomStringConvertible {
    /// How this link was made, for ``description`` and value lookups.
    enum Link: Sendable {
        case background, todo, cancel, deadline, task, withoutCancel
        case value(key: ObjectIdentifier, keyName: String, value: any Sendable)
    }

    let link: Link
    let parent: Context?
    /// The nearest link that can be cancelled (this one's or an ancestor's);
    /// nil when nothing can cancel this context.
    let canceller: ContextCanceller?

    /// When the context will be done by itself, if it has a deadline (its own
    /// or a parent's, whichever is earlier; Go: `ctx.Deadline()`). On a
    /// ``ManualClock`` runtime, an instant of that clock.
    public let deadline: ContinuousClock.Instant?

    init(link: Link, parent: Context?, canceller: ContextCanceller?, deadline: ContinuousClock.Instant?) {
        self.link = link
        self.parent = parent
        self.canceller = canceller
        self.deadline = deadline
    }

    /// The root of every context tree: never cancelled, no deadline, no values
    /// (Go: `context.Background()`).
    public static let background = Context(link: .background, parent: nil, canceller: nil, deadline: nil)

    /// A placeholder where it is not yet clear which context to use (Go:
    /// `context.TODO()`); behaves as ``background``.
    public static let todo = Context(link: .todo, parent: nil, canceller: nil, deadline: nil)

    // MARK: Whether it is done

    /// A channel closed when the context is done (Go: `ctx.Done()`): receive
    /// from it in a `select`, or wait for it with `for await _ in ctx.done {}`.
    ///
    /// A context that can never be done (``background``, ``withoutCancel()``)
    /// gives a new channel that nobody will ever close on each call, where Go
    /// gives a nil channel: a receive from it waits for ever (and a goroutine
    /// waiting so is counted stuck by the deadlock detector, as in Go).
    public var done: ReceiveOnlyChan<Void> {
        if let canceller { return ReceiveOnlyChan(storage: canceller.done) }
        return ReceiveOnlyChan(storage: ChannelStorage<Void>(capacity: 0))
    }

    /// Nil while the context is not done; then why (Go: `ctx.Err()`):
    /// ``ContextError/canceled`` or ``ContextError/deadlineExceeded``.
    public var err: ContextError? {
        canceller?.reason?.err
    }

    /// Why the context is done, in more detail (Go: `context.Cause(ctx)`): the
    /// error given to the cancel function of ``withCancelCause()``, the cause
    /// given to ``withDeadline(_:cause:)`` when its deadline passed, otherwise
    /// ``err``. Nil while the context is not done. A context cancelled by its
    /// parent has its parent's cause.
    public var cause: (any Error)? {
        canceller?.reason?.cause
    }

    /// Throws ``err`` if the context is done: the check a loop makes between
    /// steps.
    public func checkDone() throws(ContextError) {
        if let err { throw err }
    }

    // MARK: Deriving

    /// A child and the function that cancels it (Go: `context.WithCancel`).
    /// The child is done when `cancel` is called or when this context is
    /// done, whichever comes first; call `cancel` once you no longer need the
    /// child (calling it again does nothing).
    ///
    ///     let (ctx, cancel) = parent.withCancel()
    ///     defer { cancel() }
    public func withCancel() -> (Context, cancel: @Sendable () -> Void) {
        let child = cancellable(.cancel, deadline: deadline, timers: nil)
        let canceller = child.canceller!
        return (child, { canceller.cancel(.canceled, cause: nil) })
    }

    /// A child whose cancel function takes the cause (Go:
    /// `context.WithCancelCause`): ``cause`` then reports it (nil cause:
    /// ``ContextError/canceled``), and ``err`` is ``ContextError/canceled``.
    public func withCancelCause() -> (Context, cancel: @Sendable ((any Error)?) -> Void) {
        let child = cancellable(.cancel, deadline: deadline, timers: nil)
        let canceller = child.canceller!
        return (child, { cause in canceller.cancel(.canceled, cause: cause) })
    }

    /// A child that is done at `deadline` at the latest (Go:
    /// `context.WithDeadline`, and with a cause `context.WithDeadlineCause`),
    /// with `.deadlineExceeded`, whose ``cause`` is then `cause` if given.
    /// If this context's deadline is earlier already, the child has that one.
    /// Call `cancel` once you no longer need the child: that releases its
    /// timer at once.
    ///
    /// The deadline counts on the timers of the runtime of the goroutine that
    /// calls it (``GoRuntime/shared`` outside goroutines): on a runtime with
    /// a ``ManualClock``, `deadline` is an instant of that clock.
    public func withDeadline(_ deadline: ContinuousClock.Instant, cause: (any Error)? = nil) -> (Context, cancel: @Sendable () -> Void) {
        let timers = TimerQueue.current
        return withDeadline(deadline, at: timers.deadline(for: deadline), on: timers, cause: cause)
    }

    /// A child that is done `timeout` from now at the latest (Go:
    /// `context.WithTimeout`, and with a cause `context.WithTimeoutCause`):
    /// ``withDeadline(_:cause:)`` with the runtime's now plus `timeout`.
    ///
    ///     let (ctx, cancel) = parent.withTimeout(.milliseconds(100))
    ///     defer { cancel() }
    ///     let conn = try await Net.dial(.tcp, "db:5432", context: ctx)
    public func withTimeout(_ timeout: Duration, cause: (any Error)? = nil) -> (Context, cancel: @Sendable () -> Void) {
        let timers = TimerQueue.current
        let now = timers.now()
        let due = now &+ Monotonic.nanoseconds(timeout)
        return withDeadline(timers.instant(at: due, now: now), at: due, on: timers, cause: cause)
    }

    /// ``withDeadline(_:cause:)`` for a deadline in `timers`' own time (a
    /// dial's, which its sockets' deadlines share).
    func withDeadline(at due: UInt64, on timers: TimerQueue) -> (Context, cancel: @Sendable () -> Void) {
        withDeadline(timers.instant(at: due, now: timers.now()), at: due, on: timers, cause: nil)
    }

    private func withDeadline(
        _ instant: ContinuousClock.Instant, at due: UInt64, on timers: TimerQueue, cause: (any Error)?
    ) -> (Context, cancel: @Sendable () -> Void) {
        if let current = deadline, current < instant {
            return withCancel()
        }
        let child = cancellable(.deadline, deadline: instant, timers: timers)
        let canceller = child.canceller!
        if due <= timers.now() {
            canceller.cancel(.deadlineExceeded, cause: cause)
        } else {
            canceller.arm(at: due, cause: cause)
        }
        return (child, { canceller.cancel(.canceled, cause: nil) })
    }

    /// A child that carries `value` under `key` (Go: `context.WithValue`);
    /// it is done when this context is.
    public func withValue<Key: ContextKey>(_ key: Key.Type, _ value: Key.Value) -> Context {
        Context(
            link: .value(key: ObjectIdentifier(key), keyName: String(describing: key), value: value),
            parent: self, canceller: canceller, deadline: deadline)
    }

    /// The value carried under `key` by this context or the nearest of its
    /// parents that carries one (Go: `ctx.Value(key)`); nil if none does.
    public func value<Key: ContextKey>(_ key: Key.Type) -> Key.Value? {
        let wanted = ObjectIdentifier(key)
        var link: Context? = self
        while let context = link {
            if case .value(let found, _, let value) = context.link, found == wanted {
                return value as? Key.Value
            }
            link = context.parent
        }
        return nil
    }

    /// A child that keeps this context's values but is never done, whatever
    /// happens to this one (Go: `context.WithoutCancel`): for work that must
    /// outlive the request that started it (an audit log write).
    public func withoutCancel() -> Context {
        Context(link: .withoutCancel, parent: self, canceller: nil, deadline: nil)
    }

    func cancellable(_ link: Link, deadline: ContinuousClock.Instant?, timers: TimerQueue?) -> Context {
        Context(link: link, parent: self, canceller: ContextCanceller(parent: canceller, timers: timers), deadline: deadline)
    }

    // MARK: Description

    /// The chain of derivations, as Go prints a context:
    /// `context.Background.WithCancel.WithValue(RequestID, r-42)`.
    public var description: String {
        var names: [String] = []
        var link: Context? = self
        while let context = link {
            switch context.link {
            case .background: names.append("context.Background")
            case .todo: names.append("context.TODO")
            case .cancel: names.append("WithCancel")
            case .deadline: names.append("WithDeadline(\(context.deadline.map { "\($0)" } ?? "?"))")
            case .task: names.append("WithCurrentTask")
            case .withoutCancel: names.append("WithoutCancel")
            case .value(_, let key, let value): names.append("WithValue(\(key), \(value))")
            }
            link = context.parent
        }
        return names.reversed().joined(separator: ".")
    }
}
