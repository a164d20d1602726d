// JobHandling: what a worker process runs — handlers registered by kind, the
// context a handler gets (the fetched job, a cancellable Context, the store,
// transactional completion), and the outcomes a handler returns.
import GoConcurrency
import PostgresNIO
import Synchronization

/// What a handler decided about its job's attempt. A handler that throws
/// fails the attempt (the error's description joins the job's errors; it
/// retries after the backoff, or is discarded once out of attempts).
public enum JobOutcome: Sendable, Equatable {
    /// Done: the job is completed.
    case complete
    /// Not now: the job runs again after `delay`, and this attempt does not
    /// count.
    case snooze(Duration)
    /// Never: the job is finalized as cancelled, with `reason` in its errors.
    case cancel(reason: String)
}

/// Runs one attempt of a job. Throwing fails the attempt.
public typealias JobHandler = @Sendable (JobContext) async throws -> JobOutcome

/// The handlers of a worker process, by job kind. A job whose kind has no
/// handler here fails its attempt (another process may know it, and the
/// retries give a deployment time to roll out).
public struct JobHandlers: Sendable {
    var byKind: [String: JobHandler] = [:]

    public init() {}

    /// Handles jobs of `kind` with `handler` (replacing an earlier one).
    public mutating func register(_ kind: String, _ handler: @escaping JobHandler) {
        byKind[kind] = handler
    }

    /// Handles jobs of `kind` whose arguments decode as `Args`; a job whose
    /// arguments do not decode fails its attempt.
    public mutating func register<Args: Decodable & Sendable>(
        _ kind: String, as _: Args.Type,
        _ handler: @escaping @Sendable (Args, JobContext) async throws -> JobOutcome
    ) {
        byKind[kind] = { context in
            try await handler(try context.job.args(as: Args.self), context)
        }
    }

    /// The kinds handled.
    public var kinds: [String] { byKind.keys.sorted() }
}

/// What a handler gets: the job, a context to honour, the store.
public struct JobContext: Sendable {
    /// The job and this attempt (number, owner, start: the fence).
    public let job: FetchedJob
    /// Done when the job should stop: its cancel was requested by id, or the
    /// process is shutting down and the grace period has run out (the
    /// attempt is then handed back, not failed). Pass it on to everything
    /// the handler waits for.
    public let context: Context
    /// The store the job came from (to enqueue follow-up jobs, say).
    public let store: JobStore
    let completion: TransactionalCompletion

    /// Runs `body` and this attempt's completion in one transaction: the
    /// handler's own writes on `connection` commit if and only if the job
    /// is completed by them (exactly once for database side effects). When
    /// the attempt is no longer the live one (rescued meanwhile), everything
    /// rolls back and the result is `.fenced`. Afterwards the handler's
    /// returned outcome is not recorded again (return `.complete`). An
    /// error thrown by `body` rolls back and is rethrown; a connection that
    /// closes meanwhile (a database restart) throws
    /// ``DatabaseConnectionLost``, and the attempt fails (its writes, if they
    /// committed, are the completion's too).
    public func completeInTransaction<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Value
    ) async throws -> (CompletionResult, Value?) {
        let (result, value) = try await store.completeInTransaction(job, body)
        completion.record(result)
        return (result, value)
    }
}

/// Whether a handler already recorded its attempt's completion inside its
/// own transaction.
final class TransactionalCompletion: Sendable {
    private let result = Mutex<CompletionResult?>(nil)

    func record(_ value: CompletionResult) {
        result.withLock { $0 = value }
    }

    var recorded: CompletionResult? { result.withLock { $0 } }
}

/// A job's context was cancelled because its cancel was requested by id.
public struct JobCancelRequested: Error, CustomStringConvertible {
    public let id: JobID
    public var description: String { "cancel of \(id) requested" }
}

/// A job's kind has no handler in this process.
public struct UnknownJobKind: Error, CustomStringConvertible {
    public let kind: String
    public var description: String { "no handler for job kind \"\(kind)\" in this process" }
}
