// The receive side of a channel: Go's `<-chan T`.

/// A view of a ``Chan`` that can only receive (Go: `<-chan T`). Sending to it
/// or closing it does not compile. Get one from ``Chan/receiveOnly``.
public struct ReceiveOnlyChan<Element: Sendable>: Sendable, Hashable {
    @usableFromInline let storage: ChannelStorage<Element>

    @inlinable
    init(storage: ChannelStorage<Element>) {
        self.storage = storage
    }

    /// See ``Chan/receive(file:line:)``.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func receive(file: StaticString = #fileID, line: UInt = #line) async throws -> Element? {
        try await storage.receive(at: SourceLocation(fileID: file, line: line))
    }

    /// See ``Chan/tryReceive()``.
    @inlinable
    public func tryReceive() -> TryReceiveResult<Element> { storage.tryReceive() }

    /// See ``Chan/blockingReceive(file:line:)``.
    @inlinable
    public func blockingReceive(file: StaticString = #fileID, line: UInt = #line) -> Element? {
        storage.blockingReceive(at: SourceLocation(fileID: file, line: line))
    }

    @inlinable public var count: Int { storage.count }
    @inlinable public var capacity: Int { storage.reportedCapacity }
    @inlinable public var isClosed: Bool { storage.isClosed }

    /// See ``Chan/onReceive(_:)-(ReceiveHandler<Element,Result>)``.
    @inlinable
    public func onReceive<Result>(_ handler: @escaping ReceiveHandler<Element, Result>) -> SelectCase<Result> {
        ChannelCase.receive(from: storage, handler)
    }

    /// See ``Chan/onReceive(_:)-((Element?)->Result)``.
    @inlinable
    public func onReceive<Result>(_ handler: @escaping (Element?) throws -> Result) -> SelectCase<Result> {
        ChannelCase.receive(from: storage, synchronous: handler)
    }

    @inlinable
    public static func == (a: Self, b: Self) -> Bool { a.storage === b.storage }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(storage)) }
}
