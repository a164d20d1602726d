// The errors a correct-looking program can race into on a channel.

/// An operation that a closed channel refuses. Go panics in these cases; in
/// GoConcurrency they are thrown, so that a producer racing a `close` can
/// recover.
public enum ChannelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A send on a closed channel, or a sender parked when the channel closed.
    /// The value was not delivered.
    case sendOnClosedChannel
    /// `close` of a channel that is already closed. The second close changes nothing.
    case closeOfClosedChannel

    public var description: String {
        switch self {
        case .sendOnClosedChannel: "send on closed channel"
        case .closeOfClosedChannel: "close of closed channel"
        }
    }
}
