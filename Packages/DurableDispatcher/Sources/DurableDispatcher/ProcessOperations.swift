// ProcessOperations: what a running worker process asks of the store — the
// heartbeat and session lock of its control connection, leaving, cancel by
// id, the shutdown's hand-back, and the rescue of dead processes' jobs. The
// statements, with what each guarantees, are in ProcessStatements.swift.
import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// The channel workers LISTEN on (`queue:<name>` and `cancel:<id>`).
    public var notificationChannel: String { statements.notifyChannel }

    /// Marks the worker alive now, on `connection` (the control connection)
    /// or the pool. False when its row is gone: it was declared dead (its
    /// jobs rescued) and must register again.
    public func heartbeat(_ worker: WorkerID, on connection: PostgresConnection? = nil) async throws -> Bool {
        let query = statements.heartbeat(worker: worker.rawValue)
        guard let connection else {
            return try await !rows(query).isEmpty
        }
        let logger = logger
        return try await connection.untilClosed {
            try await !connection.query(query, logger: logger).collect().isEmpty
        }
    }

    /// Takes the worker's session advisory lock on `connection`, which must
    /// stay open (and out of any pool) for as long as the process lives:
    /// its closing releases the lock and lets the rescue see the process
    /// gone. False when another session holds it.
    public func lockWorker(_ worker: WorkerID, on connection: PostgresConnection) async throws -> Bool {
        let query = statements.lockWorker(worker.rawValue)
        let logger = logger
        let rows = try await connection.untilClosed { try await connection.query(query, logger: logger).collect() }
        guard let row = rows.first else { throw StoreError.noRowReturned("lock worker") }
        return try row.decode(Bool.self)
    }

    /// Releases the session lock taken by ``lockWorker(_:on:)``.
    public func unlockWorker(_ worker: WorkerID, on connection: PostgresConnection) async throws {
        let query = statements.unlockWorker(worker.rawValue)
        let logger = logger
        _ = try await connection.untilClosed { try await connection.query(query, logger: logger).collect() }
    }

    /// Deletes the worker's row, unless it still owns running jobs (then the
    /// rescue deals with them once the process is gone). True if deleted.
    @discardableResult
    public func deregister(_ worker: WorkerID) async throws -> Bool {
        try await !rows(statements.deregister(worker: worker.rawValue)).isEmpty
    }

    /// Wakes the workers of `queue` (they fetch now rather than at their
    /// next poll).
    public func notify(queue: String) async throws {
        _ = try await rows(statements.notifyQueue(queue, channel: statements.notifyChannel))
    }

    // MARK: Hand-back and cancel

    /// Gives jobs fetched by this process back without costing their
    /// attempt: available again at once (cancelled, if a cancel was
    /// requested). Fenced like every outcome; returns the ids handed back.
    @discardableResult
    public func handBack(_ jobs: [FetchedJob]) async throws -> [JobID] {
        var handedBack: [JobID] = []
        for (owner, group) in Dictionary(grouping: jobs, by: \.owner) {
            let query = statements.handBack(group.map(\.fence), owner: owner.rawValue)
            for row in try await rows(query) {
                handedBack.append(JobID(try row.decode(Int64.self)))
            }
        }
        if !handedBack.isEmpty {
            for queue in Set(jobs.map(\.queue)) {
                try? await notify(queue: queue)
            }
        }
        return handedBack
    }

    /// Cancels a job by id: a pending one at once; a running one by asking
    /// its process (through the notification channel) to cancel its
    /// context, after which its attempt ends cancelled whatever it records
    /// (unless it completes).
    public func cancel(_ id: JobID) async throws -> CancelResult {
        let statements = self.statements
        let logger = self.logger
        return try await transaction { connection in
            var result = CancelResult.notCancelled
            for try await (state, owner) in try await connection.query(statements.cancel(id: id.rawValue), logger: logger)
                .decode((String, Int32?).self)
            {
                result = state == "running" ? .requested(owner: owner.map(WorkerID.init)) : .cancelled
            }
            if case .requested = result {
                try await connection.query(statements.notifyCancel(id: id.rawValue, channel: statements.notifyChannel), logger: logger)
            }
            return result
        }
    }

    /// Finalizes the attempt's job as cancelled (the handler gave up on it,
    /// or its cancel was requested), with `reason` in its errors; fenced.
    public func cancelAttempt(_ job: FetchedJob, reason: String) async throws -> CompletionResult {
        if try await !rows(statements.cancelAttempt(job.fence, reason: Self.storable(reason))).isEmpty {
            return .completed
        }
        logger.info("cancel fenced", metadata: ["job": "\(job.id.rawValue)", "attempt": "\(job.attempt)", "owner": "\(job.owner.rawValue)"])
        return .fenced
    }

    /// Gives back the jobs `owner` has running in `queue` that are not in
    /// `known` (the ones this process is running): after a fetch whose
    /// answer was lost, its jobs are running under a live owner that never
    /// got them. Available again, attempt restored.
    @discardableResult
    public func handBackOrphans(queue: String, owner: WorkerID, known: [JobID]) async throws -> [JobID] {
        let query = statements.handBackOrphans(queue: queue, owner: owner.rawValue, known: known.map(\.rawValue))
        let ids = try await rows(query).map { JobID(try $0.decode(Int64.self)) }
        if !ids.isEmpty {
            try? await notify(queue: queue)
        }
        return ids
    }

    /// Text PostgreSQL stores: a NUL is refused in text, so it is written
    /// as `\0`.
    static func storable(_ text: String) -> String {
        text.contains("\0") ? text.replacingOccurrences(of: "\0", with: "\\0") : text
    }

    // MARK: Rescue

    /// Puts back the running jobs of dead worker processes (see
    /// ``RescuePolicy``) and deletes the dead processes' rows. Nil when
    /// another process is rescuing now (one at a time).
    public func rescue(_ policy: RescuePolicy = .init()) async throws -> RescueReport? {
        let statements = self.statements
        let logger = self.logger
        let query = statements.rescue(
            leaseSeconds: policy.lease.nonNegativeSeconds,
            lockGraceSeconds: policy.lockGrace.nonNegativeSeconds,
            restartAllowanceSeconds: policy.restartAllowance.nonNegativeSeconds
        )
        let report: RescueReport? = try await transaction { connection in
            var got = false
            for try await taken in try await connection.query(statements.rescueLock, logger: logger).decode(Bool.self) {
                got = taken
            }
            guard got else { return nil }
            var report = RescueReport()
            for try await (what, id, owner, attempt, reason, state, queue) in try await connection.query(query, logger: logger)
                .decode((String, Int64, Int32?, Int16, String, String, String).self)
            {
                if what == "job" {
                    report.jobs.append(.init(
                        id: JobID(id), queue: queue, owner: owner.map(WorkerID.init), attempt: attempt, reason: reason, state: state))
                } else {
                    report.removedWorkers.append(WorkerID(Int32(truncatingIfNeeded: id)))
                }
            }
            for job in report.jobs {
                logger.warning("job rescued", metadata: [
                    "job": "\(job.id.rawValue)", "attempt": "\(job.attempt)",
                    "owner": "\(job.owner.map { "\($0.rawValue)" } ?? "none")", "reason": "\(job.reason)", "state": "\(job.state)",
                ])
            }
            return report
        }
        if let report {
            // Rescued jobs are runnable now: wake their queues' workers.
            for queue in Set(report.jobs.filter { $0.state == "retryable" }.map(\.queue)) {
                try? await notify(queue: queue)
            }
        }
        return report
    }
}

/// When a worker process counts as dead, for ``JobStore/rescue(_:)``.
public struct RescuePolicy: Sendable, Equatable {
    /// A process whose heartbeat is older than this is dead, lock or not
    /// (its host vanished without closing its connections). Longer than the
    /// longest pause a live process may have.
    public var lease: Duration
    /// A process whose heartbeat is older than this and whose session lock
    /// is gone is dead (killed: its connection closed).
    public var lockGrace: Duration
    /// For this long after the database server started, the lock is not
    /// looked at: a restart drops every session lock, and live processes
    /// need a moment to reconnect and take theirs again. A worker process
    /// also rescues nothing until its own control connection has been up
    /// this long (after any outage, a failover or a long recovery included).
    public var restartAllowance: Duration

    public init(lease: Duration = .seconds(30), lockGrace: Duration = .seconds(3), restartAllowance: Duration = .seconds(10)) {
        self.lease = lease
        self.lockGrace = lockGrace
        self.restartAllowance = restartAllowance
    }
}

/// What a rescue did.
public struct RescueReport: Sendable {
    public struct Job: Sendable, Equatable {
        public let id: JobID
        public let queue: String
        /// The dead process that ran it.
        public let owner: WorkerID?
        /// The attempt that was lost (counted: a job that kills its process
        /// every time ends discarded).
        public let attempt: Int16
        /// `lock` (session lock gone), `lease` (heartbeat too old) or
        /// `unregistered` (its owner has no row).
        public let reason: String
        /// `retryable`, `discarded` or `cancelled`.
        public let state: String
    }

    /// The jobs put back.
    public var jobs: [Job] = []
    /// Dead processes whose rows were deleted.
    public var removedWorkers: [WorkerID] = []
}

/// What a cancel by id did.
public enum CancelResult: Sendable, Equatable {
    /// The job was pending: it is cancelled and will not run.
    case cancelled
    /// The job is running; its process (`owner`) was asked to cancel it.
    case requested(owner: WorkerID?)
    /// The job is finalized already, or does not exist.
    case notCancelled
}
