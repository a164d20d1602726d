// The seed's multiplexing (多路复用): several channels merged into one.

/// Merges `inputs` into one channel (fan-in): every value of every input
/// arrives on it, each input's values in their order, and it closes once every
/// input has closed and been drained. One forwarding goroutine per input.
///
///     let all = merge([logsA, logsB])
///     for await line in all { print(line) }
public func merge<Element: Sendable>(
    _ inputs: [ReceiveOnlyChan<Element>],
    bufferSize: Int = 0,
    on runtime: GoRuntime? = nil
) -> ReceiveOnlyChan<Element> {
    let out = Chan<Element>(capacity: bufferSize)
    let forwarding = Sync.WaitGroup()
    for input in inputs {
        forwarding.go(on: runtime) {
            for await value in input {
                try await out.send(value)
            }
        }
    }
    go(on: runtime) {
        try await forwarding.wait()
        try out.close()
    }
    return out.receiveOnly
}

/// Merges `inputs` into one channel; see `merge(_:bufferSize:on:)`.
public func merge<Element: Sendable>(
    _ inputs: ReceiveOnlyChan<Element>...,
    bufferSize: Int = 0,
    on runtime: GoRuntime? = nil
) -> ReceiveOnlyChan<Element> {
    merge(inputs, bufferSize: bufferSize, on: runtime)
}
