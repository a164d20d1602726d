// The keys of the values a context carries: a type per key, so a value is
// found only by the code that can name its key, and comes back typed.

/// The key of a value carried by a ``Context`` (Go: the `key` of
/// `context.WithValue`, usually an unexported type). The key is the type
/// itself; ``Value`` is the type of what it carries.
///
///     enum RequestID: ContextKey { typealias Value = String }
///
///     let ctx = parent.withValue(RequestID.self, "r-42")
///     ctx.value(RequestID.self)   // "r-42", a String?
///
/// As in Go, values are for request-scoped data that crosses API boundaries
/// (a request's id, an authenticated user), not for a function's optional
/// parameters.
public protocol ContextKey {
    /// What the key carries.
    associatedtype Value: Sendable
}
