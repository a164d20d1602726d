// The seed's chain filter: stages connected by channels.

/// A pipeline stage (the seed's chain filter): a goroutine that receives every
/// value of `input`, sends `transform(value)` on the returned channel unless it
/// is nil (nil drops the value), and closes that channel once `input` is
/// closed and drained, or once `done` is closed.
///
///     // The seed's prime sieve: each prime adds a stage that drops its multiples.
///     let done = Chan<Void>()
///     defer { try? done.close() }   // the stages stop when the consumer does
///     let naturals = Generator<Int>(done: done.receiveOnly) { yield in
///         var i = 2
///         while try await yield(i) { i += 1 }
///     }
///     var numbers = naturals.channel
///     for _ in 0..<10 {
///         let prime = try await numbers.receive()!
///         print(prime)
///         numbers = stage(numbers, done: done.receiveOnly) { $0 % prime == 0 ? nil : $0 }
///     }
///
/// A stage runs until its input closes: a consumer that stops reading early
/// closes `done` (Go's "pipelines and cancellation"), and then the stage
/// neither waits for a value nor sends one again; its goroutine returns and
/// the output closes. Without `done` it waits for its input or its consumer
/// for as long as they take. Without `on` it runs on the runtime of the
/// goroutine that calls `stage` (``GoRuntime/shared`` outside goroutines).
public func stage<Input: Sendable, Output: Sendable>(
    _ input: ReceiveOnlyChan<Input>,
    bufferSize: Int = 0,
    done: ReceiveOnlyChan<Void>? = nil,
    on runtime: GoRuntime? = nil,
    _ transform: @escaping @Sendable (Input) async throws -> Output?
) -> ReceiveOnlyChan<Output> {
    let out = Chan<Output>(capacity: bufferSize)
    go(on: runtime) {
        defer { try? out.close() }
        while let value = try await receive(from: input, unlessDone: done) {
            if let transformed = try await transform(value) {
                guard try await send(transformed, on: out, unlessDone: done) else { return }
            }
        }
    }
    return out.receiveOnly
}
