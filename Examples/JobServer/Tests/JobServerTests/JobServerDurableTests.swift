// The durable mode (DATABASE_URL): the jobserver program in child processes
// against the live PostgreSQL named by GC_DATABASE_URL (`.ci/postgres
// start`), each test in a schema of its own, dropped after it. Without
// GC_DATABASE_URL these tests are reported skipped; with
// GC_REQUIRE_DATABASE=1 a missing or unreachable database fails, as in
// Packages/DurableDispatcher's tests.

import DurableDispatcher
import Foundation
import HummingbirdTesting
import JobServerCore
import Logging
import NIOCore
import PostgresNIO
import Testing

enum DurableTestDatabase {
    static let url = ProcessInfo.processInfo.environment["GC_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// `GC_REQUIRE_DATABASE=1` (CI): a missing or unreachable database fails.
    static let required = ProcessInfo.processInfo.environment["GC_REQUIRE_DATABASE"] == "1"
    static var available: Bool { url != nil }

    static let quietLogger = Logger(label: "JobServerDurableTests") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `body` with a new schema's name and a store on it (left to the
    /// server to create), and drops the schema afterwards, whatever `body` did.
    /// (DurableDispatcher's `TestDatabase.withStore` does the same for its
    /// own tests; a test target of another package cannot be imported.)
    static func withSchema(_ body: (String, JobStore) async throws -> Void) async throws {
        let url = try #require(url, "GC_DATABASE_URL is not set")
        var configuration = try #require(PostgresClient.Configuration(databaseURL: url), "bad GC_DATABASE_URL: \(url)")
        configuration.options.maximumConnections = 2
        let client = PostgresClient(configuration: configuration, backgroundLogger: quietLogger)
        let schema = "gc_js_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let store = JobStore(client: client, configuration: StoreConfiguration(schema: schema), logger: quietLogger)
        let runner = Task { await client.run() }
        var failure: (any Error)?
        do {
            try await body(schema, store)
        } catch {
            failure = error
        }
        do {
            try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE"))
        } catch {
            failure = failure ?? error
        }
        runner.cancel()
        await runner.value
        if let failure { throw failure }
    }
}

extension JobStore {
    /// The payload jobs by state, as the database has them (absent states: 0).
    func payloadJobs() async throws -> [String: Int] {
        var jobs: [String: Int] = [:]
        for count in try await counts() where count.queue == "payloads" {
            jobs[count.state] = Int(count.count)
        }
        return jobs
    }

    /// Waits (bounded) until the payload jobs satisfy `condition`; returns them.
    @discardableResult
    func waitForPayloadJobs(
        sourceLocation: Testing.SourceLocation = #_sourceLocation, _ condition: ([String: Int]) -> Bool
    ) async throws -> [String: Int] {
        var last: [String: Int] = [:]
        for _ in 0..<12000 {
            last = try await payloadJobs()
            if condition(last) { return last }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the jobs never reached the expected state; last: \(last)", sourceLocation: sourceLocation)
        return last
    }

    /// The first column of the first row of `sql` (`$schema`: this store's).
    func scalar(_ sql: String) async throws -> Int? {
        let query = PostgresQuery(unsafeSQL: sql.replacingOccurrences(of: "$schema", with: "\"\(configuration.schema)\""))
        for try await value in try await client.query(query).decode(Int64.self) {
            return Int(value)
        }
        return nil
    }
}

extension [String: Int] {
    var total: Int { values.reduce(0, +) }
}

extension Exposition {
    /// The value of the series `name` whose labels are exactly `labels`, in
    /// whatever order the text has them; nil when there is none.
    func value(_ name: String, labels: [String: String]) -> Double? {
        for (series, value) in samples {
            guard series.hasPrefix(name + "{"), series.hasSuffix("}") else { continue }
            let inside = series.dropFirst(name.count + 1).dropLast()
            var found: [String: String] = [:]
            for pair in inside.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { continue }
                found[String(parts[0])] = String(parts[1].dropFirst().dropLast())
            }
            if found == labels { return value }
        }
        return nil
    }
}

#if os(Linux)
/// The environment of a durable-mode server on `schema`.
func durableEnvironment(_ schema: String, _ more: [String: String]) throws -> [String: String] {
    var environment = more
    let url = try #require(DurableTestDatabase.url)
    environment["DATABASE_URL"] = url
    environment["DATABASE_SCHEMA"] = schema
    return environment
}

/// `GET /stats` in the durable mode: every name-value pair of its line.
func durableStats(_ client: TestClient) async throws -> [String: Int] {
    let response = try await client.get("/stats")
    #expect(response.head.status == .ok)
    let line = String(buffer: response.body ?? ByteBuffer())
    #expect(line.hasSuffix("\n"))
    let fields = line.dropLast().split(separator: " ")
    try #require(fields.count == 22, "stats line \(line)")
    var values: [String: Int] = [:]
    for index in stride(from: 0, to: fields.count, by: 2) {
        let value = try #require(Int(fields[index + 1]), "stats line \(line)")
        values[String(fields[index])] = value
    }
    return values
}

/// `GET /metrics` parsed, from a child process's server.
func scrape(_ client: TestClient) async throws -> Exposition {
    let response = try await client.get("/metrics")
    #expect(response.head.status == .ok)
    return try Exposition(parsing: String(buffer: response.body ?? ByteBuffer()))
}

@Suite("jobserver durable mode", .enabled(if: DurableTestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"))
struct JobServerDurableTests {
    @Test func postedPayloadsAreDurableJobsAndAllAreProcessed() async throws {
        try await DurableTestDatabase.withSchema { schema, store in
            // Given: a durable server with four workers.
            let server = try JobServerProcess(environment: try durableEnvironment(schema, ["MAX_WORKERS": "4"]))
            let port = try await server.port()
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                // When: three collections, 40 payloads in all.
                var posted = 0
                for count in [10, 25, 5] {
                    #expect(try await client.post("/payload", body: collection(count)).head.status == .ok)
                    posted += count
                    // Then: each 200 comes after its jobs are in the database
                    // (finished jobs stay there: a day's retention).
                    #expect(try await store.payloadJobs().total == posted)
                }
                // Every job is completed, once, by the workers.
                let jobs = try await store.waitForPayloadJobs { $0["completed"] == 40 }
                #expect(jobs == ["completed": 40])
                #expect(try await store.scalar("SELECT count(*) FROM $schema.gc_jobs WHERE kind = 'payload' AND attempt = 1") == 40)
                #expect(try await store.scalar(
                    "SELECT count(*) FROM $schema.gc_jobs WHERE args = '{\"name\":\"p3\",\"data\":\"0123456789\"}'::jsonb") == 3)
                let stats = try await durableStats(client)
                #expect(stats["accepted"] == 40 && stats["processed"] == 40 && stats["completed"] == 40, "\(stats)")
                #expect(stats["queued"] == 0 && stats["busy"] == 0 && stats["available"] == 0, "\(stats)")
            }
            // A SIGTERM stops it gracefully: nothing to hand back.
            kill(server.process.processIdentifier, SIGTERM)
            #expect(await server.exitStatus() == 0, "log:\n\(server.log)")
            let stopped = try await server.waitForLine(containing: "] stopped")
            #expect(logValue("handed_back", in: stopped) == 0, "\(stopped)")
            #expect(logValue("accepted", in: stopped) == 40, "\(stopped)")
        }
    }

    @Test func aRequestIsEnqueuedWholeOrNotAtAll() async throws {
        try await DurableTestDatabase.withSchema { schema, store in
            let server = try JobServerProcess(environment: try durableEnvironment(schema, ["MAX_WORKERS": "2"]))
            let port = try await server.port()
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                // Given: five payloads, the fourth of which PostgreSQL's
                // jsonb cannot hold (a NUL character; valid JSON, which the
                // in-memory mode takes).
                let payloads = (0..<5).map { i in
                    "{\"name\":\"p\(i)\",\"data\":\"\(i == 3 ? "a\\u0000b" : "x")\"}"
                }
                let body = ByteBuffer(string: "{\"version\":\"1\",\"token\":\"t\",\"data\":[\(payloads.joined(separator: ","))]}")
                // When it is posted, then a good collection.
                let response = try await client.post("/payload", body: body)
                #expect(try await client.post("/payload", body: collection(2)).head.status == .ok)
                // Then: the first is refused whole, none of its payloads
                // enqueued (the three before the bad one rolled back too).
                #expect(response.head.status == .badRequest)
                let jobs = try await store.waitForPayloadJobs { $0["completed"] == 2 }
                #expect(jobs == ["completed": 2])
                let stats = try await durableStats(client)
                #expect(stats["accepted"] == 2, "\(stats)")
                #expect(try await scrape(client).value("jobserver_jobs_rejected_total") == 5)
            }
            kill(server.process.processIdentifier, SIGTERM)
            #expect(await server.exitStatus() == 0, "log:\n\(server.log)")
        }
    }

    @Test func aKilledServerLosesNoAcceptedJob() async throws {
        try await DurableTestDatabase.withSchema { schema, store in
            // Given: a server whose two workers' uploads take ten minutes,
            // and 30 payloads it answered 200 for.
            let first = try JobServerProcess(environment: try durableEnvironment(schema, [
                "MAX_WORKERS": "2", "UPLOAD_MS": "600000",
            ]))
            let firstPort = try await first.port()
            try await TestClient.withClient(host: "127.0.0.1", port: firstPort) { client throws in
                for _ in 0..<3 {
                    #expect(try await client.post("/payload", body: collection(10)).head.status == .ok)
                }
            }
            // Two of them running in it and two fetched ahead for its two
            // workers (a process holds twice its workers in jobs), 26 waiting.
            try await store.waitForPayloadJobs { $0["running"] == 4 && $0["available"] == 26 }
            // When: it is killed (no shutdown, no hand-back) ...
            kill(first.process.processIdentifier, SIGKILL)
            #expect(await first.exitStatus() == SIGKILL)
            #expect(try await store.payloadJobs() == ["running": 4, "available": 26])
            // ... and another server starts on the same database.
            let second = try JobServerProcess(environment: try durableEnvironment(schema, ["MAX_WORKERS": "4"]))
            let secondPort = try await second.port()
            // Then: every job is completed, the four the dead process held
            // rescued from it and run again (a second attempt).
            let jobs = try await store.waitForPayloadJobs { $0["completed"] == 30 }
            #expect(jobs == ["completed": 30])
            #expect(try await store.scalar("SELECT count(*) FROM $schema.gc_jobs WHERE attempt = 2") == 4)
            try await TestClient.withClient(host: "127.0.0.1", port: secondPort) { client in
                let metrics = try await scrape(client)
                let rescued = (metrics.value("gc_jobs_rescued_total", labels: ["reason": "lock"]) ?? 0)
                    + (metrics.value("gc_jobs_rescued_total", labels: ["reason": "lease"]) ?? 0)
                #expect(rescued == 4, "\(metrics)")
                #expect(try await durableStats(client)["processed"] == 30)
            }
            kill(second.process.processIdentifier, SIGTERM)
            #expect(await second.exitStatus() == 0, "log:\n\(second.log)")
        }
    }

    @Test func metricsShowTheDurableCounters() async throws {
        try await DurableTestDatabase.withSchema { schema, store in
            let server = try JobServerProcess(environment: try durableEnvironment(schema, ["MAX_WORKERS": "3"]))
            let port = try await server.port()
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                // Given: 12 payloads, all completed.
                #expect(try await client.post("/payload", body: collection(12)).head.status == .ok)
                try await store.waitForPayloadJobs { $0["completed"] == 12 }
                // Then: the workers' counters (swift-metrics into the
                // service's registry) count 12 fetched and 12 completed (the
                // counter follows the completion's commit: waited for), and
                // the state gauge shows the database's 12 completed jobs.
                var metrics = try await scrape(client)
                for _ in 0..<6000 {
                    if metrics.value("gc_jobs_finished_total", labels: ["queue": "payloads", "outcome": "completed"]) == 12 { break }
                    try await Task.sleep(for: .milliseconds(10))
                    metrics = try await scrape(client)
                }
                #expect(metrics.value("gc_jobs_finished_total", labels: ["queue": "payloads", "outcome": "completed"]) == 12, "\(metrics)")
                #expect(metrics.value("gc_jobs_fetched_total", labels: ["queue": "payloads"]) == 12, "\(metrics)")
                #expect(metrics.types["gc_jobs_fetched_total"] == "counter", "\(metrics)")
                #expect(metrics.value("jobserver_durable_jobs", labels: ["state": "completed"]) == 12, "\(metrics)")
                #expect(metrics.value("jobserver_durable_jobs", labels: ["state": "available"]) == 0, "\(metrics)")
                #expect(metrics.types["jobserver_durable_jobs"] == "gauge", "\(metrics)")
                #expect(try metrics.value("jobserver_jobs_accepted_total") == 12)
                #expect(try metrics.value("jobserver_jobs_processed_total") == 12)
                #expect(try metrics.value("jobserver_queue_depth") == 0)
                #expect(try metrics.value("gc_control_connection_up") == 1)
            }
            kill(server.process.processIdentifier, SIGTERM)
            #expect(await server.exitStatus() == 0, "log:\n\(server.log)")
        }
    }

    @Test func refusingModeRefusesWhileTheQueueIsLongAndShutdownHandsBack() async throws {
        try await DurableTestDatabase.withSchema { schema, store in
            // Given: one worker whose upload takes ten minutes, refusing once
            // five jobs wait, and no grace at shutdown.
            let server = try JobServerProcess(environment: try durableEnvironment(schema, [
                "MAX_WORKERS": "1", "MAX_QUEUE": "5", "UPLOAD_MS": "600000", "OVERLOAD": "refuse",
                "SHUTDOWN_GRACE_MS": "0",
            ]))
            let port = try await server.port()
            try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                // When: 3 and then 5 payloads: fewer than five wait before
                // each, so both are taken whole.
                #expect(try await client.post("/payload", body: collection(3)).head.status == .ok)
                #expect(try await client.post("/payload", body: collection(5)).head.status == .ok)
                // One running, one fetched ahead for the worker.
                try await store.waitForPayloadJobs { $0["running"] == 2 && $0["available"] == 6 }
                // Then: with six waiting, the next collection is refused
                // whole: 503, Retry-After, nothing enqueued.
                let refused = try await client.post("/payload", body: collection(2))
                #expect(refused.head.status == .serviceUnavailable)
                #expect(refused.head.headerFields[.retryAfter] == "1")
                #expect(String(buffer: refused.body ?? ByteBuffer()) == "queued 0 of 2\n")
                #expect(try await store.payloadJobs() == ["running": 2, "available": 6])
                #expect(try await scrape(client).value("jobserver_jobs_rejected_total") == 2)
            }
            // When: SIGTERM: the running upload is interrupted at once and
            // handed back with its attempt restored, and so is the job fetched
            // ahead; nothing is lost.
            kill(server.process.processIdentifier, SIGTERM)
            #expect(await server.exitStatus() == 0, "log:\n\(server.log)")
            let stopped = try await server.waitForLine(containing: "] stopped")
            #expect(logValue("handed_back", in: stopped) == 2, "\(stopped)")
            #expect(try await store.payloadJobs() == ["available": 8])
            #expect(try await store.scalar("SELECT count(*) FROM $schema.gc_jobs WHERE attempt > 0") == 0)
        }
    }
}
#endif

@Suite("jobserver durable mode, without a database")
struct JobServerDurableOfflineTests {
    @Test(.enabled(if: DurableTestDatabase.required, "GC_REQUIRE_DATABASE is not 1"))
    func theDatabaseIsThereWhenRequired() async throws {
        _ = try #require(DurableTestDatabase.url, "GC_REQUIRE_DATABASE=1 but GC_DATABASE_URL is not set")
        try await DurableTestDatabase.withSchema { _, store throws in
            #expect(try await store.scalar("SELECT 1") == 1)
        }
    }

    @Test func databaseSettingsAreRead() throws {
        let configuration = try JobServerConfiguration.parse(arguments: [], environment: [
            "DATABASE_URL": "postgres://app@db.internal:6543/jobs", "DATABASE_SCHEMA": "intake",
            "DATABASE_MAX_CONNECTIONS": "7", "SHUTDOWN_GRACE_MS": "2500",
        ])
        #expect(configuration.durable == JobServerConfiguration.Durable(
            databaseURL: "postgres://app@db.internal:6543/jobs", schema: "intake", maxConnections: 7,
            grace: .milliseconds(2500)))
        // SHUTDOWN=return: running uploads go back at once.
        let returning = try JobServerConfiguration.parse(arguments: [], environment: [
            "DATABASE_URL": "postgres://app@db/jobs", "SHUTDOWN": "return",
        ])
        #expect(returning.durable?.grace == .zero)
        #expect(try JobServerConfiguration.parse(arguments: [], environment: [:]).durable == nil)
    }

    @Test(arguments: [
        (["DATABASE_URL": "mysql://app@db/jobs"], "DATABASE_URL must be postgres://"),
        (["DATABASE_URL": "postgres://db/jobs"], "DATABASE_URL must be postgres://"),
        (["DATABASE_URL": "postgres://app@db/jobs", "DATABASE_SCHEMA": "Bad-Name"], "DATABASE_SCHEMA must match"),
        (["DATABASE_URL": "postgres://app@db/jobs", "DATABASE_MAX_CONNECTIONS": "0"], "DATABASE_MAX_CONNECTIONS must be an integer >= 1"),
        (["DATABASE_URL": "postgres://app@db/jobs", "SHUTDOWN_GRACE_MS": "-1"], "SHUTDOWN_GRACE_MS must be an integer >= 0"),
        (["DATABASE_SCHEMA": "intake"], "DATABASE_SCHEMA is for the durable mode"),
    ] as [([String: String], String)])
    func badDatabaseSettingsAreRefused(environment: [String: String], message: String) {
        #expect {
            _ = try JobServerConfiguration.parse(arguments: [], environment: environment)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }
}
