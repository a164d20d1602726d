// PgbenchScriptTests: the pgbench script of the benchmark's ceiling is the
// library's own fetch and completion (their SQL text, in order, every
// placeholder replaced), and pgbench running it against the live database
// completes exactly one job per transaction and fails once the queue is empty.
@_spi(Benchmark) @testable import DurableDispatcher
import Foundation
import Logging
import PostgresNIO
import Testing

@Suite("DurableDispatcher pgbench script")
struct PgbenchScriptTests {
    static func offlineStore() -> JobStore {
        // Never run: rendering a script reaches no database.
        let client = PostgresClient(
            configuration: .init(host: "127.0.0.1", username: "nobody", password: nil, database: nil, tls: .disable),
            backgroundLogger: TestDatabase.quietLogger
        )
        return JobStore(client: client, configuration: StoreConfiguration(schema: "gc_script"), logger: TestDatabase.quietLogger)
    }

    @Test func theScriptHoldsTheLibrarysStatementsText() throws {
        let store = Self.offlineStore()
        let script = try store.pgbenchScript(queue: "bench", owner: WorkerID(42))
        let fetch = store.statements.fetch(queue: "bench", limit: 1, owner: 42)
        let complete = store.statements.complete(Fence(id: 1, attempt: 1, owner: 42, attemptedAtMicros: 1))
        // Every stretch of SQL between placeholders appears, in order: the
        // fetch first, the completion after it.
        var position = script.startIndex
        for query in [fetch, complete] {
            let pieces = query.sql.split(separator: #/\$[0-9]+/#, omittingEmptySubsequences: false)
            #expect(pieces.count == query.binds.count + 1)
            for piece in pieces {
                guard let found = script.range(of: piece, range: position..<script.endIndex) else {
                    Issue.record("missing from the script, or out of order: \(piece)")
                    return
                }
                position = found.upperBound
            }
        }
        #expect(!script.contains("$"))
        #expect(script.contains("LIMIT 1\n"))
        #expect(script.contains("queue = 'bench'"))
        #expect(script.components(separatedBy: "\n\\gset").count == 3)
        #expect(script.contains("AS attempted_at_us\n\\gset\n"))
        #expect(script.contains(":attempted_at_us"))
    }

    @Test func unknownParametersOrQueueNamesAreRefused() throws {
        let store = Self.offlineStore()
        #expect(throws: PgbenchScriptError.unsupportedQueueName("a:b")) {
            try store.pgbenchScript(queue: "a:b", owner: WorkerID(1))
        }
        // A parameter whose value (or type) is not the statement's: refused.
        let query = store.statements.complete(Fence(id: 5, attempt: 1, owner: 2, attemptedAtMicros: 3))
        #expect(throws: PgbenchScriptError.unmatchedParameters(statement: "complete")) {
            try PgbenchRendering.render(query, name: "complete", [
                .init(":id") { $0.append(Int64(5)) },
                .init(":attempt") { $0.append(Int32(1)) },
                .init("2") { $0.append(Int32(2)) },
                .init(":at") { $0.append(Int64(3)) },
            ])
        }
        // Matched by value whatever order they are listed in.
        let rendered = try PgbenchRendering.render(query, name: "complete", [
            .init(":at") { $0.append(Int64(3)) },
            .init("2") { $0.append(Int32(2)) },
            .init(":attempt") { $0.append(Int16(1)) },
            .init(":id") { $0.append(Int64(5)) },
        ])
        #expect(rendered.contains("WHERE id = :id AND attempt = :attempt AND owner = 2 AND state = 'running'"))
        #expect(rendered.contains("::int8 = :at\n"))
    }

    static let pgbench: String? = {
        if let path = ProcessInfo.processInfo.environment["GC_PGBENCH"], !path.isEmpty { return path }
        let root = "/usr/lib/postgresql"
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []
        return versions.compactMap(Int.init).sorted().reversed()
            .map { "\(root)/\($0)/bin/pgbench" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// pgbench's exit status and output.
    static func runPgbench(_ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(pgbench))
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test(.enabled(if: TestDatabase.available, "GC_DATABASE_URL is not set (.ci/postgres start)"),
          .enabled(if: pgbench != nil, "no pgbench (GC_PGBENCH, or /usr/lib/postgresql/*/bin)"))
    func pgbenchCompletesOneJobPerTransaction() async throws {
        try await TestDatabase.withStore { store in
            let url = try #require(TestDatabase.url)
            _ = try await store.enqueue(batch: (0..<40).map { NewJob(kind: "noop", argsJSON: #"{"n": \#($0)}"#, options: .init(queue: "bench")) })
            _ = try await store.enqueue(batch: (0..<3).map { _ in NewJob(kind: "noop", argsJSON: "{}", options: .init(queue: "other")) })
            let worker = try await store.registerWorker(host: "pgbench", pid: 1, queues: ["bench"])
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("gc-pgbench-\(UUID().uuidString).sql")
            try store.pgbenchScript(queue: "bench", owner: worker).write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }

            let (status, output) = try Self.runPgbench(["-n", "-M", "prepared", "-c", "1", "-t", "25", "-f", file.path, url])
            #expect(status == 0, "\(output)")
            #expect(output.contains("number of transactions actually processed: 25/25"), "\(output)")
            #expect(try await store.sql("""
                SELECT concat_ws(' ', queue, state, count(*), min(attempt), max(attempt), min(owner), max(owner))
                FROM $schema.gc_jobs GROUP BY queue, state ORDER BY queue, state
                """) == [
                    "bench available 15 0 0",
                    "bench completed 25 1 1 \(worker.rawValue) \(worker.rawValue)",
                    "other available 3 0 0",
                ])
            // The first 25 in the queue's order were the ones completed.
            #expect(try await store.scalar("""
                SELECT string_agg((args ->> 'n'), ',' ORDER BY id) FROM $schema.gc_jobs WHERE state = 'completed'
                """) == (0..<25).map(String.init).joined(separator: ","))

            // Asking for more than the 15 left: the fetch's \gset finds no
            // row and pgbench fails, rather than counting empty transactions.
            let (emptied, emptiedOutput) = try Self.runPgbench(["-n", "-M", "prepared", "-c", "1", "-t", "20", "-f", file.path, url])
            #expect(emptied != 0, "\(emptiedOutput)")
            #expect(try await store.sql("""
                SELECT concat_ws(' ', queue, state, count(*)) FROM $schema.gc_jobs GROUP BY queue, state ORDER BY queue, state
                """) == ["bench completed 40", "other available 3"])
        }
    }
}
