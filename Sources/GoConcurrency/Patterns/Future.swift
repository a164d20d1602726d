// The seed's future (Furture技术): start work now, read its result later.
//
// Invariants: `result` is written once, by the working goroutine, before
// `ready` is closed; it is read only after `ready` was seen closed (a receive
// on a closed channel), which orders the write before the read (Guarantees, rule 14).

/// A value being computed by a goroutine (the seed's future): start the work
/// now, read the result later, as many times and from as many tasks as you
/// like; it also waits in a `select` beside channel cases.
///
///     let answer = Future { try await query("select * from table") }
///     ... // other work
///     print(try await answer.value)
///
///     try await select {
///         answer.onReady { result in print(try result.get()) }
///         after(.seconds(1)) { print("timeout") }
///     }
public final class Future<Value: Sendable>: @unchecked Sendable {
    private let ready = Chan<Void>()
    /// Written once before `ready` closes; read after.
    private var result: Result<Value, any Error>?

    /// Starts `work` as a goroutine: without `on`, on the runtime of the
    /// goroutine that makes the future (``GoRuntime/shared`` outside
    /// goroutines).
    ///
    /// The goroutine ends when `work` returns, whether or not anyone reads the
    /// value (it only stores the result and closes a channel, which never
    /// waits): a future nobody reads leaks nothing. To stop work that may
    /// wait for long, let it select on a `done` channel of yours.
    public init(
        on runtime: GoRuntime? = nil,
        file: StaticString = #fileID,
        line: UInt = #line,
        _ work: @escaping @Sendable () async throws -> Value
    ) {
        go(on: runtime, file: file, line: line) { [self] in
            do {
                result = .success(try await work())
            } catch {
                result = .failure(error)
            }
            try ready.close()
        }
    }

    /// Waits for the work and returns its value, or throws its error.
    public var value: Value {
        get async throws {
            _ = try await ready.receive()
            return try result!.get()
        }
    }

    /// Whether the work has finished.
    public var isReady: Bool { ready.isClosed }

    /// A handler of ``onReady(_:)``: gets the work's value or error, on the
    /// task that ran the select.
    public typealias ReadyHandler<R> = nonisolated(nonsending) (Result<Value, any Error>) async throws -> R

    /// A select case that is ready once the work has finished.
    public func onReady<R>(_ handler: @escaping ReadyHandler<R>) -> SelectCase<R> {
        ready.onReceive { [self] _ in try await handler(result!) }
    }
}
