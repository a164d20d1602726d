// Go's channel: `make(chan T)` and `make(chan T, n)` in one Swift type.

/// A typed conduit between goroutines (or tasks, or threads): Go's `chan`.
///
///     let messages = Chan<String>()               // unbuffered: make(chan string)
///     let queue = Chan<String>(capacity: 2)       // buffered:   make(chan string, 2)
///     go { try await messages.send("ping") }       // messages <- "ping"
///     let message = try await messages.receive()   // message := <-messages
///
/// A channel is a reference: copies of a `Chan` are the same channel, and two
/// `Chan` values compare equal when they are the same channel.
///
/// - An unbuffered send completes when a receiver has taken the value; a
///   buffered send completes when the value is in the buffer.
/// - `receive()` returns `nil` once the channel is closed and drained (Go's
///   `v, ok := <-ch` with `ok == false`).
/// - A send on a closed channel throws ``ChannelError/sendOnClosedChannel``.
/// - A task cancelled while blocked stops waiting and throws
///   `CancellationError`; the cancelled operation did not happen (a cancelled
///   send delivered nothing, a cancelled receive consumed nothing). An
///   operation that can complete without waiting completes even in a
///   cancelled task.
/// - `for await value in channel` receives until the channel is closed and
///   drained.
/// - The same channel works from any task, actor or OS thread (see
///   ``blockingSend(_:file:line:)``).
public struct Chan<Element: Sendable>: Sendable {
    @usableFromInline let storage: ChannelStorage<Element>

    /// Makes a channel that buffers up to `capacity` values; 0 (the default)
    /// makes an unbuffered channel, whose sends wait for a receiver.
    ///
    /// The buffer is allocated now, as Go's is: `capacity` times the
    /// element's stride in bytes (nothing for values of zero size, such as
    /// `Void`).
    ///
    /// - Precondition: `capacity >= 0`, and the buffer fits in the machine's
    ///   physical memory; otherwise the program ends with Go's
    ///   "panic: makechan: size out of range".
    @inlinable
    public init(capacity: Int = 0) {
        storage = ChannelStorage(capacity: capacity)
    }

    /// Sends `value`, waiting while the channel is full (Go: `ch <- value`).
    ///
    /// - Throws: ``ChannelError/sendOnClosedChannel`` if the channel is closed,
    ///   also when it closes while this send waits; the value was not
    ///   delivered. `CancellationError` if the task is cancelled while waiting.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func send(_ value: Element, file: StaticString = #fileID, line: UInt = #line) async throws {
        try await storage.send(value, at: SourceLocation(fileID: file, line: line))
    }

    /// Receives a value, waiting while the channel is empty (Go: `v, ok := <-ch`).
    ///
    /// - Returns: The value, or `nil` once the channel is closed and drained.
    /// - Throws: `CancellationError` if the task is cancelled while waiting.
    @inlinable @inline(__always)
    public nonisolated(nonsending) func receive(file: StaticString = #fileID, line: UInt = #line) async throws -> Element? {
        try await storage.receive(at: SourceLocation(fileID: file, line: line))
    }

    /// Sends without waiting: Go's `select { case ch <- v: default: }`.
    @inlinable
    public func trySend(_ value: Element) -> TrySendResult {
        storage.trySend(value)
    }

    /// Receives without waiting: Go's `select { case v, ok := <-ch: default: }`.
    @inlinable
    public func tryReceive() -> TryReceiveResult<Element> {
        storage.tryReceive()
    }

    /// Sends from a plain OS thread, blocking the thread (not a task) while the
    /// channel is full: for C callbacks and synchronous code that feed a
    /// channel with back-pressure. Do not call it from a task: it would block
    /// one of the executor's threads.
    ///
    /// - Throws: ``ChannelError/sendOnClosedChannel``.
    @inlinable
    public func blockingSend(_ value: Element, file: StaticString = #fileID, line: UInt = #line) throws {
        try storage.blockingSend(value, at: SourceLocation(fileID: file, line: line))
    }

    /// Receives on a plain OS thread, blocking the thread while the channel is
    /// empty. Returns `nil` once the channel is closed and drained.
    @inlinable
    public func blockingReceive(file: StaticString = #fileID, line: UInt = #line) -> Element? {
        storage.blockingReceive(at: SourceLocation(fileID: file, line: line))
    }

    /// Tells the deadlock detector that code outside goroutines (a thread, a
    /// C callback, a plain task the goroutines did not start) holds this
    /// channel and may use it later, so a goroutine waiting on it is never
    /// reported as stuck.
    ///
    /// Needed only for a channel made by a goroutine and handed to such code
    /// before that code first uses it; using it from outside (parking on it,
    /// `blockingSend`, `blockingReceive`) says the same. See "Debugging stuck
    /// programs".
    public func markUsedOutsideGoroutines() {
        storage.shareWithOutside()
    }

    /// Closes the channel (Go: `close(ch)`): no more values will be sent.
    /// Receivers drain what is buffered and then get `nil`; every parked
    /// receiver gets `nil` at once; every parked sender throws
    /// ``ChannelError/sendOnClosedChannel``.
    ///
    /// - Throws: ``ChannelError/closeOfClosedChannel`` if it was already closed
    ///   (Go panics); the channel stays closed and nothing else changes.
    @inlinable
    public func close() throws {
        try storage.close()
    }

    /// The number of values in the buffer (Go: `len(ch)`).
    @inlinable
    public var count: Int { storage.count }

    /// The size of the buffer; 0 for an unbuffered channel (Go: `cap(ch)`).
    @inlinable
    public var capacity: Int { storage.reportedCapacity }

    /// Whether `close()` has been called.
    @inlinable
    public var isClosed: Bool { storage.isClosed }

    /// This channel, restricted to sending (Go: `chan<- T`).
    @inlinable
    public var sendOnly: SendOnlyChan<Element> { SendOnlyChan(storage: storage) }

    /// This channel, restricted to receiving (Go: `<-chan T`).
    @inlinable
    public var receiveOnly: ReceiveOnlyChan<Element> { ReceiveOnlyChan(storage: storage) }

    /// A select case that receives from this channel: Go's `case v, ok := <-ch:`.
    /// `handler` gets the value, or `nil` if the channel is closed and drained.
    @inlinable
    public func onReceive<Result>(_ handler: @escaping ReceiveHandler<Element, Result>) -> SelectCase<Result> {
        ChannelCase.receive(from: storage, handler)
    }

    /// A receive case whose handler does not suspend (has no `await`): the
    /// select calls it itself, with no async call in between. Swift picks
    /// this one for such a closure.
    @inlinable
    public func onReceive<Result>(_ handler: @escaping (Element?) throws -> Result) -> SelectCase<Result> {
        ChannelCase.receive(from: storage, synchronous: handler)
    }

    /// A select case that sends `value` on this channel: Go's `case ch <- value:`.
    /// `value` is evaluated when the select starts, whether or not the case is
    /// chosen.
    @inlinable
    public func onSend<Result>(_ value: Element, _ handler: @escaping SelectHandler<Result>) -> SelectCase<Result> {
        ChannelCase.send(value, to: storage, .async(handler))
    }

    /// A send case whose handler does not suspend: the select calls it itself.
    @inlinable
    public func onSend<Result>(_ value: Element, _ handler: @escaping () throws -> Result) -> SelectCase<Result> {
        ChannelCase.send(value, to: storage, .sync(handler))
    }
}

extension Chan: Hashable {
    @inlinable
    public static func == (a: Chan, b: Chan) -> Bool { a.storage === b.storage }

    @inlinable
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(storage)) }
}

extension Optional {
    /// A receive case on an optional channel: disabled when the channel is
    /// `nil`, as Go's nil channel is. (`channel?.onReceive { }` says the same.)
    @inlinable
    public func onReceive<Element, Result>(
        _ handler: @escaping ReceiveHandler<Element, Result>
    ) -> SelectCase<Result> where Wrapped == Chan<Element> {
        self?.onReceive(handler) ?? .disabled
    }

    /// The same, with a handler that does not suspend.
    @inlinable
    public func onReceive<Element, Result>(
        _ handler: @escaping (Element?) throws -> Result
    ) -> SelectCase<Result> where Wrapped == Chan<Element> {
        self?.onReceive(handler) ?? .disabled
    }

    /// A send case on an optional channel: disabled when the channel is `nil`.
    /// Unlike `channel?.onSend(value)`, which skips evaluating `value` when the
    /// channel is `nil`, this evaluates it on entry either way, as Go does
    /// (Guarantees, rule 16).
    @inlinable
    public func onSend<Element, Result>(
        _ value: Element, _ handler: @escaping SelectHandler<Result>
    ) -> SelectCase<Result> where Wrapped == Chan<Element> {
        self?.onSend(value, handler) ?? .disabled
    }

    /// The same, with a handler that does not suspend.
    @inlinable
    public func onSend<Element, Result>(
        _ value: Element, _ handler: @escaping () throws -> Result
    ) -> SelectCase<Result> where Wrapped == Chan<Element> {
        self?.onSend(value, handler) ?? .disabled
    }
}
