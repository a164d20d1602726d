// durable-bench: what the benchmark scripts (Scripts/ceiling) ask of the
// library — migrate a schema, prefill it with no-op jobs through the batch
// enqueue, and print the pgbench script of the library's own fetch and
// completion. Each subcommand takes the database's URL (`--database-url`, or
// GC_DATABASE_URL) and the schema (`--schema`).
import ArgumentParser
@_spi(Benchmark) import DurableDispatcher
import Foundation
import Logging
import PostgresNIO

@main
struct DurableBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-bench",
        abstract: "Benchmark helpers for the durable dispatcher.",
        subcommands: [Migrate.self, Prefill.self, PgbenchScriptCommand.self]
    )
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: "postgres://user@host:port/database (default: $GC_DATABASE_URL)")
    var databaseURL: String = ProcessInfo.processInfo.environment["GC_DATABASE_URL"] ?? ""

    @Option(help: "The store's schema.")
    var schema: String = "gc"

    func validate() throws {
        guard PostgresClient.Configuration(databaseURL: databaseURL) != nil else {
            throw ValidationError("no usable --database-url (nor GC_DATABASE_URL): '\(databaseURL)'")
        }
        guard schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw ValidationError("--schema must match [a-z_][a-z0-9_]{0,62}: \(schema)")
        }
    }

    /// Runs `body` with a store over a running client, closed afterwards.
    func withStore<Value: Sendable>(_ body: (JobStore) async throws -> Value) async throws -> Value {
        guard let configuration = PostgresClient.Configuration(databaseURL: databaseURL) else {
            throw ValidationError("bad --database-url: \(databaseURL)")
        }
        // To stderr: stdout carries what a script reads (the pgbench script).
        var logger = Logger(label: "durable-bench") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = .error
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let store = JobStore(client: client, configuration: StoreConfiguration(schema: schema), logger: logger)
        let runner = Task { await client.run() }
        let result: Result<Value, any Error>
        do {
            result = .success(try await body(store))
        } catch {
            result = .failure(error)
        }
        runner.cancel()
        await runner.value
        return try result.get()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the schema or bring it to the current version.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let found = try await database.withStore { try await $0.migrate() }
        print("schema \(database.schema): version \(JobStore.schemaVersion) (found \(found))")
    }
}

struct Prefill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enqueue COUNT jobs of KIND with empty arguments in one batch (one transaction); print the time taken."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "How many jobs.")
    var count: Int

    @Option(help: "Their queue.")
    var queue: String = "bench"

    @Option(help: "Their kind.")
    var kind: String = "noop"

    func validate() throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
    }

    func run() async throws {
        let job = NewJob(kind: kind, argsJSON: "{}", options: EnqueueOptions(queue: queue))
        let batch = [NewJob](repeating: job, count: count)
        let clock = ContinuousClock()
        let start = clock.now
        let ids = try await database.withStore { try await $0.enqueue(batch: batch) }
        let elapsed = clock.now - start
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print(String(
            format: "prefilled %d jobs (queue %@, kind %@) in %.2f s: %.0f jobs/s",
            ids.count, queue, kind, seconds, Double(ids.count) / seconds
        ))
    }
}

struct PgbenchScriptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pgbench-script",
        abstract: "Print the pgbench script of one job's fetch (LIMIT 1) and fenced completion, as the library runs them."
    )

    @OptionGroup var database: DatabaseOptions

    @Option(help: "The queue to fetch from.")
    var queue: String = "bench"

    @Option(help: "The owner the fetch records (default: a worker registered now, host 'pgbench').")
    var owner: Int32?

    func run() async throws {
        let queue = self.queue
        let owner = self.owner
        let script = try await database.withStore { store in
            let worker: WorkerID
            if let owner {
                worker = WorkerID(owner)
            } else {
                worker = try await store.registerWorker(host: "pgbench", pid: ProcessInfo.processInfo.processIdentifier, queues: [queue])
            }
            return try store.pgbenchScript(queue: queue, owner: worker)
        }
        print(script, terminator: "")
    }
}
