// Why a context is done: Go's two sentinel errors.

/// Why a ``Context`` is done (Go: `context.Canceled` and
/// `context.DeadlineExceeded`), as ``Context/err`` reports it.
///
///     if ctx.err == .deadlineExceeded { print("too slow") }
///
/// ``Context/cause`` may say more: the error given to a cancel function made
/// by ``Context/withCancelCause()``, or the cause given to
/// ``Context/withDeadline(_:cause:)``.
public enum ContextError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The context, or one of its parents, was cancelled (Go: `context.Canceled`).
    case canceled
    /// The context's deadline passed (Go: `context.DeadlineExceeded`).
    case deadlineExceeded

    /// Go's messages: "context canceled", "context deadline exceeded".
    public var description: String {
        switch self {
        case .canceled: "context canceled"
        case .deadlineExceeded: "context deadline exceeded"
        }
    }
}
