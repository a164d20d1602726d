// What a non-blocking receive found.

/// The result of ``Chan/tryReceive()``: Go's `select { case v, ok := <-ch: ... default: ... }`.
public enum TryReceiveResult<Element> {
    /// A value was taken.
    case value(Element)
    /// The receive would have blocked: nothing buffered and no sender waiting.
    case empty
    /// The channel is closed and drained.
    case closed

    /// The value, if one was taken.
    @inlinable
    public var value: Element? {
        if case .value(let value) = self { return value }
        return nil
    }
}

extension TryReceiveResult: Sendable where Element: Sendable {}
extension TryReceiveResult: Equatable where Element: Equatable {}
