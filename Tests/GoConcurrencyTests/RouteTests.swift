// Both routes by which goroutines reach the scheduler, end to end: the tour (a
// real program whose main is `GoRuntime.main`) plays every example on each
// route and must match Go's output. The suite itself runs on the default
// route; the global-executor route can only be installed by a program's first
// statement, so it is checked in a child process.

import Foundation
import Testing
import GoConcurrency

@Suite("Routes", .timeLimit(Stress.timeLimit))
struct RouteTests {
    /// Whether this test binary (and so the tour built with it) runs under the
    /// thread sanitizer.
    static let underThreadSanitizer = dlsym(nil, "__tsan_init") != nil  // nil: RTLD_DEFAULT

    /// The tour executable `swift test` built next to this test bundle.
    /// The tour's output around each example it marked as different or
    /// failed, for a failure message.
    static func failedExamples(in text: String) -> String {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.indices.filter { lines[$0].hasPrefix("✗") }.map { index in
            lines[max(0, index - 25)..<min(lines.count, index + 25)].joined(separator: "\n")
        }.joined(separator: "\n…\n")
    }

    static var tourPath: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On macOS the bundle's executable sits inside Foo.xctest/Contents/MacOS.
        while directory.path.contains(".xctest") {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("tour")
    }

    @Test("The tour plays every example as Go does, on each route", arguments: GoRuntime.Route.allCases)
    func tourOnRoute(_ route: GoRuntime.Route) throws {
        let path = RouteTests.tourPath
        try #require(FileManager.default.isExecutableFile(atPath: path.path), "no tour executable at \(path.path)")
        let process = Process()
        process.executableURL = path
        process.arguments = ["--route", route.rawValue, "--time-scale", "0.2"]  // 200 ms between the select example's timers: margin for a loaded machine
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let summary = text.split(separator: "\n").last { $0.contains(" played: ") }.map(String.init) ?? ""
        #expect(process.terminationStatus == 0, "tour --route \(route.rawValue) exited with \(process.terminationStatus): \(summary)")
        // "N played: S same as Go[, U not compared], D different or failed[; P not played yet]."
        func count(before words: String) -> Int? {
            guard let range = summary.range(of: " " + words) else { return nil }
            let digits = summary[..<range.lowerBound].reversed().prefix { $0.isNumber }
            return Int(String(digits.reversed()))
        }
        let played = try #require(count(before: "played:"), "no summary line in the tour's output:\n\(text.suffix(2000))")
        let same = try #require(count(before: "same as Go"))
        let notCompared = count(before: "not compared") ?? 0
        let different = try #require(count(before: "different or failed"))
        #expect(played > 0)
        #expect(different == 0, "\(summary)\n\(RouteTests.failedExamples(in: text))")
        #expect(same + notCompared == played, "\(summary)")
        // Every example shows the Swift program that plays it, read from its
        // source file: one `struct ...: TourProgram {` block per example.
        let headers = text.split(separator: "\n").filter { $0.hasPrefix("────") }.count / 2
        let programs = text.split(separator: "\n").filter {
            $0.hasPrefix("    struct ") && $0.hasSuffix(": TourProgram {")
        }.count
        #expect(headers >= played)
        #expect(programs == headers, "\(programs) Swift programs shown for \(headers) examples")
    }

    @Test("The tour's runner example exits 1 on timeout and 2 on a real Ctrl-C")
    func runnerExampleExitStatuses() async throws {
        let path = RouteTests.tourPath
        try #require(FileManager.default.isExecutableFile(atPath: path.path), "no tour executable at \(path.path)")

        // The example as the seed has it: 0 + 1 + 2 s of tasks against a 3 s
        // timeout. Without Ctrl-C the timeout wins or the run ends, and the
        // status says which, as Go's does.
        func run(interruptAfter marker: String?, timeScale: String) async throws -> (Int32, String, sentDuringTask1: Bool) {
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("tour-runner-\(UUID()).txt")
            _ = FileManager.default.createFile(atPath: log.path, contents: nil)
            defer { try? FileManager.default.removeItem(at: log) }
            let process = Process()
            process.executableURL = path
            process.arguments = ["runner", "--time-scale", timeScale]
            process.standardOutput = try FileHandle(forWritingTo: log)
            try process.run()
            var sentDuringTask1 = false
            if let marker {
                try await waitUntil("the runner prints \(marker)") {
                    (try? String(contentsOf: log, encoding: .utf8))?.contains(marker) ?? false
                }
                kill(process.processIdentifier, SIGINT)
                // On a loaded machine this test may notice the marker late:
                // what counts is that task 2 had not started when it sent.
                sentDuringTask1 = !((try? String(contentsOf: log, encoding: .utf8))?.contains("Processor - Task #2.") ?? true)
            }
            process.waitUntilExit()
            // What the Swift program printed: the tour shows the program's
            // code before it and Go's output after it.
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            let printed = (text.components(separatedBy: "Go prints:").first ?? text)
                .components(separatedBy: "Swift prints:").last ?? text
            return (process.terminationStatus, printed, sentDuringTask1)
        }

        // Ctrl-C while task 1 sleeps (3 s at this scale, room for a loaded
        // machine to deliver the signal): the runner stops before task 2.
        var (interrupted, interruptedText, inTime) = try await run(interruptAfter: "Processor - Task #1.", timeScale: "3")
        for _ in 0..<2 where !inTime {  // sent too late to be a test of it: again
            (interrupted, interruptedText, inTime) = try await run(interruptAfter: "Processor - Task #1.", timeScale: "3")
        }
        try #require(inTime, "the test could not send SIGINT during task 1 in three tries")
        // The thread sanitizer holds a signal back until the thread it landed
        // on reaches a point it intercepts; on the tour's main thread (in
        // dispatchMain) that can be after the run ends. A known limit of the
        // sanitized build, not of the runner: it passes there when the signal
        // lands elsewhere, and always in a plain build.
        withKnownIssue("a sanitized build may hold SIGINT back", isIntermittent: true) {
            #expect(interrupted == 2, "\(interruptedText.suffix(800))")
            #expect(interruptedText.contains("Terminating due to interrupt."))
            #expect(!interruptedText.contains("Processor - Task #2."))
        } when: {
            RouteTests.underThreadSanitizer
        }

        let (ended, endedText, _) = try await run(interruptAfter: nil, timeScale: "0.2")
        if endedText.contains("Terminating due to timeout.") {
            #expect(ended == 1)
        } else {
            #expect(ended == 0 && endedText.contains("Process ended."), "\(endedText.suffix(800))")
        }
    }
}
