// The service: the library's Dispatcher behind an HTTP responder.
//
// Invariants:
// - A payload is counted accepted once `Dispatcher.submit` has queued it
//   and returned, and processed once its upload has returned, so at rest
//   `accepted == processed` with nothing queued and no worker busy. Under
//   load a worker may finish a payload before its submitter has counted it,
//   so a reading may briefly show more processed than accepted (by at most
//   the submits in flight), as the Go server's counts can.
// - `POST /payload` answers 200 only after every payload of its collection
//   was queued; while the queue is full the request waits for room
//   (back-pressure), holding its connection, as the Go server's handler does,
//   or, with `OVERLOAD=refuse`, is answered 503 at once: the payloads before
//   the refused one stay queued, the others count as rejected.
// - Each count is kept twice, an atomic (`/stats`, the log) and a
//   swift-metrics counter (`/metrics`), and both change together, in
//   `Counts` alone.
//
// The hand-off from the server to the workers is the mixed-program path: the
// responder runs in a plain task of the server (on Swift's global executor,
// fed by NIO's event loops) and sends each job into the dispatcher's channel;
// the dispatcher and the workers are goroutines of `GoRuntime.shared`.
//
// In the durable mode (`configuration.durable`, DurableIntake.swift) the
// in-memory dispatcher is never started: `POST /payload`, `/stats` and
// `/metrics` go to the durable side after one check of that optional, so the
// in-memory mode's request path runs no database code.

import GoConcurrency
import Hummingbird
import Logging
import NIOCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The jobserver's state: its dispatcher, the counts `GET /stats` reports
/// and the metrics `GET /metrics` shows.
public final class JobService: Sendable {
    /// The largest body `POST /payload` takes (2 MiB); a larger one is
    /// answered 413.
    public static let maxBodySize = 2 << 20

    public let configuration: JobServerConfiguration
    public let dispatcher: Dispatcher<Payload>
    /// The service's Prometheus registry (JobMetrics.swift).
    public let metrics: JobMetrics
    /// The durable mode's jobs, pool and workers; nil in the in-memory mode.
    public let durable: DurableIntake?
    let counts: Counts
    let logger: Logger

    /// Counts shared with the workers' handler, which exists before `self`:
    /// each event adds to its atomic and to its metrics counter.
    final class Counts: Sendable {
        let accepted = Atomic<Int>(0)
        let processed = Atomic<Int>(0)
        let rejected = Atomic<Int>(0)
        let metrics: JobMetrics

        init(metrics: JobMetrics) { self.metrics = metrics }

        func accept() {
            accepted.add(1, ordering: .relaxed)
            metrics.accepted.increment()
        }

        /// `count` payloads at once (the durable mode's committed request).
        func accept(_ count: Int) {
            accepted.add(count, ordering: .relaxed)
            metrics.accepted.increment(by: count)
        }

        func process() {
            processed.add(1, ordering: .relaxed)
            metrics.processed.increment()
        }

        func reject(_ count: Int) {
            rejected.add(count, ordering: .relaxed)
            metrics.rejected.increment(by: count)
        }
    }

    /// A service whose dispatcher runs one upload per payload: `upload`, or
    /// by default a sleep of `configuration.uploadDelay` on the runtime's
    /// timers (none when zero), as the Go server's upload sleeps.
    public init(
        configuration: JobServerConfiguration,
        logger: Logger = Logger(label: "jobserver"),
        upload: (@Sendable (Payload) async -> Void)? = nil
    ) {
        self.configuration = configuration
        self.logger = logger
        let metrics = JobMetrics(durable: configuration.durable != nil)
        self.metrics = metrics
        let counts = Counts(metrics: metrics)
        self.counts = counts
        if let settings = configuration.durable {
            // The same upload, run by the durable workers; the default one
            // also stops sleeping when the shutdown's grace runs out (the job
            // then goes back to the database).
            let durableUpload: @Sendable (Payload, Context) async throws -> Void
            if let upload {
                durableUpload = { @Sendable payload, _ in await upload(payload) }
            } else {
                durableUpload = JobService.interruptibleUpload(configuration.uploadDelay)
            }
            self.durable = DurableIntake(
                settings: settings, workers: configuration.dispatcher.maxWorkers,
                maxQueue: configuration.dispatcher.maxQueue, logger: logger
            ) { payload, context in
                try await durableUpload(payload, context)
                counts.process()
            }
        } else {
            self.durable = nil
        }
        let upload = upload ?? JobService.sleepingUpload(configuration.uploadDelay)
        self.dispatcher = Dispatcher<Payload>(configuration: configuration.dispatcher) { payload in
            await upload(payload)
            counts.process()
        }
    }

    /// The Go server's upload: a sleep of `delay`, then a look at the data.
    static func sleepingUpload(_ delay: Duration) -> @Sendable (Payload) async -> Void {
        { payload in
            if delay > .zero {
                // Only a stop's grace cancels a worker's sleep, and this
                // service stops its dispatcher without one: the upload ends.
                try? await sleep(for: delay)
            }
            _ = payload.data.utf8.count
        }
    }

    /// Starts the dispatcher's workers (goroutines of the shared runtime);
    /// in the durable mode nothing (see ``startDurable()``).
    public func start() {
        guard durable == nil else { return }
        dispatcher.start()
    }

    /// Payloads queued so far.
    public var accepted: Int { counts.accepted.load(ordering: .relaxed) }
    /// Payloads whose upload has returned.
    public var processed: Int { counts.processed.load(ordering: .relaxed) }
    /// Payloads refused with a 503 (a full queue in `.refuse` mode, or stopping).
    public var rejected: Int { counts.rejected.load(ordering: .relaxed) }

    /// `GET /stats`'s answer, in the Go server's format.
    public var statsLine: String {
        // Processed before accepted, so the submits that complete while the
        // line is made only add to accepted (see the invariants).
        let processed = self.processed
        return "accepted \(accepted) processed \(processed) queued \(dispatcher.queueDepth) busy \(dispatcher.busyWorkers)\n"
    }

    /// `POST /payload`: decode the collection, queue one job per payload
    /// (waiting for room), then 200.
    func payload(_ request: Request) async -> Response {
        guard request.method == .post else { return Response(status: .methodNotAllowed) }
        if configuration.stage == .http { return Response(status: .ok) }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: JobService.maxBodySize)
        } catch is NIOTooManyBytesError {
            return Response(status: .contentTooLarge)
        } catch {
            return Response(status: .badRequest)
        }
        if configuration.stage == .body { return Response(status: .ok) }
        let collection: PayloadCollection
        do {
            collection = try JSONDecoder().decode(PayloadCollection.self, from: Data(body.readableBytesView))
        } catch {
            return Response(status: .badRequest)
        }
        if configuration.stage == .decode { return Response(status: .ok) }
        if let durable { return await durablePayload(collection.data, durable) }
        let refuse = configuration.overload == .refuse
        for (index, payload) in collection.data.enumerated() {
            do {
                if refuse {
                    guard try dispatcher.trySubmit(payload) else {
                        return refused(queued: index, of: collection.data.count)
                    }
                } else {
                    try await dispatcher.submit(payload)
                }
            } catch {
                // Stopping (Dispatcher.Stopped), or this request's task was
                // cancelled while it waited for room.
                logger.debug("payload refused", metadata: ["error": "\(error)"])
                return refused(queued: index, of: collection.data.count)
            }
            counts.accept()
        }
        return Response(status: .ok)
    }

    /// 503 with `Retry-After`: the payloads before the refused one are
    /// queued (they run), the rest are not; the body says how many.
    func refused(queued: Int, of count: Int) -> Response {
        counts.reject(count - queued)
        var headers = HTTPFields()
        headers[.retryAfter] = "1"
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(
            status: .serviceUnavailable, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: "queued \(queued) of \(count)\n")))
    }

    /// `GET /stats` (any method, as the Go server's handler takes any).
    func stats() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; charset=utf-8"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: statsLine)))
    }

    /// `GET /metrics` (any method, as `/stats`): the registry in Prometheus's
    /// text format, its gauges sampled now from the dispatcher and the runtime.
    func scrape() -> Response {
        let text = metrics.exposition(
            queueDepth: dispatcher.queueDepth, busyWorkers: dispatcher.busyWorkers,
            goroutines: GoRuntime.goroutineCount)
        var headers = HTTPFields()
        headers[.contentType] = JobMetrics.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
    }

    /// The HTTP application serving this service on `configuration`'s
    /// address, on `eventLoopGroup`'s threads (NIO's shared group when nil);
    /// `onServerRunning` learns the bound port (tests ask for 0).
    public func application(
        eventLoopGroup: (any EventLoopGroup)? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let logger = self.logger
        return Application(
            responder: JobResponder(service: self),
            // HTTP/1.0 requests get their connection closed after the
            // response (HTTP10Connections.swift).
            server: .http1(configuration: .init(additionalChannelHandlers: [InstallMarkConnectionClose()])),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
                await onServerRunning(port)
            },
            eventLoopGroupProvider: eventLoopGroup.map { .shared($0) } ?? .singleton,
            logger: logger
        )
    }

    /// Stops the dispatcher (after the server has stopped taking requests):
    /// every queued job is run (`.drain`) or handed back (`.returnQueued`);
    /// logs how many jobs were accepted, processed and handed back, and
    /// returns the handed-back ones.
    @discardableResult
    public func stop(_ mode: Dispatcher<Payload>.StopMode) async -> [Payload] {
        if let durable {
            await stopDurable(durable)
            return []
        }
        let handedBack = await dispatcher.stop(mode)
        logger.info("stopped", metadata: [
            "accepted": "\(accepted)",
            "processed": "\(processed)",
            "handed_back": "\(handedBack.count)",
            "rejected": "\(rejected)",
        ])
        return handedBack
    }
}

/// Routes the endpoints as the Go server's `http.HandleFunc` does: by exact
/// path, each handler seeing every method (so `/payload` can answer 405).
struct JobResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let service: JobService

    func respond(to request: Request, context: BasicRequestContext) async throws -> Response {
        switch request.uri.path {
        case "/payload": return await service.payload(request)
        case "/stats":
            if let durable = service.durable { return await service.durableStats(durable) }
            return service.stats()
        case "/metrics":
            if let durable = service.durable { return await service.durableScrape(durable) }
            return service.scrape()
        default: return Response(status: .notFound)
        }
    }
}
