// WorkerOptions: how a worker process runs — its queues and how many jobs
// of each it runs at once, how it learns of new jobs (notifications and
// polling, or polling only), heartbeat, rescue and pruning periods.
import Foundation

/// How a ``DurableWorkers`` process runs.
public struct WorkerOptions: Sendable {
    /// Queue name → how many of its jobs run at once (each queue has a
    /// Dispatcher of that many workers, fed by one producer).
    public var queues: [String: Int]
    /// How often each queue looks for runnable jobs when nothing woke it
    /// (±20 % jitter): the fallback for lost notifications, and how
    /// scheduled and retried jobs are found when their time comes.
    public var pollInterval: Duration
    /// No LISTEN: polling only. For connection poolers in transaction mode,
    /// which do not deliver notifications.
    public var pollOnly: Bool
    /// How often the process proves it is alive.
    public var heartbeatInterval: Duration
    /// When another process counts as dead (and its jobs are rescued).
    public var rescue: RescuePolicy
    /// How often this process looks for dead ones (±20 % jitter; one process
    /// at a time does it).
    public var rescueInterval: Duration
    /// Finalized jobs older than this are deleted; nil keeps them.
    public var retention: Duration?
    /// How often finalized jobs are pruned.
    public var pruneInterval: Duration
    /// The host name recorded with the process.
    public var host: String

    /// - Precondition: at least one queue, every concurrency at least 1.
    public init(
        queues: [String: Int],
        pollInterval: Duration = .seconds(1),
        pollOnly: Bool = false,
        heartbeatInterval: Duration = .seconds(1),
        rescue: RescuePolicy = .init(),
        rescueInterval: Duration = .seconds(1),
        retention: Duration? = .seconds(24 * 3600),
        pruneInterval: Duration = .seconds(60),
        host: String = ProcessInfo.processInfo.hostName
    ) {
        precondition(!queues.isEmpty, "WorkerOptions: no queue")
        precondition(
            heartbeatInterval < rescue.lockGrace && rescue.lockGrace < rescue.lease,
            "WorkerOptions: the heartbeat interval must be shorter than the lock grace, and the lock grace than the lease")
        precondition(queues.values.allSatisfy { $0 > 0 }, "WorkerOptions: a queue's concurrency must be at least 1: \(queues)")
        self.queues = queues
        self.pollInterval = pollInterval
        self.pollOnly = pollOnly
        self.heartbeatInterval = heartbeatInterval
        self.rescue = rescue
        self.rescueInterval = rescueInterval
        self.retention = retention
        self.pruneInterval = pruneInterval
        self.host = host
    }
}

extension Duration {
    /// This duration scaled by a random factor in 1 ± `fraction`.
    func jittered(_ fraction: Double = 0.2) -> Duration {
        self * Double.random(in: (1 - fraction)...(1 + fraction))
    }
}
