// The jobserver program itself, in a child process: what a SIGTERM in the
// middle of the load does (nothing accepted is lost, exit 0), and the exit
// status for a bad environment.

#if os(Linux)
import Foundation
import HummingbirdTesting
import NIOCore
import Synchronization
import Testing

/// The `jobserver` executable built beside this test bundle.
func jobserverExecutable() throws -> String {
    let testBinary = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let path = URL(fileURLWithPath: testBinary).deletingLastPathComponent().appendingPathComponent("jobserver").path
    try #require(FileManager.default.isExecutableFile(atPath: path), "no jobserver at \(path): build the package first")
    return path
}

/// A running jobserver child and everything it has written to stderr (its log).
/// Unchecked: `Process` is not Sendable; it is set up in `init` and then
/// only read (its pid) and waited for.
final class JobServerProcess: @unchecked Sendable {
    let process: Process
    private let output = Output()

    /// What the child has written so far.
    private final class Output: Sendable {
        let text = Mutex<String>("")
    }

    init(environment: [String: String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: try jobserverExecutable())
        process.arguments = ["-addr", "127.0.0.1:0"]
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let reader = pipe.fileHandleForReading
        reader.readabilityHandler = { [output] handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil; return }
            output.text.withLock { $0 += String(decoding: data, as: UTF8.self) }
        }
        try process.run()
    }

    var log: String { output.text.withLock { $0 } }

    /// Waits (bounded) until the log has a line containing `text`; returns it.
    func waitForLine(containing text: String) async throws -> String {
        for _ in 0..<6000 {
            if let line = log.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no log line with \(text); log:\n\(log)")
        throw CancellationError()
    }

    /// The port the server bound, from its "listening" log line.
    func port() async throws -> Int {
        let line = try await waitForLine(containing: "Server started and listening on")
        return try #require(line.split(separator: ":").last.flatMap { Int($0) }, "\(line)")
    }

    func exitStatus() async -> Int32 {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                self.process.waitUntilExit()
                continuation.resume(returning: self.process.terminationStatus)
            }
        }
    }
}

final class Count: Sendable {
    let value = Atomic<Int>(0)
}

/// `key=value` from a log line's metadata.
func logValue(_ key: String, in line: String) -> Int? {
    line.split(separator: " ").first { $0.hasPrefix("\(key)=") }.flatMap { Int($0.dropFirst(key.count + 1)) }
}

@Suite struct JobServerProcessTests {
    @Test(arguments: ["drain", "return"])
    func sigtermMidLoadLosesNoAcceptedJobAndExitsZero(shutdown: String) async throws {
        // Given: a server whose two workers take 20 ms an upload, a queue of
        // 50, and four clients posting collections of 25 in a loop.
        let server = try JobServerProcess(environment: [
            "MAX_WORKERS": "2", "MAX_QUEUE": "50", "UPLOAD_MS": "20", "SHUTDOWN": shutdown,
        ])
        let port = try await server.port()
        let answeredOK = Count()
        let clients = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        // Each client posts until the server goes away.
                        _ = try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
                            while true {
                                let response = try await client.post("/payload", body: collection(25))
                                if response.head.status == .ok { answeredOK.value.add(25, ordering: .relaxed) }
                            }
                        }
                    }
                }
            }
        }
        // When: SIGTERM once jobs are queued and some have run.
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            for _ in 0..<6000 {
                let line = String(buffer: try await client.get("/stats").body ?? ByteBuffer())
                let fields = line.split(separator: " ")
                if fields.count == 8, let processed = Int(fields[3]), let queued = Int(fields[5]), processed > 0, queued > 10 { return }
                try await Task.sleep(for: .milliseconds(10))
            }
            Issue.record("the queue never filled")
        }
        kill(server.process.processIdentifier, SIGTERM)
        // Then: it exits 0, and every accepted job was processed or handed
        // back, including every payload of every request answered 200.
        let status = await server.exitStatus()
        clients.cancel()
        await clients.value
        #expect(status == 0, "log:\n\(server.log)")
        let stopped = try await server.waitForLine(containing: "stopped")
        let accepted = try #require(logValue("accepted", in: stopped), "\(stopped)")
        let processed = try #require(logValue("processed", in: stopped), "\(stopped)")
        let handedBack = try #require(logValue("handed_back", in: stopped), "\(stopped)")
        #expect(processed + handedBack == accepted, "\(stopped)")
        #expect(accepted >= answeredOK.value.load(ordering: .relaxed), "\(stopped)")
        #expect(accepted > 0)
        if shutdown == "drain" { #expect(handedBack == 0) }
    }

    @Test func aBadEnvironmentExitsTwoWithTheReason() async throws {
        let server = try JobServerProcess(environment: ["MAX_QUEUE": "-3"])
        #expect(await server.exitStatus() == 2)
        _ = try await server.waitForLine(containing: "MAX_QUEUE must be a positive integer, got \"-3\"")
    }
}
#endif
