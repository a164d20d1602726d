// The seed's generator: a function that returns a channel fed by a goroutine.
//
// Invariants: the producing goroutine stops, and closes the channel, when its
// body returns, when the `Generator` (the consumer's handle) is released or
// stopped, or when the `done` channel it was given is closed; a `yield`
// blocked then returns false, so no goroutine is left parked for ever on a
// channel nobody reads.

/// A stream of values produced by a goroutine on demand (the seed's 生成器):
/// each `yield` waits until the consumer takes the value, as an unbuffered
/// channel does.
///
///     let random = Generator<Int> { yield in
///         while try await yield(Int.random(in: 0...9)) {}
///     }
///     print(try await random.next()!)
///     for await value in random { ... }
///
/// `yield` returns true while someone may still take values and false once the
/// `Generator` has been released, ``stop()`` called or `done` closed: the body
/// should then return. Its goroutine ends there and the channel closes, so
/// dropping a generator leaks nothing. Keep the `Generator` for as long as you
/// consume: holding only its ``channel`` does not keep the producer running.
///
/// At the head of a pipeline whose stages share a `done` channel (see
/// ``stage(_:bufferSize:done:on:_:)``), give it the same one: closing it stops
/// them all.
public final class Generator<Element: Sendable>: AsyncSequence, Sendable {
    public typealias AsyncIterator = ChannelIterator<Element>
    public typealias Failure = Never

    /// What the consumer receives from; closed when the producer returns.
    public let channel: ReceiveOnlyChan<Element>
    private let stopped: Chan<Void>

    /// Starts `body` as a goroutine; `bufferSize` values may be produced ahead.
    /// Once `done` is closed, `yield` returns false. Without `on`, the
    /// goroutine runs on the runtime of the goroutine that makes the
    /// generator (``GoRuntime/shared`` outside goroutines).
    public init(
        bufferSize: Int = 0,
        done: ReceiveOnlyChan<Void>? = nil,
        on runtime: GoRuntime? = nil,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ body: @escaping @Sendable (_ yield: @Sendable (Element) async throws -> Bool) async throws -> Void
    ) {
        let out = Chan<Element>(capacity: bufferSize)
        let stopped = Chan<Void>()
        self.channel = out.receiveOnly
        self.stopped = stopped
        go(on: runtime, file: file, line: line) {
            defer { try? out.close() }
            try await body { value in
                if done?.isClosed == true { return false }
                return try await select {
                    out.onSend(value) { true }
                    stopped.onReceive { _ in false }
                    done?.onReceive { _ in false }
                }
            }
        }
    }

    deinit {
        stop()
    }

    /// Tells the producer to stop: its next (or current) `yield` returns false.
    public func stop() {
        try? stopped.close()
    }

    /// The next value, or nil once the producer has finished.
    public func next() async throws -> Element? {
        try await channel.receive()
    }

    public func makeAsyncIterator() -> ChannelIterator<Element> {
        channel.makeAsyncIterator()
    }
}
