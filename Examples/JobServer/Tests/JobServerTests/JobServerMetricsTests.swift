// `GET /metrics` against a live server on an ephemeral port: the Prometheus
// text is parsed line by line and each sample is found by its name. (The
// refusing mode's `jobserver_jobs_rejected_total` is checked in
// JobServerTests' 503 test.)

import GoConcurrency
import Hummingbird
import HummingbirdTesting
import JobServerCore
import NIOCore
import Testing

/// One scrape of `GET /metrics`, parsed: each sample's value by its series
/// (the name, with its labels if it has any), each metric's TYPE and HELP.
struct Exposition: CustomStringConvertible {
    var samples: [String: Double] = [:]
    var types: [String: String] = [:]
    var help: [String: String] = [:]
    var description = ""

    /// The text format: `# HELP name text`, `# TYPE name type`, other `#`
    /// lines (comments), and `series value` samples, one a line.
    init(parsing text: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        description = text
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") || line.hasPrefix("# TYPE ") {
                let fields = line.split(separator: " ", maxSplits: 3)
                try #require(fields.count == 4, "bad line \(line)", sourceLocation: sourceLocation)
                let name = String(fields[2])
                if fields[1] == "HELP" {
                    #expect(help.updateValue(String(fields[3]), forKey: name) == nil, "two HELP lines for \(name)", sourceLocation: sourceLocation)
                } else {
                    #expect(types.updateValue(String(fields[3]), forKey: name) == nil, "two TYPE lines for \(name)", sourceLocation: sourceLocation)
                }
            } else if !line.hasPrefix("#") {
                let space = try #require(line.lastIndex(of: " "), "bad sample \(line)", sourceLocation: sourceLocation)
                let value = try #require(Double(line[line.index(after: space)...]), "bad value in \(line)", sourceLocation: sourceLocation)
                let series = String(line[..<space])
                #expect(samples.updateValue(value, forKey: series) == nil, "two samples of \(series)", sourceLocation: sourceLocation)
            }
        }
    }

    /// The value of an unlabelled metric; fails the test if it is missing.
    func value(_ name: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> Double {
        try #require(samples[name], "no sample \(name) in:\n\(self)", sourceLocation: sourceLocation)
    }
}

/// The service's counters and its job gauges from one scrape (the goroutine
/// gauge counts every runtime of the test process, so it is checked apart).
struct JobMetricValues: Equatable, CustomStringConvertible {
    var accepted = 0.0, processed = 0.0, rejected = 0.0, queueDepth = 0.0, busyWorkers = 0.0

    init(accepted: Double = 0, processed: Double = 0, rejected: Double = 0, queueDepth: Double = 0, busyWorkers: Double = 0) {
        (self.accepted, self.processed, self.rejected) = (accepted, processed, rejected)
        (self.queueDepth, self.busyWorkers) = (queueDepth, busyWorkers)
    }

    init(_ exposition: Exposition, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
        accepted = try exposition.value("jobserver_jobs_accepted_total", sourceLocation: sourceLocation)
        processed = try exposition.value("jobserver_jobs_processed_total", sourceLocation: sourceLocation)
        rejected = try exposition.value("jobserver_jobs_rejected_total", sourceLocation: sourceLocation)
        queueDepth = try exposition.value("jobserver_queue_depth", sourceLocation: sourceLocation)
        busyWorkers = try exposition.value("jobserver_busy_workers", sourceLocation: sourceLocation)
    }

    var description: String {
        "accepted \(accepted) processed \(processed) rejected \(rejected) queue_depth \(queueDepth) busy \(busyWorkers)"
    }
}

/// `GET /metrics`: 200, the text format's content type, parsed.
func scrape(
    _ client: some TestClientProtocol, method: HTTPRequest.Method = .get,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) async throws -> Exposition {
    let response = try await client.execute(uri: "/metrics", method: method)
    #expect(response.status == .ok, sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8", sourceLocation: sourceLocation)
    return try Exposition(parsing: String(buffer: response.body), sourceLocation: sourceLocation)
}

/// Scrapes until the job metrics are `expected`; fails after a generous
/// bound (a guard against a hang, not a timing assertion).
func waitForMetrics(
    _ client: some TestClientProtocol, _ expected: JobMetricValues,
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) async throws {
    var last = JobMetricValues()
    for _ in 0..<6000 {
        last = try JobMetricValues(try await scrape(client, sourceLocation: sourceLocation), sourceLocation: sourceLocation)
        if last == expected { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("metrics never became \(expected); last: \(last)", sourceLocation: sourceLocation)
}

@Suite struct JobServerMetricsTests {
    @Test func metricsCountQueuedAndProcessedPayloads() async throws {
        let service = service(workers: 3, queue: 5)
        try await service.application().test(.live) { client in
            // Given: nothing submitted yet: six metrics, described and typed,
            // the counters at zero, and the service's own goroutines (its
            // three workers and its dispatcher) counted.
            let first = try await scrape(client)
            #expect(try JobMetricValues(first) == JobMetricValues())
            for (name, type) in [
                ("jobserver_jobs_accepted_total", "counter"), ("jobserver_jobs_processed_total", "counter"),
                ("jobserver_jobs_rejected_total", "counter"), ("jobserver_queue_depth", "gauge"),
                ("jobserver_busy_workers", "gauge"), ("jobserver_goroutines", "gauge"),
            ] {
                #expect(first.types[name] == type, "\(name) in:\n\(first)")
                #expect(!(first.help[name] ?? "").isEmpty, "\(name) in:\n\(first)")
            }
            #expect(try first.value("jobserver_goroutines") >= 4)
            // When: three collections, 40 payloads in all.
            for count in [10, 25, 5] {
                #expect(try await client.execute(uri: "/payload", method: .post, body: collection(count)).status == .ok)
            }
            // Then: every one is counted accepted at once, processed in the end.
            #expect(try JobMetricValues(try await scrape(client)).accepted == 40)
            try await waitForMetrics(client, JobMetricValues(accepted: 40, processed: 40))
            // /metrics answers any method, as /stats does.
            #expect(try JobMetricValues(try await scrape(client, method: .post)).processed == 40)
        }
        await service.stop(.drain)
    }

    @Test func metricsShowTheHeldJobsWhileTheQueueIsFull() async throws {
        // Given: two workers whose uploads wait for the test, a queue of 2:
        // room for five payloads (two running, one held by the dispatcher,
        // two queued).
        let gate = Chan<Void>()
        let service = service(workers: 2, queue: 2) { _ in _ = try? await gate.receive() }
        try await service.application().test(.live) { client in
            let port = try #require(client.port)
            // When: a collection of seven on a second connection.
            let request = Task {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { other in
                    try await other.post("/payload", body: collection(7)).head.status
                }
            }
            // Then: five are accepted, two uploads run, three jobs wait, and
            // the request waits for room.
            try await waitForMetrics(client, JobMetricValues(accepted: 5, queueDepth: 3, busyWorkers: 2))
            #expect(try await stats(client) == Stats(accepted: 5, processed: 0, queued: 3, busy: 2))
            // When the uploads may finish, the rest is queued, all seven run.
            try gate.close()
            #expect(try await request.value == .ok)
            try await waitForMetrics(client, JobMetricValues(accepted: 7, processed: 7))
        }
        await service.stop(.drain)
    }
}
