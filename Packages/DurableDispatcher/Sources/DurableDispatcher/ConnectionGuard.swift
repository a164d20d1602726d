// ConnectionGuard: every statement the store runs is raced against its
// connection's closing. postgres-nio 1.33.2 writes a query to its channel
// without watching the write: a query on a connection that has just closed
// (a database restart ends every session) is never answered — it neither
// returns nor throws — and the task awaiting it waits for ever. The chaos
// test caught a worker holding a job `running` that way after a restart,
// alive and heartbeating, so never rescued. Here the awaiting caller gets
// `DatabaseConnectionLost` as soon as the connection's close future fires;
// the abandoned query's task stays suspended (a few hundred bytes) and the
// pool drops the closed connection when the lease ends.
//
// One close observer per connection (`ConnectionWatch`), not one per
// statement: a future's callbacks are never removed, and a connection lives
// as long as the process.
//
// Invariants:
// - `ResumeOnce.resume` runs its continuation once, whichever of the body
//   and the connection's closing comes first; the other finds it taken.
// - A connection has at most one watch in `ConnectionWatch.watches`, from
//   its first guarded statement until 200 ms after it closes; the watch's
//   close callback (registered once) then resumes every pending racer with
//   `DatabaseConnectionLost` and removes the watch. A racer is pending from
//   its start until it is resumed.
import NIOCore
import PostgresNIO
import Synchronization

/// The connection closed before the statement was answered (a database
/// restart, say): whether it took effect is unknown. Every outcome the
/// store records is fenced, so retrying it is safe.
public struct DatabaseConnectionLost: Error, CustomStringConvertible {
    public var description: String { "the database connection closed before the statement was answered" }
}

extension PostgresConnection {
    /// Runs `body`, which uses this connection, and returns its value, or
    /// throws ``DatabaseConnectionLost`` once the connection closes first.
    func untilClosed<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
        if isClosed { throw DatabaseConnectionLost() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Value, any Error>) in
            let once = ResumeOnce(continuation)
            let (watch, key) = ConnectionWatch.register(self) { once.resume(with: .failure(DatabaseConnectionLost())) }
            Task {
                let result: Result<Value, any Error>
                do {
                    result = .success(try await body())
                } catch {
                    result = .failure(error)
                }
                watch.remove(key)
                once.resume(with: result)
            }
        }
    }
}

/// The racers waiting on one connection, and its single close callback.
final class ConnectionWatch: Sendable {
    private struct State {
        var next: UInt64 = 0
        var pending: [UInt64: @Sendable () -> Void] = [:]
        var closed = false
    }

    private let state = Mutex(State())
    private static let watches = Mutex<[ObjectIdentifier: ConnectionWatch]>([:])

    /// Adds `onClose` to `connection`'s watch (made on first use); returns
    /// the watch and the key to remove it with. Runs `onClose` at once if
    /// the connection has closed already.
    static func register(_ connection: PostgresConnection, _ onClose: @escaping @Sendable () -> Void) -> (ConnectionWatch, UInt64) {
        let id = ObjectIdentifier(connection)
        let (watch, made) = watches.withLock { watches -> (ConnectionWatch, Bool) in
            if let watch = watches[id] { return (watch, false) }
            let watch = ConnectionWatch()
            watches[id] = watch
            return (watch, true)
        }
        let key = watch.add(onClose)
        if made {
            // A statement's answer and the session's end can arrive in one
            // read (a server shutting down answers, then ends the session):
            // the close callback then runs before the task awaiting the
            // answer resumes. The racers lose only after a moment, so an
            // answer already delivered wins; an unanswered statement waits
            // that much longer.
            let loop = connection.eventLoop
            connection.closeFuture.whenComplete { _ in
                loop.scheduleTask(in: .milliseconds(200)) {
                    watches.withLock { _ = $0.removeValue(forKey: id) }
                    watch.close()
                }
            }
        }
        return (watch, key)
    }

    private func add(_ onClose: @escaping @Sendable () -> Void) -> UInt64 {
        let (key, closed) = state.withLock { state -> (UInt64, Bool) in
            state.next += 1
            if !state.closed { state.pending[state.next] = onClose }
            return (state.next, state.closed)
        }
        if closed { onClose() }
        return key
    }

    func remove(_ key: UInt64) {
        state.withLock { _ = $0.pending.removeValue(forKey: key) }
    }

    private func close() {
        let pending = state.withLock { state in
            state.closed = true
            defer { state.pending = [:] }
            return state.pending
        }
        for onClose in pending.values { onClose() }
    }
}

/// A continuation resumed by the first of several racers.
private final class ResumeOnce<Value: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<Value, any Error>?>

    init(_ continuation: CheckedContinuation<Value, any Error>) {
        self.continuation = Mutex(continuation)
    }

    func resume(with result: Result<Value, any Error>) {
        let taken = continuation.withLock { slot in
            defer { slot = nil }
            return slot
        }
        taken?.resume(with: result)
    }
}

extension JobStore {
    /// Runs `body` on a pooled connection, raced against its closing.
    func guarded<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        try await client.withConnection { connection in
            try await connection.untilClosed { try await body(connection) }
        }
    }

    /// Runs `query` on a pooled connection and returns all its rows, or
    /// throws ``DatabaseConnectionLost``.
    func rows(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = logger
        return try await guarded { connection in
            try await connection.query(query, logger: logger).collect()
        }
    }

    /// Runs one statement on a pooled connection and returns its rows, or
    /// throws ``DatabaseConnectionLost`` if the connection closes before it
    /// is answered (postgres-nio would wait for ever): for handlers' own
    /// statements outside ``JobContext/completeInTransaction(_:)``.
    public func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        try await rows(query)
    }

    /// Runs `body` in a transaction on a pooled connection, raced against
    /// the connection's closing.
    func transaction<Value: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> Value) async throws -> Value {
        let logger = logger
        return try await guarded { connection in
            try await connection.withTransaction(logger: logger) { try await body($0) }
        }
    }
}
