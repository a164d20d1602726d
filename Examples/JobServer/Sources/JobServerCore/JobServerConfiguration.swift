// What the jobserver is told at start: where to listen (`-addr HOST:PORT`) and,
// from the environment, how many workers, how many queued jobs and how long
// one upload takes. The names, defaults and limits are those of the Go server
// it is measured against, so one command line and environment run either;
// OVERLOAD and SHUTDOWN are this server's own (the Go server only waits, and
// has no graceful stop), as is the durable mode (DATABASE_URL: the jobs kept
// in PostgreSQL by the DurableDispatcher package instead of in memory).

import DurableDispatcher
import GoConcurrency
import PostgresNIO

/// The jobserver's settings: its address, its dispatcher's size and the time
/// one upload takes.
public struct JobServerConfiguration: Sendable, Equatable {
    /// The host to listen on (a name or a numeric address; `0.0.0.0` when
    /// `-addr` gives none, as in `:8080`).
    public var host: String
    /// The port; 0 asks the system for a free one (tests).
    public var port: Int
    /// Workers and queue length (`MAX_WORKERS`, `MAX_QUEUE`; 100 each by default).
    public var dispatcher: Dispatcher<Payload>.Configuration
    /// How long one upload sleeps (`UPLOAD_MS`; 0 by default: no sleep).
    public var uploadDelay: Duration
    /// What `POST /payload` does when the queue is full (`OVERLOAD`).
    public var overload: Overload
    /// What a SIGTERM or SIGINT does with the queued jobs (`SHUTDOWN`).
    public var shutdown: Dispatcher<Payload>.StopMode
    /// How many NIO event loop threads serve the connections (`EVENT_LOOPS`);
    /// nil: the `jobserver` program makes one per processor of the runtime
    /// (GOMAXPROCS). Read by the program, which makes the group and passes
    /// it to `JobService.application(eventLoopGroup:)`; the service itself
    /// does not read it.
    public var eventLoops: Int?
    /// For measurement only (`JOBSERVER_STAGE`): `POST /payload` answers 200
    /// once this stage of its work is done, and queues nothing. nil (the
    /// default): the whole service.
    public var stage: Stage?
    /// The durable mode (`DATABASE_URL` set): each payload becomes a job in
    /// PostgreSQL and this process's durable workers run it. nil (the
    /// default): the in-memory Dispatcher.
    public var durable: Durable?

    /// Where and how the durable mode keeps its jobs (DurableIntake.swift).
    public struct Durable: Sendable, Equatable {
        /// `DATABASE_URL`: `postgres://user[:password]@host[:port]/database[?sslmode=…]`.
        public var databaseURL: String
        /// `DATABASE_SCHEMA` (default `gc`, the `durable-worker` tool's):
        /// the schema holding the jobs, created or upgraded at start.
        public var schema: String
        /// `DATABASE_MAX_CONNECTIONS` (default 20): the pool shared by the
        /// requests' transactions and the workers' fetches and outcomes.
        public var maxConnections: Int
        /// `SHUTDOWN_GRACE_MS` (default 10000): at a SIGTERM, how long
        /// running uploads may go on before they are interrupted and handed
        /// back to the database (`SHUTDOWN=return`: none, they are
        /// interrupted at once).
        public var grace: Duration
        /// The queue of the payload jobs.
        public var queue: String
        /// The kind of the payload jobs.
        public static let kind = "payload"

        public init(
            databaseURL: String, schema: String = "gc", maxConnections: Int = 20,
            grace: Duration = .seconds(10), queue: String = "payloads"
        ) {
            self.databaseURL = databaseURL
            self.schema = schema
            self.maxConnections = maxConnections
            self.grace = grace
            self.queue = queue
        }
    }

    /// How far `POST /payload` goes before it answers, when measuring what
    /// each part of a request costs (BENCHMARKS.md's floors).
    public enum Stage: String, Sendable, Equatable {
        /// Answer 200 without reading the body: the HTTP server alone.
        case http
        /// Read the whole body, then 200.
        case body
        /// Read and decode the JSON collection, then 200 (400 if it is bad).
        case decode
    }

    /// What `POST /payload` does when the queue is full.
    public enum Overload: String, Sendable, Equatable {
        /// Wait for room, holding the request (back-pressure; the default,
        /// and the Go server's only way).
        case wait
        /// Answer 503 with `Retry-After` at once (`Dispatcher.trySubmit`).
        case refuse
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8080,
        dispatcher: Dispatcher<Payload>.Configuration = .init(maxWorkers: 100, maxQueue: 100),
        uploadDelay: Duration = .zero,
        overload: Overload = .wait,
        shutdown: Dispatcher<Payload>.StopMode = .drain,
        eventLoops: Int? = nil,
        stage: Stage? = nil,
        durable: Durable? = nil
    ) {
        self.host = host
        self.port = port
        self.dispatcher = dispatcher
        self.uploadDelay = uploadDelay
        self.overload = overload
        self.shutdown = shutdown
        self.eventLoops = eventLoops
        self.stage = stage
        self.durable = durable
    }

    /// A command line or environment the jobserver cannot run with; its
    /// description is the message the program prints before it exits with 2.
    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    public static let usage = """
        usage: jobserver [-addr HOST:PORT]
          env: MAX_WORKERS (default 100), MAX_QUEUE (default 100), UPLOAD_MS (default 0),
               OVERLOAD (wait or refuse; default wait), SHUTDOWN (drain or return; default drain),
               EVENT_LOOPS (NIO event loop threads; default GOMAXPROCS),
               JOBSERVER_STAGE (measurement only: http, body or decode; answers 200 after it, queues nothing)
               GO_ROUTE (global or preference: where request handlers run; default global where available)
               DATABASE_URL (postgres://…: the durable mode, jobs kept in PostgreSQL), DATABASE_SCHEMA (default gc),
               DATABASE_MAX_CONNECTIONS (default 20), SHUTDOWN_GRACE_MS (durable mode; default 10000)
        """

    /// From the program's arguments (without its name) and environment.
    ///
    /// - Throws: ``Invalid`` for an unknown flag, a bad address, or a variable
    ///   that is not a whole number in range.
    public static func parse(arguments: [String], environment: [String: String]) throws -> JobServerConfiguration {
        var configuration = JobServerConfiguration()
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            // Go's flag package takes -addr, --addr, -addr=X and --addr=X.
            let flag = argument.hasPrefix("--") ? argument.dropFirst(2) : argument.hasPrefix("-") ? argument.dropFirst() : nil
            guard let flag else { throw Invalid("unexpected argument \"\(argument)\"\n\(usage)") }
            let name: Substring
            let value: String
            if let equals = flag.firstIndex(of: "=") {
                name = flag[..<equals]
                value = String(flag[flag.index(after: equals)...])
            } else {
                name = flag
                if name == "h" || name == "help" { throw Invalid(usage) }
                guard let next = rest.popFirst() else { throw Invalid("flag needs an argument: -\(name)\n\(usage)") }
                value = next
            }
            guard name == "addr" else { throw Invalid("flag provided but not defined: -\(name)\n\(usage)") }
            (configuration.host, configuration.port) = try address(value)
        }
        // The dispatcher's own reading of MAX_WORKERS and MAX_QUEUE, with
        // this server's defaults (the Go server's) for unset ones.
        var dispatcherEnvironment = environment
        dispatcherEnvironment["MAX_WORKERS"] = environment["MAX_WORKERS"] ?? "100"
        dispatcherEnvironment["MAX_QUEUE"] = environment["MAX_QUEUE"] ?? "100"
        do {
            configuration.dispatcher = try .fromEnvironment(dispatcherEnvironment)
        } catch let error as Dispatcher<Payload>.Configuration.InvalidValue {
            throw Invalid(error.description)
        }
        if let raw = environment["UPLOAD_MS"] {
            guard let milliseconds = Int(raw), milliseconds >= 0 else {
                throw Invalid("UPLOAD_MS must be an integer >= 0, got \"\(raw)\"")
            }
            configuration.uploadDelay = .milliseconds(milliseconds)
        }
        if let raw = environment["OVERLOAD"] {
            guard let overload = Overload(rawValue: raw) else {
                throw Invalid("OVERLOAD must be wait or refuse, got \"\(raw)\"")
            }
            configuration.overload = overload
        }
        switch environment["SHUTDOWN"] {
        case nil, "drain": configuration.shutdown = .drain
        case "return": configuration.shutdown = .returnQueued
        case let raw?: throw Invalid("SHUTDOWN must be drain or return, got \"\(raw)\"")
        }
        if let raw = environment["EVENT_LOOPS"] {
            guard let loops = Int(raw), loops >= 1 else {
                throw Invalid("EVENT_LOOPS must be an integer >= 1, got \"\(raw)\"")
            }
            configuration.eventLoops = loops
        }
        if let raw = environment["JOBSERVER_STAGE"] {
            guard let stage = Stage(rawValue: raw) else {
                throw Invalid("JOBSERVER_STAGE must be http, body or decode, got \"\(raw)\"")
            }
            configuration.stage = stage
        }
        if let url = environment["DATABASE_URL"], !url.isEmpty {
            configuration.durable = try durable(url: url, environment: environment, shutdown: configuration.shutdown)
        } else {
            for name in ["DATABASE_SCHEMA", "DATABASE_MAX_CONNECTIONS", "SHUTDOWN_GRACE_MS"] where environment[name] != nil {
                throw Invalid("\(name) is for the durable mode, which DATABASE_URL turns on")
            }
        }
        return configuration
    }

    /// The durable mode's settings from the environment.
    static func durable(url: String, environment: [String: String], shutdown: Dispatcher<Payload>.StopMode) throws -> Durable {
        // Both the pool's and the control connection's reading of it.
        guard PostgresClient.Configuration(databaseURL: url) != nil,
              PostgresConnection.Configuration(databaseURL: url) != nil
        else {
            throw Invalid("DATABASE_URL must be postgres://user[:password]@host[:port]/database[?sslmode=disable|prefer|require|verify-full], got \"\(url)\"")
        }
        var durable = Durable(databaseURL: url)
        if let schema = environment["DATABASE_SCHEMA"] {
            // StoreConfiguration's rule, checked here so that a bad name is a
            // message and exit 2, not its precondition.
            let isLetter = { (c: UInt8) in (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || c == UInt8(ascii: "_") }
            let isDigit = { (c: UInt8) in c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
            guard let first = schema.utf8.first, isLetter(first), schema.utf8.count <= 63,
                  schema.utf8.allSatisfy({ isLetter($0) || isDigit($0) })
            else {
                throw Invalid("DATABASE_SCHEMA must match [a-z_][a-z0-9_]{0,62}, got \"\(schema)\"")
            }
            durable.schema = schema
        }
        if let raw = environment["DATABASE_MAX_CONNECTIONS"] {
            guard let connections = Int(raw), connections >= 1 else {
                throw Invalid("DATABASE_MAX_CONNECTIONS must be an integer >= 1, got \"\(raw)\"")
            }
            durable.maxConnections = connections
        }
        if let raw = environment["SHUTDOWN_GRACE_MS"] {
            guard let milliseconds = Int(raw), milliseconds >= 0 else {
                throw Invalid("SHUTDOWN_GRACE_MS must be an integer >= 0, got \"\(raw)\"")
            }
            durable.grace = .milliseconds(milliseconds)
        }
        if shutdown == .returnQueued { durable.grace = .zero }
        return durable
    }

    /// `HOST:PORT` (`[v6]:PORT` for an IPv6 address; an empty host listens
    /// on every interface, as Go's `:8080` does).
    static func address(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"),
              let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port)
        else {
            throw Invalid("-addr must be HOST:PORT with a port from 0 to 65535, got \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return (host, port)
    }
}
