// The seed's shared variable (共享变量): state owned by one goroutine, read and
// written through channels.
//
// Invariants: only the owning goroutine touches `value`; every read and write
// is a channel operation with it, so they are totally ordered. The goroutine
// stops when the `SharedVariable` is released.

/// A variable owned by one goroutine and reached only through channels (the
/// seed's 共享变量): reads and writes from any number of goroutines are
/// serialised by that owner, with no lock in sight.
///
///     let counter = SharedVariable(0)
///     try await counter.set(1)
///     print(try await counter.get())   // 1
public final class SharedVariable<Value: Sendable>: Sendable {
    private let reads = Chan<Value>()
    private let writes = Chan<Value>()
    private let stopped = Chan<Void>()

    /// Starts the owning goroutine with `initial`: without `on`, on the
    /// runtime of the goroutine that makes the variable (``GoRuntime/shared``
    /// outside goroutines). The goroutine ends when the variable is released.
    public init(_ initial: Value, on runtime: GoRuntime? = nil) {
        let (reads, writes, stopped) = (self.reads, self.writes, self.stopped)
        go(on: runtime) {
            var value = initial
            var running = true
            while running {
                try await select {
                    writes.onReceive { new in if let new { value = new } }
                    reads.onSend(value) {}
                    stopped.onReceive { _ in running = false }
                }
            }
        }
    }

    deinit {
        try? stopped.close()
    }

    /// The current value (Go: `<-v.reader`).
    public func get() async throws -> Value {
        try await reads.receive()!
    }

    /// Replaces the value (Go: `v.writer <- x`).
    public func set(_ value: Value) async throws {
        try await writes.send(value)
    }
}
