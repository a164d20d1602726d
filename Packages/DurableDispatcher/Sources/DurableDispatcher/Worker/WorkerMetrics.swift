// WorkerMetrics: what a worker process counts, through swift-metrics (the
// program bootstraps a backend, Prometheus say; without one they cost
// nothing). Labels and dimensions:
// - gc_jobs_fetched_total{queue}
// - gc_jobs_finished_total{queue, outcome}: completed, retryable, discarded,
//   snoozed, cancelled, fenced (the attempt was no longer the live one)
// - gc_job_seconds{queue}: how long handlers ran
// - gc_jobs_rescued_total{reason}: lock, lease, unregistered (by this process)
// - gc_jobs_handed_back_total, gc_jobs_pruned_total
// - gc_worker_reregistered_total, gc_control_reconnected_total
// - gc_control_connection_up (1 or 0)
import Metrics
import Synchronization

final class WorkerMetrics: Sendable {
    let handedBack = Counter(label: "gc_jobs_handed_back_total")
    let pruned = Counter(label: "gc_jobs_pruned_total")
    let reregistered = Counter(label: "gc_worker_reregistered_total")
    let reconnected = Counter(label: "gc_control_reconnected_total")
    let controlUp = Gauge(label: "gc_control_connection_up")
    private let counters = Mutex<[String: Counter]>([:])
    private let timers = Mutex<[String: Metrics.Timer]>([:])

    /// The counter of `label` with `dimensions`, made once.
    private func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        let key = label + dimensions.map { "|\($0.0)=\($0.1)" }.joined()
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: dimensions)
            counters[key] = counter
            return counter
        }
    }

    func fetched(_ queue: String, _ count: Int) {
        guard count > 0 else { return }
        counter("gc_jobs_fetched_total", [("queue", queue)]).increment(by: count)
    }

    func finished(_ queue: String, _ outcome: String) {
        counter("gc_jobs_finished_total", [("queue", queue), ("outcome", outcome)]).increment()
    }

    func rescued(_ reason: String) {
        counter("gc_jobs_rescued_total", [("reason", reason)]).increment()
    }

    func jobDuration(_ queue: String, _ duration: Duration) {
        let timer = timers.withLock { timers in
            if let timer = timers[queue] { return timer }
            let timer = Metrics.Timer(label: "gc_job_seconds", dimensions: [("queue", queue)], preferredDisplayUnit: .seconds)
            timers[queue] = timer
            return timer
        }
        timer.recordNanoseconds(duration.nanosecondsClamped)
    }
}

extension FailureResult {
    /// The `outcome` dimension of `gc_jobs_finished_total`.
    var outcomeLabel: String {
        switch self {
        case .retryable: "retryable"
        case .discarded: "discarded"
        case .cancelled: "cancelled"
        case .fenced: "fenced"
        }
    }
}

extension SnoozeResult {
    /// The `outcome` dimension of `gc_jobs_finished_total`.
    var outcomeLabel: String {
        switch self {
        case .scheduled: "snoozed"
        case .cancelled: "cancelled"
        case .fenced: "fenced"
        }
    }
}

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}
