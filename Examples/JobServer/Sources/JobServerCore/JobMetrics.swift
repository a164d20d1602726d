// The jobserver's metrics, which `GET /metrics` shows in Prometheus's text
// format: what became of the payloads (accepted, processed, rejected:
// counters) and where the work stands (queue depth, busy workers,
// goroutines: gauges).
//
// Invariants:
// - Each counter is incremented together with the matching count of
//   `/stats` and the log, by the same amount (`JobService`'s `Counts`), so it
//   never falls and, at rest, equals that count.
// - The gauges are set only when a scrape samples them (from the dispatcher
//   and the runtime), just before the registry is written out; no job
//   touches them.
//
// The counters are incremented as things happen, not copied from the
// `/stats` atomics at scrape time: a Prometheus counter is a running total
// that only a restart sets back, and copying would mean either a reset and
// an increment, between which a scrape could see the total fall (read as a
// restart), or adding the difference since the last scrape, which two
// scrapes at once could both add. An increment costs one relaxed atomic add
// in the Prometheus counter, beside the one the `/stats` count already pays.
//
// The service records through swift-metrics' handles (`Counter`, `Meter`)
// whose handlers are the registry's own, made with their HELP text
// (swift-metrics' factory API carries no description). The registry belongs
// to the service, not to the process, so each service (each test's) has its
// own; `factory` lets other code record into it through swift-metrics.
//
// In the durable mode there is one more gauge, `jobserver_durable_jobs`, a
// series per job state (`{state="completed"}`, ...): the payload jobs of the
// service's queue in the database, sampled by the scrape like the other
// gauges. The durable workers' own counters (`gc_jobs_fetched_total`,
// `gc_jobs_finished_total`, ...) are recorded through swift-metrics' global
// `MetricsSystem`, which the program bootstraps with `factory`, so they land
// in this registry too.

import CoreMetrics
import Prometheus

/// The service's Prometheus registry and the swift-metrics handles it
/// records through.
public final class JobMetrics: Sendable {
    /// Every metric `GET /metrics` shows.
    public let registry: PrometheusCollectorRegistry
    /// A swift-metrics factory over `registry`: what `MetricsSystem.bootstrap`
    /// takes, so metrics that libraries record land beside the service's.
    public let factory: PrometheusMetricsFactory

    /// `jobserver_jobs_accepted_total`: payloads queued.
    let accepted: CoreMetrics.Counter
    /// `jobserver_jobs_processed_total`: payloads whose upload has returned.
    let processed: CoreMetrics.Counter
    /// `jobserver_jobs_rejected_total`: payloads refused with a 503.
    let rejected: CoreMetrics.Counter
    /// `jobserver_queue_depth`: the dispatcher's `queueDepth` at the scrape.
    let queueDepth: Meter
    /// `jobserver_busy_workers`: the dispatcher's `busyWorkers` at the scrape.
    let busyWorkers: Meter
    /// `jobserver_goroutines`: `GoRuntime.goroutineCount` at the scrape.
    let goroutines: Meter
    /// `jobserver_durable_jobs{state}`: the durable mode's jobs by state at
    /// the scrape (empty in the in-memory mode).
    let durableJobs: [String: Meter]

    /// The states a durable job can be in, as the store names them.
    static let durableStates = ["available", "scheduled", "running", "retryable", "completed", "cancelled", "discarded"]

    /// The text format's content type (version 0.0.4, which `emit` writes).
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// A registry of its own with the six metrics at zero (and, for the
    /// durable mode, the job-state gauge).
    init(durable: Bool = false) {
        let registry = PrometheusCollectorRegistry()
        let factory = PrometheusMetricsFactory(registry: registry)
        // Named `jobserver_<name>_total` (counters) and `jobserver_<name>` (gauges).
        func counter(_ name: String, _ help: String) -> CoreMetrics.Counter {
            let descriptor = MetricNameDescriptor(namespace: "jobserver", metricName: name, unitName: "total", helpText: help)
            return CoreMetrics.Counter(
                label: descriptor.name, dimensions: [], handler: registry.makeCounter(descriptor: descriptor),
                factory: factory)
        }
        func gauge(_ name: String, _ help: String) -> Meter {
            let descriptor = MetricNameDescriptor(namespace: "jobserver", metricName: name, unitName: "", helpText: help)
            return Meter(
                label: descriptor.name, dimensions: [], handler: registry.makeGauge(descriptor: descriptor),
                factory: factory)
        }
        self.registry = registry
        self.factory = factory
        accepted = counter("jobs_accepted", "Payloads queued for an upload.")
        processed = counter("jobs_processed", "Payloads whose upload has returned.")
        rejected = counter("jobs_rejected", "Payloads refused with a 503 (a full queue in refuse mode, or stopping).")
        queueDepth = gauge("queue_depth", "Jobs queued and not yet handed to a worker, the one the dispatcher holds included.")
        busyWorkers = gauge("busy_workers", "Workers running an upload.")
        goroutines = gauge("goroutines", "Goroutines of the process, on every runtime.")
        var durableJobs: [String: Meter] = [:]
        if durable {
            let name = "jobserver_durable_jobs"
            for state in JobMetrics.durableStates {
                let labels = [("state", state)]
                durableJobs[state] = Meter(
                    label: name, dimensions: labels,
                    handler: registry.makeGauge(name: name, labels: labels, help: "Payload jobs in the database, by state."),
                    factory: factory)
            }
        }
        self.durableJobs = durableJobs
    }

    /// The registry in the text format, the gauges set to these samples first.
    /// `durableJobs`: the durable mode's jobs by state (states absent are
    /// 0); nil leaves those gauges as they were (the database did not answer).
    func exposition(queueDepth: Int, busyWorkers: Int, goroutines: Int, durableJobs: [String: Int]? = nil) -> [UInt8] {
        if let durableJobs {
            for (state, meter) in self.durableJobs {
                meter.set(durableJobs[state] ?? 0)
            }
        }
        self.queueDepth.set(queueDepth)
        self.busyWorkers.set(busyWorkers)
        self.goroutines.set(goroutines)
        var text: [UInt8] = []
        registry.emit(into: &text)
        return text
    }
}
