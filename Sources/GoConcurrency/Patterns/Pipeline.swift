// The seed's chain filter: stages connected by channels.

/// A pipeline stage (the seed's chain filter): a goroutine that receives every
/// value of `input`, sends `transform(value)` on the returned channel unless it
/// is nil (nil drops the value), and closes that channel once `input` is
/// closed and drained.
///
///     // The seed's prime sieve: each prime adds a stage that drops its multiples.
///     let naturals = Generator<Int> { yield in
///         var i = 2
///         while try await yield(i) { i += 1 }
///     }
///     var numbers = naturals.channel
///     for _ in 0..<10 {
///         let prime = try await numbers.receive()!
///         print(prime)
///         numbers = stage(numbers) { $0 % prime == 0 ? nil : $0 }
///     }
public func stage<Input: Sendable, Output: Sendable>(
    _ input: ReceiveOnlyChan<Input>,
    bufferSize: Int = 0,
    on runtime: GoRuntime? = nil,
    _ transform: @escaping @Sendable (Input) async throws -> Output?
) -> ReceiveOnlyChan<Output> {
    let out = Chan<Output>(capacity: bufferSize)
    go(on: runtime) {
        defer { try? out.close() }
        for await value in input {
            if let transformed = try await transform(value) {
                try await out.send(transformed)
            }
        }
    }
    return out.receiveOnly
}
