// TestDatabase: the live PostgreSQL the tests run against (GC_DATABASE_URL,
// from `.ci/postgres start`), a schema of its own per test, dropped after it.
import DurableDispatcher
import Foundation
import Logging
import PostgresNIO
import Testing

enum TestDatabase {
    static let url = ProcessInfo.processInfo.environment["GC_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    /// `GC_REQUIRE_DATABASE=1` (CI): a missing or unreachable database fails.
    static let required = ProcessInfo.processInfo.environment["GC_REQUIRE_DATABASE"] == "1"
    static var available: Bool { url != nil }

    static let quietLogger = Logger(label: "DurableDispatcherTests") { _ in SwiftLogNoOpLogHandler() }

    static func freshSchemaName() -> String {
        "gc_t_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    /// Runs `body` with a running client of at most `maxConnections`
    /// connections, and a store on a new, migrated schema that is dropped
    /// afterwards, whatever `body` did.
    static func withStore(
        maxConnections: Int = 8,
        retryPolicy: RetryPolicy = .default,
        notifyOnEnqueue: Bool = true,
        migrate: Bool = true,
        _ body: (JobStore) async throws -> Void
    ) async throws {
        let url = try #require(TestDatabase.url, "GC_DATABASE_URL is not set")
        var configuration = try #require(PostgresClient.Configuration(databaseURL: url), "bad GC_DATABASE_URL: \(url)")
        configuration.options.maximumConnections = maxConnections
        configuration.options.additionalStartupParameters = [
            ("application_name", "gc-durable-tests"),
            ("statement_timeout", "30s"),
            // A statement waiting on a row lock this long is a bug under test.
            ("lock_timeout", "10s"),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: quietLogger)
        let schema = freshSchemaName()
        let store = JobStore(
            client: client,
            configuration: StoreConfiguration(schema: schema, retryPolicy: retryPolicy, notifyOnEnqueue: notifyOnEnqueue),
            logger: quietLogger
        )
        let runner = Task { await client.run() }
        var failure: (any Error)?
        do {
            if migrate { try await store.migrate() }
            try await body(store)
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
    /// Runs a statement on the store's schema (`$schema` stands for it) and
    /// returns the first column of every row as text.
    func sql(_ text: String) async throws -> [String?] {
        let query = PostgresQuery(unsafeSQL: text.replacingOccurrences(of: "$schema", with: "\"\(configuration.schema)\""))
        var values: [String?] = []
        for try await value in try await client.query(query).decode(String?.self) {
            values.append(value)
        }
        return values
    }

    func scalar(_ text: String) async throws -> String? {
        try await sql(text).first ?? nil
    }
}
