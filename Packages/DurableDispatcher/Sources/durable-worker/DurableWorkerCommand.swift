// durable-worker: one worker process of the durable dispatcher, and the
// store's administration from the command line. Every machine runs
//
//     GC_DATABASE_URL=postgres://app@db.internal/app durable-worker --queue default=16
//
// against the same database; SIGTERM (or Ctrl-C) stops it gracefully: no
// more fetching, running jobs get the grace period, the rest go back.
import ArgumentParser
import DurableDispatcher
import Foundation
import GoConcurrency
import Logging
import PostgresNIO
import ServiceLifecycle

@main
struct DurableWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "durable-worker",
        abstract: "A worker process of GoConcurrency's durable dispatcher, and its administration.",
        subcommands: [Run.self, Migrate.self, Enqueue.self, Counts.self, Cancel.self, Retry.self],
        defaultSubcommand: Run.self
    )
}

/// Where the jobs are: the database and the schema.
struct DatabaseOptions: ParsableArguments {
    @Option(help: "The database, postgres://user[:password]@host[:port]/database[?sslmode=…] (default: $GC_DATABASE_URL).")
    var databaseURL: String?

    @Option(help: "The schema holding the jobs.")
    var schema = "gc"

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    @Option(help: "Connections in the pool (fetches, outcomes, handlers' queries).")
    var maxConnections = 20

    func url() throws -> String {
        guard let url = databaseURL ?? ProcessInfo.processInfo.environment["GC_DATABASE_URL"], !url.isEmpty else {
            throw ValidationError("no database: pass --database-url or set GC_DATABASE_URL")
        }
        return url
    }

    func validate() throws {
        guard schema.range(of: "^[a-z_][a-z0-9_]{0,62}$", options: .regularExpression) != nil else {
            throw ValidationError("--schema must match [a-z_][a-z0-9_]{0,62}")
        }
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = logLevel
        return logger
    }

    /// The pool's client and a store on it (the caller runs the client).
    func makeStore() throws -> (PostgresClient, JobStore) {
        let url = try url()
        guard var configuration = PostgresClient.Configuration(databaseURL: url) else {
            throw ValidationError("not a usable database URL: \(url)")
        }
        configuration.options.maximumConnections = maxConnections
        configuration.options.additionalStartupParameters = [
            ("application_name", "durable-worker-\(ProcessInfo.processInfo.processIdentifier)"),
            ("statement_timeout", "30s"),
            ("idle_in_transaction_session_timeout", "60s"),
        ]
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger("durable-worker.pool"))
        let store = JobStore(client: client, configuration: StoreConfiguration(schema: schema), logger: logger("durable-worker.store"))
        return (client, store)
    }

    /// Runs `body` with a store whose client runs meanwhile.
    func withStore<Value: Sendable>(_ body: (JobStore) async throws -> Value) async throws -> Value {
        let (client, store) = try makeStore()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(store)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run jobs until SIGTERM or SIGINT, then stop gracefully (the default command).")

    @OptionGroup var database: DatabaseOptions

    @Option(name: .customLong("queue"), help: "A queue and how many of its jobs run at once, NAME=N (repeatable; default: default=16).")
    var queues: [String] = []

    @Flag(help: "No LISTEN: find jobs by polling only (behind a transaction-mode connection pooler).")
    var pollOnly = false

    @Option(help: "Milliseconds between polls when nothing wakes a queue.")
    var pollIntervalMs = 1000

    @Option(help: "Seconds of silence after which a process counts as dead even if its lock is held.")
    var leaseSeconds = 30.0

    @Option(help: "Seconds of silence after which a process without its session lock counts as dead.")
    var lockGraceSeconds = 3.0

    @Option(help: "Seconds after a database restart during which session locks are not looked at.")
    var restartAllowanceSeconds = 10.0

    @Option(help: "Seconds running jobs get to finish at shutdown before their context is cancelled.")
    var graceSeconds = 10.0

    @Option(help: "Hours finalized jobs are kept (0: kept for ever).")
    var retentionHours = 24.0

    @Flag(help: "Do not create or upgrade the schema at start.")
    var noMigrate = false

    func parsedQueues() throws -> [String: Int] {
        if queues.isEmpty { return ["default": 16] }
        var parsed: [String: Int] = [:]
        for queue in queues {
            let parts = queue.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, !parts[0].isEmpty, let n = Int(parts[1]), n > 0 else {
                throw ValidationError("--queue takes NAME=N with N at least 1, got \(queue)")
            }
            parsed[String(parts[0])] = n
        }
        return parsed
    }

    func validate() throws {
        _ = try parsedQueues()
        guard pollIntervalMs > 0, leaseSeconds > 0, lockGraceSeconds >= 0, graceSeconds >= 0, retentionHours >= 0,
              restartAllowanceSeconds >= 0
        else {
            throw ValidationError("intervals must be positive")
        }
        // The heartbeat is every second: a process must miss more than one
        // before its lock's absence counts, and the lease is the last resort.
        guard lockGraceSeconds > 1, lockGraceSeconds < leaseSeconds else {
            throw ValidationError("--lock-grace-seconds must be more than 1 (the heartbeat interval) and less than --lease-seconds")
        }
    }

    func run() async throws {
        let logLevel = database.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = logLevel
            return handler
        }
        let url = try database.url()
        guard let control = PostgresConnection.Configuration(databaseURL: url) else {
            throw ValidationError("not a usable database URL: \(url)")
        }
        let (client, store) = try database.makeStore()
        let options = WorkerOptions(
            queues: try parsedQueues(),
            pollInterval: .milliseconds(pollIntervalMs),
            pollOnly: pollOnly,
            rescue: RescuePolicy(
                lease: .seconds(leaseSeconds), lockGrace: .seconds(lockGraceSeconds),
                restartAllowance: .seconds(restartAllowanceSeconds)),
            retention: retentionHours > 0 ? .seconds(retentionHours * 3600) : nil
        )
        let workers = DurableWorkers(
            store: store, control: control, options: options,
            handlers: BuiltInJobs.handlers(schema: database.schema), logger: database.logger("durable-worker"))
        let service = WorkerService(store: store, workers: workers, migrate: !noMigrate, grace: .seconds(graceSeconds))
        let group = ServiceGroup(
            services: [client, service],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: database.logger("durable-worker.lifecycle"))
        try await group.run()
    }
}

/// The worker process as a service: migrate, start, and at the group's
/// graceful shutdown (SIGTERM), shut down with the grace period. The pool
/// (listed before it) shuts down only after it.
struct WorkerService: Service {
    let store: JobStore
    let workers: DurableWorkers
    let migrate: Bool
    let grace: Duration

    func run() async throws {
        if migrate {
            try await store.migrate()
        }
        try await workers.start()
        try? await gracefulShutdown()
        let report = await workers.shutdown(grace: grace)
        store.logger.info("shut down", metadata: [
            "interrupted": "\(report.interrupted)", "notStarted": "\(report.notStarted)",
            "handedBack": "\(report.handedBack)", "deregistered": "\(report.deregistered)",
        ])
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create the schema, or bring it up to date.")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let found = try await database.withStore { try await $0.migrate() }
        print("schema \(database.schema): version \(found) found, \(JobStore.schemaVersion) now")
    }
}

struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Enqueue jobs; prints each new job's id (or the live duplicate's).")
    @OptionGroup var database: DatabaseOptions

    @Option(help: "The job's kind (durable-worker runs noop, sleep {\"ms\":N} and chaos).")
    var kind: String

    @Option(help: "The arguments, as JSON.")
    var args = "{}"

    @Option(help: "The queue.")
    var queue = "default"

    @Option(help: "1 (first) to 4 (last).")
    var priority: Int16 = 1

    @Option(help: "Seconds from now before it may run.")
    var delaySeconds = 0.0

    @Option(help: "Attempts before it is discarded.")
    var maxAttempts: Int16 = 20

    @Option(help: "At most one live job with this key.")
    var uniqueKey: String?

    @Option(help: "How many such jobs.")
    var count = 1

    func run() async throws {
        let options = EnqueueOptions(
            queue: queue, priority: priority, schedule: delaySeconds > 0 ? .after(.seconds(delaySeconds)) : .now,
            maxAttempts: maxAttempts, uniqueKey: uniqueKey)
        try await database.withStore { store in
            for _ in 0..<max(count, 0) {
                switch try await store.enqueue(kind: kind, argsJSON: args, options: options) {
                case .inserted(let id): print(id.rawValue)
                case .duplicate(let id): print("\(id.rawValue) duplicate")
                }
            }
        }
    }
}

struct Counts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Jobs per queue and state.")
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        for count in try await database.withStore({ try await $0.counts() }) {
            print("\(count.queue)\t\(count.state)\t\(count.count)")
        }
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Cancel a job by id (a running one through its process).")
    @OptionGroup var database: DatabaseOptions
    @Argument var id: Int64

    func run() async throws {
        print(try await database.withStore { try await $0.cancel(JobID(id)) })
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Make a job that is not running available now.")
    @OptionGroup var database: DatabaseOptions
    @Argument var id: Int64

    func run() async throws {
        print(try await database.withStore { try await $0.retry(JobID(id)) })
    }
}
