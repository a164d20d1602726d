// The send side of a channel: Go's `chan<- T`.

/// A view of a ``Chan`` that can only send and close (Go: `chan<- T`).
/// Receiving from it does not compile. Get one from ``Chan/sendOnly``.
public struct SendOnlyChan<Element: Sendable>: Sendable, Hashable {
    @usableFromInline let storage: ChannelStorage<Element>

    @inlinable
    init(storage: ChannelStorage<Element>) {
        self.storage = storage
    }

    /// See ``Chan/send(_:file:line:)``.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func send(_ value: Element, file: StaticString = #fileID, line: UInt = #line) async throws {
        try await storage.send(value, at: SourceLocation(fileID: file, line: line))
    }

    /// See ``Chan/trySend(_:)``.
    @inlinable
    public func trySend(_ value: Element) -> TrySendResult { storage.trySend(value) }

    /// See ``Chan/blockingSend(_:file:line:)``.
    @inlinable
    public func blockingSend(_ value: Element, file: StaticString = #fileID, line: UInt = #line) throws {
        try storage.blockingSend(value, at: SourceLocation(fileID: file, line: line))
    }

    /// See ``Chan/close()``.
    @inlinable
    public func close() throws { try storage.close() }

    @inlinable public var count: Int { storage.count }
    @inlinable public var capacity: Int { storage.reportedCapacity }
    @inlinable public var isClosed: Bool { storage.isClosed }

    /// See ``Chan/onSend(_:_:)-(_,SelectHandler<Result>)``.
    @inlinable
    public func onSend<Result>(_ value: Element, _ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
        ChannelCase.send(value, to: storage, .async(handler))
    }

    /// See ``Chan/onSend(_:_:)-(_,()->Result)``.
    @inlinable
    public func onSend<Result>(_ value: Element, _ handler: @escaping () throws -> Result) -> SelectCase<Result> {
        ChannelCase.send(value, to: storage, .sync(handler))
    }

    @inlinable
    public static func == (a: Self, b: Self) -> Bool { a.storage === b.storage }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(storage)) }
}
