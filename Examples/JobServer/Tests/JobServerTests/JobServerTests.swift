// The jobserver against a live server on an ephemeral port (HummingbirdTesting's
// live mode: a real HTTP/1 client over a real socket), and its configuration.

import GoConcurrency
import Hummingbird
import HummingbirdTesting
import JobServerCore
import Logging
import NIOCore
import Synchronization
import Testing

/// A collection of `count` payloads as the Go server's clients send it.
func collection(_ count: Int, data: String = "0123456789") -> ByteBuffer {
    let payloads = (0..<count).map { "{\"name\":\"p\($0)\",\"data\":\"\(data)\"}" }
    return ByteBuffer(string: "{\"version\":\"1\",\"token\":\"t\",\"data\":[\(payloads.joined(separator: ","))]}")
}

/// `GET /stats` parsed: accepted, processed, queued, busy.
struct Stats: Equatable, CustomStringConvertible {
    var accepted = 0, processed = 0, queued = 0, busy = 0
    var description: String { "accepted \(accepted) processed \(processed) queued \(queued) busy \(busy)" }
}

func stats(_ client: some TestClientProtocol) async throws -> Stats {
    let response = try await client.execute(uri: "/stats", method: .get)
    #expect(response.status == .ok)
    let line = String(buffer: response.body)
    // Exactly the Go server's format: four name-value pairs and a newline.
    #expect(line.hasSuffix("\n"))
    let fields = line.dropLast().split(separator: " ", omittingEmptySubsequences: false)
    try #require(fields.count == 8, "stats line \(line)")
    #expect(fields[0] == "accepted" && fields[2] == "processed" && fields[4] == "queued" && fields[6] == "busy")
    func number(_ i: Int) throws -> Int { try #require(Int(fields[i]), "stats line \(line)") }
    return Stats(accepted: try number(1), processed: try number(3), queued: try number(5), busy: try number(7))
}

/// Polls `/stats` until `condition` holds; fails after a generous bound (the
/// bound is a guard against a hang, not a timing assertion).
@discardableResult
func waitForStats(
    _ client: some TestClientProtocol, sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: (Stats) -> Bool
) async throws -> Stats {
    var last = Stats()
    for _ in 0..<6000 {
        last = try await stats(client)
        if condition(last) { return last }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("stats never reached the expected state; last: \(last)", sourceLocation: sourceLocation)
    return last
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
}

func service(
    workers: Int = 4, queue: Int = 8, overload: JobServerConfiguration.Overload = .wait,
    upload: (@Sendable (Payload) async -> Void)? = nil
) -> JobService {
    let configuration = JobServerConfiguration(
        host: "127.0.0.1", port: 0,
        dispatcher: .init(maxWorkers: workers, maxQueue: queue), overload: overload)
    var logger = Logger(label: "jobserver-test")
    logger.logLevel = .warning
    let service = JobService(configuration: configuration, logger: logger, upload: upload)
    service.start()
    return service
}

@Suite struct JobServerLiveTests {
    @Test func payloadsAreQueuedAndEveryOneIsProcessed() async throws {
        let service = service(workers: 3, queue: 5)
        try await service.application().test(.live) { client in
            // Given: nothing submitted yet.
            #expect(try await stats(client) == Stats())
            // When: three collections, 40 payloads in all (more than the
            // queue holds at once).
            for count in [10, 25, 5] {
                let response = try await client.execute(uri: "/payload", method: .post, body: collection(count))
                #expect(response.status == .ok)
            }
            // Then: each was accepted, and every one is processed.
            #expect(try await stats(client).accepted == 40)
            try await waitForStats(client) { $0 == Stats(accepted: 40, processed: 40, queued: 0, busy: 0) }
        }
        #expect(await service.stop(.drain).isEmpty)
    }

    @Test func anEmptyOrLenientCollectionIsAccepted() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            // No data, unknown fields, payloads with missing fields: Go's
            // decoder takes all of them.
            for body in ["{}", "{\"data\":[]}", "{\"extra\":1,\"data\":[{},{\"name\":\"x\"}]}"] {
                let response = try await client.execute(uri: "/payload", method: .post, body: ByteBuffer(string: body))
                #expect(response.status == .ok, "\(body)")
            }
            try await waitForStats(client) { $0 == Stats(accepted: 2, processed: 2, queued: 0, busy: 0) }
        }
        await service.stop(.drain)
    }

    @Test func badJSONIsABadRequestAndQueuesNothing() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            for body in ["", "{", "not json", "{\"data\":5}", "{\"data\":[{\"name\":7}]}"] {
                let response = try await client.execute(uri: "/payload", method: .post, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body)")
            }
            #expect(try await stats(client) == Stats())
        }
        await service.stop(.drain)
    }

    @Test(arguments: [JobServerConfiguration.Stage.http, .body, .decode])
    func aMeasuringStageAnswersWithoutQueueing(stage: JobServerConfiguration.Stage) async throws {
        var configuration = JobServerConfiguration(host: "127.0.0.1", port: 0, stage: stage)
        configuration.dispatcher = .init(maxWorkers: 2, maxQueue: 2)
        var logger = Logger(label: "jobserver-test")
        logger.logLevel = .error
        let service = JobService(configuration: configuration, logger: logger)
        service.start()
        try await service.application().test(.live) { client in
            // More payloads than the queue holds: a stage that queued would
            // hold the request, or count them.
            let response = try await client.execute(uri: "/payload", method: .post, body: collection(10))
            #expect(response.status == .ok)
            // Only the decode stage reads the JSON.
            let bad = try await client.execute(uri: "/payload", method: .post, body: ByteBuffer(string: "not json"))
            #expect(bad.status == (stage == .decode ? .badRequest : .ok))
            // Other methods are still refused.
            #expect(try await client.execute(uri: "/payload", method: .get).status == .methodNotAllowed)
            #expect(try await stats(client) == Stats())
        }
        #expect(await service.stop(.drain).isEmpty)
    }

    @Test func aBodyOver2MiBIsTooLarge() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            // Valid JSON, one byte over the limit: refused for its size.
            let padding = String(repeating: "x", count: JobService.maxBodySize)
            let response = try await client.execute(uri: "/payload", method: .post, body: collection(1, data: padding))
            #expect(response.status == .contentTooLarge)
        }
        #expect(service.accepted == 0)
        await service.stop(.drain)
    }

    @Test func aBodyJustUnder2MiBIsTaken() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            let overhead = collection(1, data: "").readableBytes
            let body = collection(1, data: String(repeating: "x", count: JobService.maxBodySize - overhead))
            #expect(body.readableBytes == JobService.maxBodySize)
            let response = try await client.execute(uri: "/payload", method: .post, body: body)
            #expect(response.status == .ok)
            try await waitForStats(client) { $0.processed == 1 }
        }
        await service.stop(.drain)
    }

    @Test func otherMethodsOnPayloadAreNotAllowed() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            for method in [HTTPRequest.Method.get, .put, .delete, .patch] {
                let response = try await client.execute(uri: "/payload", method: method, body: collection(1))
                #expect(response.status == .methodNotAllowed, "\(method)")
            }
            #expect(try await client.execute(uri: "/nowhere", method: .get).status == .notFound)
            #expect(try await stats(client) == Stats())
        }
        await service.stop(.drain)
    }

    @Test func statsShowQueuedAndBusyJobs() async throws {
        // Given: one worker whose uploads wait for the test, a queue of 4.
        let gate = Chan<Void>()
        let service = service(workers: 1, queue: 4) { _ in _ = try? await gate.receive() }
        try await service.application().test(.live) { client in
            // When: 4 payloads (the worker takes one, the dispatcher holds one,
            // two wait in the queue).
            #expect(try await client.execute(uri: "/payload", method: .post, body: collection(4)).status == .ok)
            // Then: /stats shows them where they are.
            try await waitForStats(client) { $0 == Stats(accepted: 4, processed: 0, queued: 3, busy: 1) }
            try gate.close()
            try await waitForStats(client) { $0 == Stats(accepted: 4, processed: 4, queued: 0, busy: 0) }
        }
        await service.stop(.drain)
    }

    @Test func aFullQueueHoldsTheRequestUntilThereIsRoom() async throws {
        // Given: one worker whose uploads wait for the test, a queue of 1:
        // room for three payloads (running, held by the dispatcher, queued).
        let gate = Chan<Void>()
        let service = service(workers: 1, queue: 1) { _ in _ = try? await gate.receive() }
        let answered = Flag()
        try await service.application().test(.live) { client in
            let port = try #require(client.port)
            // When: a collection of five on a second connection.
            let request = Task {
                try await TestClient.withClient(host: "127.0.0.1", port: port) { other in
                    let response = try await other.post("/payload", body: collection(5))
                    answered.value.store(true, ordering: .relaxed)
                    return response.head.status
                }
            }
            // Then: three are accepted and the request waits for room.
            try await waitForStats(client) { $0 == Stats(accepted: 3, processed: 0, queued: 2, busy: 1) }
            let answeredEarly = answered.value.load(ordering: .relaxed)
            #expect(!answeredEarly)
            // When the uploads finish, the rest is queued and the request answered.
            try gate.close()
            #expect(try await request.value == .ok)
            try await waitForStats(client) { $0 == Stats(accepted: 5, processed: 5, queued: 0, busy: 0) }
        }
        await service.stop(.drain)
    }

    @Test func anHTTP10RequestHasItsConnectionClosedAfterTheResponse() async throws {
        let service = service()
        try await service.application().test(.live) { client in
            let port = try #require(client.port)
            for (request, closes) in [
                ("GET /stats HTTP/1.0\r\n\r\n", true),
                ("GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", true),
                ("GET /stats HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false),
            ] {
                // A client that reads until the server closes (the Go
                // compare's /stats check does); the deadline only keeps a
                // regression from hanging the test.
                let conn = try await Net.dial(.tcp, "127.0.0.1:\(port)")
                defer { conn.close() }
                conn.setReadDeadline(.now + .seconds(closes ? 60 : 1))
                try await conn.write(request)
                var received: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                var endOfStream = false
                while true {
                    do {
                        let count = try await conn.read(into: &buffer)
                        if count == 0 { endOfStream = true; break }
                        received += buffer[..<count]
                    } catch {
                        break  // the deadline: the connection stayed open
                    }
                }
                let text = String(decoding: received, as: UTF8.self)
                #expect(text.hasPrefix("HTTP/1.1 200 OK"), "\(request)")
                #expect(text.hasSuffix("accepted 0 processed 0 queued 0 busy 0\n"), "\(request)")
                #expect(endOfStream == closes, "\(request)")
            }
        }
        await service.stop(.drain)
    }

    @Test func aFullQueueIsRefusedWith503InRefusingMode() async throws {
        // Given: refusing mode, one worker whose uploads wait for the test, a
        // queue of 2: room for at most four payloads (one running, one in the
        // dispatcher's hands, two queued), and at least two (the empty queue).
        let gate = Chan<Void>()
        let service = service(workers: 1, queue: 2, overload: .refuse) { _ in _ = try? await gate.receive() }
        try await service.application().test(.live) { client in
            // When: a collection of ten.
            let response = try await client.execute(uri: "/payload", method: .post, body: collection(10))
            // Then: 503 at once, Retry-After, and the body says how many were queued.
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.retryAfter] == "1")
            let body = String(buffer: response.body)
            let queued = try #require(body.split(separator: " ").dropFirst().first.flatMap { Int($0) }, "\(body)")
            #expect(body == "queued \(queued) of 10\n")
            #expect((2...4).contains(queued), "\(body)")
            #expect(service.accepted == queued && service.rejected == 10 - queued)
            // /metrics counts them alike.
            let metrics = try JobMetricValues(try await scrape(client))
            #expect(metrics.accepted == Double(queued) && metrics.rejected == Double(10 - queued), "\(metrics)")
            // When the uploads may finish, exactly the queued ones run, and
            // there is room again.
            try gate.close()
            try await waitForStats(client) { $0 == Stats(accepted: queued, processed: queued, queued: 0, busy: 0) }
            #expect(try await client.execute(uri: "/payload", method: .post, body: collection(2)).status == .ok)
            try await waitForStats(client) { $0.processed == queued + 2 }
            try await waitForMetrics(
                client, JobMetricValues(accepted: Double(queued + 2), processed: Double(queued + 2), rejected: Double(10 - queued)))
        }
        await service.stop(.drain)
    }
}

@Suite struct JobServerConfigurationTests {
    @Test func defaultsAreTheGoServers() throws {
        let configuration = try JobServerConfiguration.parse(arguments: [], environment: [:])
        #expect(configuration == JobServerConfiguration(
            host: "127.0.0.1", port: 8080, dispatcher: .init(maxWorkers: 100, maxQueue: 100), uploadDelay: .zero,
            overload: .wait, shutdown: .drain))
    }

    @Test func addressAndEnvironmentAreRead() throws {
        let environment = [
            "MAX_WORKERS": "7", "MAX_QUEUE": "9", "UPLOAD_MS": "20", "OVERLOAD": "refuse", "SHUTDOWN": "return",
            "EVENT_LOOPS": "2", "JOBSERVER_STAGE": "decode",
        ]
        for arguments in [["-addr", "0.0.0.0:9000"], ["--addr", "0.0.0.0:9000"], ["-addr=0.0.0.0:9000"]] {
            let configuration = try JobServerConfiguration.parse(arguments: arguments, environment: environment)
            #expect(configuration == JobServerConfiguration(
                host: "0.0.0.0", port: 9000, dispatcher: .init(maxWorkers: 7, maxQueue: 9), uploadDelay: .milliseconds(20),
                overload: .refuse, shutdown: .returnQueued, eventLoops: 2, stage: .decode))
        }
        let v6 = try JobServerConfiguration.parse(arguments: ["-addr", "[::1]:81"], environment: [:])
        #expect(v6.host == "::1" && v6.port == 81)
        let anyHost = try JobServerConfiguration.parse(arguments: ["-addr", ":82"], environment: [:])
        #expect(anyHost.host == "0.0.0.0" && anyHost.port == 82)
    }

    @Test(arguments: [
        (["-addr", "nocolon"], [:], "-addr must be HOST:PORT"),
        (["-addr", "h:70000"], [:], "-addr must be HOST:PORT"),
        (["-addr"], [:], "flag needs an argument: -addr"),
        (["-variant", "original"], [:], "flag provided but not defined: -variant"),
        (["extra"], [:], "unexpected argument \"extra\""),
        ([], ["MAX_WORKERS": "0"], "MAX_WORKERS must be a positive integer, got \"0\""),
        ([], ["MAX_QUEUE": "lots"], "MAX_QUEUE must be a positive integer, got \"lots\""),
        ([], ["UPLOAD_MS": "-1"], "UPLOAD_MS must be an integer >= 0, got \"-1\""),
        ([], ["UPLOAD_MS": "1.5"], "UPLOAD_MS must be an integer >= 0, got \"1.5\""),
        ([], ["OVERLOAD": "drop"], "OVERLOAD must be wait or refuse, got \"drop\""),
        ([], ["SHUTDOWN": "now"], "SHUTDOWN must be drain or return, got \"now\""),
        ([], ["EVENT_LOOPS": "0"], "EVENT_LOOPS must be an integer >= 1, got \"0\""),
        ([], ["JOBSERVER_STAGE": "all"], "JOBSERVER_STAGE must be http, body or decode, got \"all\""),
    ] as [([String], [String: String], String)])
    func badValuesAreRefusedWithAClearMessage(arguments: [String], environment: [String: String], message: String) {
        #expect {
            _ = try JobServerConfiguration.parse(arguments: arguments, environment: environment)
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }
}
