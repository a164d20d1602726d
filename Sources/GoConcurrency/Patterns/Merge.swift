// The seed's multiplexing (多路复用): several channels merged into one.

/// Merges `inputs` into one channel (fan-in): every value of every input
/// arrives on it, each input's values in their order, and it closes once every
/// input has closed and been drained, or once `done` is closed. One forwarding
/// goroutine per input, and one that closes the output.
///
///     let done = Chan<Void>()
///     defer { try? done.close() }   // the forwarders stop when the consumer does
///     for await line in merge([logsA, logsB], done: done.receiveOnly) {
///         if line.contains("FATAL") { break }
///     }
///
/// Once `done` is closed, no forwarder waits for an input or sends a value
/// again: they return, and the output closes. Without `done`, a forwarder
/// waits for its input and for the consumer for as long as they take. Without
/// `on` they run on the runtime of the goroutine that calls `merge`
/// (``GoRuntime/shared`` outside goroutines).
public func merge<Element: Sendable>(
    _ inputs: [ReceiveOnlyChan<Element>],
    bufferSize: Int = 0,
    done: ReceiveOnlyChan<Void>? = nil,
    on runtime: GoRuntime? = nil
) -> ReceiveOnlyChan<Element> {
    let out = Chan<Element>(capacity: bufferSize)
    let forwarding = Sync.WaitGroup()
    for input in inputs {
        forwarding.go(on: runtime) {
            while let value = try await receive(from: input, unlessDone: done) {
                guard try await send(value, on: out, unlessDone: done) else { return }
            }
        }
    }
    go(on: runtime) {
        try await forwarding.wait()
        try out.close()
    }
    return out.receiveOnly
}

/// Merges `inputs` into one channel; see `merge(_:bufferSize:done:on:)`.
public func merge<Element: Sendable>(
    _ inputs: ReceiveOnlyChan<Element>...,
    bufferSize: Int = 0,
    done: ReceiveOnlyChan<Void>? = nil,
    on runtime: GoRuntime? = nil
) -> ReceiveOnlyChan<Element> {
    merge(inputs, bufferSize: bufferSize, done: done, on: runtime)
}
