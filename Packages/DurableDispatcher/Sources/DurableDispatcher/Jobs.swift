// Jobs: the values a store hands out and takes back — ids, what to enqueue,
// a fetched job (with the attempt that fences its outcome), and the results
// of enqueue, complete and fail.
import Foundation

/// A job's id (`gc_jobs.id`).
public struct JobID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int64
    public init(_ rawValue: Int64) { self.rawValue = rawValue }
    public var description: String { "job \(rawValue)" }
}

/// A registered worker process (`gc_workers.id`): the owner of the jobs it
/// fetched.
public struct WorkerID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "worker \(rawValue)" }
}

/// When an enqueued job becomes runnable.
public enum JobSchedule: Sendable, Equatable {
    /// At once.
    case now
    /// This long after the database's `now()` (no client clock involved).
    case after(Duration)
}

/// How to enqueue a job, besides its kind and arguments.
public struct EnqueueOptions: Sendable {
    /// The queue, 1 to 127 characters.
    public var queue: String
    /// 1 (first) to 4 (last).
    public var priority: Int16
    public var schedule: JobSchedule
    /// Attempts before the job is discarded, at least 1.
    public var maxAttempts: Int16
    /// At most one live (available, scheduled, running or retryable) job per
    /// key; a completed, cancelled or discarded job frees its key.
    public var uniqueKey: String?

    public init(
        queue: String = "default", priority: Int16 = 1, schedule: JobSchedule = .now,
        maxAttempts: Int16 = 20, uniqueKey: String? = nil
    ) {
        self.queue = queue
        self.priority = priority
        self.schedule = schedule
        self.maxAttempts = maxAttempts
        self.uniqueKey = uniqueKey
    }
}

/// What an enqueue did.
public enum EnqueueResult: Sendable, Hashable {
    /// A new job.
    case inserted(JobID)
    /// A live job with the same unique key exists; this is its id.
    case duplicate(JobID)

    public var id: JobID {
        switch self {
        case .inserted(let id), .duplicate(let id): id
        }
    }
}

/// A job fetched for one attempt: now `running`, owned by the fetching
/// worker. Its `id`, `attempt`, `owner` and `attemptedAtMicros` fence the
/// outcome.
public struct FetchedJob: Sendable {
    public let id: JobID
    public let queue: String
    public let kind: String
    /// The arguments as JSON text.
    public let argsJSON: String
    /// This attempt's number, from 1.
    public let attempt: Int16
    public let maxAttempts: Int16
    public let priority: Int16
    /// The job's metadata as JSON text.
    public let metadataJSON: String
    public let owner: WorkerID
    /// When this attempt began (the database's clock), in microseconds
    /// since 1970: part of the fence.
    public let attemptedAtMicros: Int64

    var fence: Fence {
        Fence(id: id.rawValue, attempt: attempt, owner: owner.rawValue, attemptedAtMicros: attemptedAtMicros)
    }

    /// The arguments decoded from their JSON.
    public func args<Args: Decodable>(as type: Args.Type = Args.self) throws -> Args {
        try JSONDecoder().decode(Args.self, from: Data(argsJSON.utf8))
    }
}

/// What recording a completion did.
public enum CompletionResult: Sendable, Equatable {
    case completed
    /// The attempt was no longer the live one (rescued, cancelled or handed
    /// back meanwhile); nothing was written.
    case fenced
}

/// What recording a failure did.
public enum FailureResult: Sendable, Equatable {
    /// The job runs again at `scheduledAt` (the database's clock), `backoff`
    /// seconds after the failure.
    case retryable(scheduledAt: Date, backoffSeconds: Double)
    /// The attempts are exhausted; the job is finalized with its errors.
    case discarded
    /// A cancel was requested while the attempt ran: the job is finalized
    /// as cancelled, with this failure in its errors.
    case cancelled
    /// The attempt was no longer the live one; nothing was written.
    case fenced
}

/// What recording a snooze did.
public enum SnoozeResult: Sendable, Equatable {
    /// The job runs again at `scheduledAt` (the database's clock), with the
    /// attempt it had before this one.
    case scheduled(at: Date)
    /// A cancel was requested while the attempt ran: the job is finalized
    /// as cancelled instead.
    case cancelled
    /// The attempt was no longer the live one; nothing was written.
    case fenced
}

/// How many jobs of one queue are in one state.
public struct JobCount: Sendable, Hashable {
    public let queue: String
    /// `available`, `scheduled`, `running`, `retryable`, `completed`,
    /// `cancelled` or `discarded`.
    public let state: String
    public let count: Int64

    public init(queue: String, state: String, count: Int64) {
        self.queue = queue
        self.state = state
        self.count = count
    }
}

/// What a retry by id did.
public enum RetryResult: Sendable, Equatable {
    /// The job is available again.
    case retried
    /// The job is running (its outcome decides), or there is no such job.
    case notRetried
    /// Another live job holds the job's unique key.
    case uniqueConflict
}
