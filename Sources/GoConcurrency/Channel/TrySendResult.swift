// What a non-blocking send did.

/// The result of ``Chan/trySend(_:)``: Go's `select { case ch <- v: ... default: ... }`.
public enum TrySendResult: Sendable, Equatable {
    /// The value was buffered or handed to a waiting receiver.
    case sent
    /// The send would have blocked: the buffer is full, or (unbuffered) no
    /// receiver is waiting. The value was not sent.
    case full
    /// The channel is closed. The value was not sent.
    case closed
}
