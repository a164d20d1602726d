// jobserver -addr HOST:PORT
// env: MAX_WORKERS (default 100), MAX_QUEUE (default 100), UPLOAD_MS (default 0)
//
// POST /payload: a JSON collection of payloads, one upload job each; 200 once
// every payload is queued (waiting for room while the queue is full), 400 on
// bad JSON, 413 over 2 MiB, 405 on other methods.
// GET /stats: "accepted A processed P queued Q busy B\n".
// GET /metrics: Prometheus's text format: jobserver_jobs_accepted_total,
// jobserver_jobs_processed_total, jobserver_jobs_rejected_total (counters),
// jobserver_queue_depth, jobserver_busy_workers, jobserver_goroutines (gauges
// sampled at the scrape); recorded through swift-metrics into the service's
// registry, which the process's global MetricsSystem records into too.
// env OVERLOAD=refuse: a full queue answers 503 with Retry-After at once.
// On SIGTERM or SIGINT it stops taking connections, lets the requests in
// flight finish, runs every queued job (SHUTDOWN=return: hands them back
// unrun, counted in the log), logs the counts and exits 0.
// env EVENT_LOOPS: NIO event loop threads (default: GOMAXPROCS, as Go's
// network poller serves its processors). GO_ROUTE=preference keeps the
// request handlers on Swift's own global executor, GO_ROUTE=global asks for
// the runtime as that executor (the default where available; see below).
// env JOBSERVER_STAGE (http, body or decode): for measurement only, answers
// 200 after that stage of a request and queues nothing.
// env DATABASE_URL (postgres://…): the durable mode. Each request's payloads
// become jobs in PostgreSQL in one transaction (200 once it has committed),
// and this process runs them with DurableDispatcher's workers, MAX_WORKERS at
// once; OVERLOAD=refuse answers 503 while MAX_QUEUE jobs wait in the
// database. DATABASE_SCHEMA (default gc), DATABASE_MAX_CONNECTIONS (default
// 20), SHUTDOWN_GRACE_MS (default 10000: how long running uploads may finish
// at a SIGTERM before they go back to the database).

import CoreMetrics
import GoConcurrency
import JobServerCore
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints `jobserver: message` and exits with status 2, as for any bad setting.
func refuse(_ message: String) -> Never {
    let line = "jobserver: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

// Before any task starts: GoConcurrency's runtime becomes Swift's global
// executor where that route is available, so Hummingbird's request handlers
// run on the runtime's processors beside the dispatcher and its workers (the
// same GOMAXPROCS threads, and a handler's hand-off to the dispatcher stays
// on its processor) instead of on Swift's own thread pool. The connections'
// event loops keep threads of their own.
let route: GoRuntime.Route
switch getenv("GO_ROUTE").map({ String(cString: $0) }) {
case nil, "":
    route = GoRuntime.Route.globalExecutor.isAvailable ? .globalExecutor : .executorPreference
case let raw?:
    guard let chosen = GoRuntime.Route(rawValue: raw) else {
        refuse("GO_ROUTE must be preference or global, got \"\(raw)\"")
    }
    guard chosen.isAvailable else {
        refuse("GO_ROUTE=global: the global-executor route is not verified on this toolchain; use preference")
    }
    route = chosen
}
if route == .globalExecutor {
    GoRuntime.installAsGlobalExecutor()
}

var environment: [String: String] = [:]
for name in [
    "MAX_WORKERS", "MAX_QUEUE", "UPLOAD_MS", "OVERLOAD", "SHUTDOWN", "EVENT_LOOPS", "JOBSERVER_STAGE",
    "DATABASE_URL", "DATABASE_SCHEMA", "DATABASE_MAX_CONNECTIONS", "SHUTDOWN_GRACE_MS",
] {
    if let value = getenv(name) { environment[name] = String(cString: value) }
}
let configuration: JobServerConfiguration
do {
    configuration = try JobServerConfiguration.parse(
        arguments: Array(CommandLine.arguments.dropFirst()), environment: environment)
} catch {
    refuse("\(error)")
}

var logger = Logger(label: "jobserver")
if let level = getenv("LOG_LEVEL").flatMap({ Logger.Level(rawValue: String(cString: $0)) }) {
    logger.logLevel = level
}
logger.info("configuration", metadata: [
    "workers": "\(configuration.dispatcher.maxWorkers)",
    "queue": "\(configuration.dispatcher.maxQueue)",
    "upload": "\(configuration.uploadDelay)",
    "overload": "\(configuration.overload)",
    "shutdown": "\(configuration.shutdown)",
    "route": "\(route.rawValue)",
    "mode": "\(configuration.durable == nil ? "memory" : "durable")",
])
if let durable = configuration.durable {
    logger.info("durable mode", metadata: [
        "schema": "\(durable.schema)", "queue": "\(durable.queue)",
        "connections": "\(durable.maxConnections)", "grace": "\(durable.grace)",
    ])
}
if let stage = configuration.stage {
    logger.warning("measuring: POST /payload answers after this stage and queues nothing", metadata: [
        "stage": "\(stage.rawValue)",
    ])
}
let service = JobService(configuration: configuration, logger: logger)
// What any library records through swift-metrics shows on /metrics too.
MetricsSystem.bootstrap(service.metrics.factory)
service.start()
if service.durable != nil {
    // After the bootstrap: the workers' metrics land in the service's registry.
    do {
        try await service.startDurable()
    } catch {
        logger.error("durable mode failed to start", metadata: ["error": "\(String(reflecting: error))"])
        exit(1)
    }
}
// The connections' event loops: EVENT_LOOPS threads, by default one per
// processor of the runtime.
let eventLoops = MultiThreadedEventLoopGroup(
    numberOfThreads: configuration.eventLoops ?? GoRuntime.shared.processorCount)
do {
    // Returns once a SIGTERM or SIGINT has stopped the server gracefully.
    try await service.application(eventLoopGroup: eventLoops).runService()
} catch {
    logger.error("server failed", metadata: ["error": "\(error)"])
    exit(1)
}
await service.stop(configuration.shutdown)
try? await eventLoops.shutdownGracefully()
exit(0)
