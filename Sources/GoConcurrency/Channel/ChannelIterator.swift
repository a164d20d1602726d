// `for await value in channel`: receive until closed and drained.

/// Iterates a channel's values until it is closed and drained (Go's
/// `for v := range ch`).
///
/// Iteration also ends, without consuming a value, when the iterating task is
/// cancelled while waiting: the value it would have received stays in the
/// channel for another receiver.
public struct ChannelIterator<Element: Sendable>: AsyncIteratorProtocol {
    @usableFromInline let storage: ChannelStorage<Element>

    @inlinable
    init(storage: ChannelStorage<Element>) {
        self.storage = storage
    }

    @inlinable @inline(__always)
    public mutating func next() async -> Element? {
        try? await storage.receive(at: SourceLocation(fileID: #fileID, line: #line)) ?? nil
    }

    /// `for await`'s call. It runs where its caller runs
    /// (`nonisolated(nonsending)`), as `receive` does, rather than isolated
    /// to `actor`, which is that same place: isolated to a parameter, the
    /// function inlined into the loop left a hop back to the caller's
    /// executor after every value (a `swift_task_switch`, which on a task
    /// with an executor preference looks the preference up under the task's
    /// status-record lock), where `while let v = try await ch.receive()`
    /// makes none. Called through the protocol (generic code), the
    /// conformance's thunk hops to `actor` first, as before.
    @inlinable @inline(__always)
    nonisolated(nonsending) public mutating func next(isolation actor: (any Actor)?) async -> Element? {
        try? await storage.receive(at: SourceLocation(fileID: #fileID, line: #line)) ?? nil
    }
}

extension Chan: AsyncSequence {
    public typealias AsyncIterator = ChannelIterator<Element>
    public typealias Failure = Never

    @inlinable
    public func makeAsyncIterator() -> ChannelIterator<Element> {
        ChannelIterator(storage: storage)
    }
}

extension ReceiveOnlyChan: AsyncSequence {
    public typealias AsyncIterator = ChannelIterator<Element>
    public typealias Failure = Never

    @inlinable
    public func makeAsyncIterator() -> ChannelIterator<Element> {
        ChannelIterator(storage: storage)
    }
}
