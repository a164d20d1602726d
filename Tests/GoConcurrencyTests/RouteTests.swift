// Both routes by which goroutines reach the scheduler, end to end: the tour (a
// real program whose main is `GoRuntime.main`) plays every example on each
// route and must match Go's output. The suite itself runs on the route that
// GOCONCURRENCY_TEST_ROUTE names (the default one unless it says "global";
// see SuiteRouteTests); the tour's runs check each route in a child process
// whatever the suite's.

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

    /// Runs the tour with `arguments`; its status, output and summary line
    /// ("N played: S same as Go[, U not compared], D different or failed[; P not played yet]."),
    /// waiting on a thread of its own (see `runChild`).
    static func playTour(_ arguments: [String]) async throws -> (status: Int32, text: String, summary: String) {
        let run = try await runChild(tourPath.path, arguments, mergingErrors: true)
        let summary = run.output.split(separator: "\n").last { $0.contains(" played: ") }.map(String.init) ?? ""
        return (run.status, run.output, summary)
    }

    /// The number before `words` in a tour summary line.
    static func count(before words: String, in summary: String) -> Int? {
        guard let range = summary.range(of: " " + words) else { return nil }
        let digits = summary[..<range.lowerBound].reversed().prefix { $0.isNumber }
        return Int(String(digits.reversed()))
    }

    /// The names of the examples the tour marked as different or failed
    /// (each example's header is "  N/M  name: title").
    static func failedExampleNames(in text: String) -> [String] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        return lines.indices.filter { lines[$0].hasPrefix("✗") || lines[$0].hasPrefix("  ✗") }.compactMap { index in
            lines[..<index].last { $0.contains(/^\s*\d+\/\d+\s+\S+:/) }.flatMap { header in
                header.firstMatch(of: /^\s*\d+\/\d+\s+(\S+):/).map { String($0.1) }
            }
        }
    }

    @Test func the_preference_route_is_available_everywhere_and_the_global_route_where_it_runs() {
        #expect(GoRuntime.Route.executorPreference.isAvailable)
        // The suite's own route: where it is the global one, this process
        // installed it, so it must be available here.
        if ProcessInfo.processInfo.environment["GOCONCURRENCY_TEST_ROUTE"] == "global" {
            #expect(GoRuntime.Route.globalExecutor.isAvailable)
        }
        #if !os(Linux)
        // Verified on Linux only: elsewhere installing it traps.
        #expect(!GoRuntime.Route.globalExecutor.isAvailable)
        #endif
    }

    @Test("The tour plays every example as Go does, on each route", arguments: GoRuntime.Route.allCases)
    func tourOnRoute(_ route: GoRuntime.Route) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: RouteTests.tourPath.path), "no tour executable at \(RouteTests.tourPath.path)")
        // At a fifth of Go's times: 200 ms between the select example's timers.
        let (status, text, summary) = try await RouteTests.playTour(["--route", route.rawValue, "--time-scale", "0.2"])
        let played = try #require(RouteTests.count(before: "played:", in: summary), "no summary line in the tour's output:\n\(text.suffix(2000))")
        let same = try #require(RouteTests.count(before: "same as Go", in: summary))
        let notCompared = RouteTests.count(before: "not compared", in: summary) ?? 0
        let different = try #require(RouteTests.count(before: "different or failed", in: summary))
        #expect(played > 0)
        // Examples whose output is ordered by their timers (select's "one"
        // at 1 s before "two" at 2 s) depend on the machine keeping those
        // times apart; a loaded one once woke the 200 ms goroutine after the
        // 400 ms one. Each example that differed plays again alone at Go's
        // own times, and must match then.
        let failed = RouteTests.failedExampleNames(in: text)
        var sameWhenReplayed = 0
        if different > 0, failed.count == different {
            for name in failed {
                let again = try await RouteTests.playTour([name, "--route", route.rawValue, "--time-scale", "1"])
                if again.status == 0, RouteTests.count(before: "same as Go", in: again.summary) == 1 {
                    sameWhenReplayed += 1
                } else {
                    Issue.record("\(name) differs at Go's own times too:\n\(again.summary)\n\(RouteTests.failedExamples(in: again.text))")
                }
            }
        }
        let stillDifferent = different - sameWhenReplayed
        #expect(stillDifferent == 0, "\(summary)\n\(RouteTests.failedExamples(in: text))")
        #expect(status == 0 || (different > 0 && stillDifferent == 0), "tour --route \(route.rawValue) exited with \(status): \(summary)")
        #expect(same + notCompared + sameWhenReplayed == played, "\(summary)")
        // Every example shows the Swift program that plays it, read from its
        // source file: one `struct ...: TourProgram {` block per example.
        let headers = text.split(separator: "\n").filter { $0.hasPrefix("────") }.count / 2
        let programs = text.split(separator: "\n").filter {
            $0.hasPrefix("    struct ") && $0.hasSuffix(": TourProgram {")
        }.count
        #expect(headers >= played)
        #expect(programs == headers, "\(programs) Swift programs shown for \(headers) examples")
    }

    /// Runs the tour with `arguments`, its output going to a file, and once
    /// that output contains `marker` (if given) sends it SIGINT, a real
    /// Ctrl-C; then waits for it to end. `sentInTime`: `later` had not been
    /// printed yet when the signal went (true when no signal was sent).
    static func runTour(_ arguments: [String], interruptingAfter marker: String?,
                        unlessPrinted later: String) async throws -> (status: Int32, output: String, sentInTime: Bool) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("tour-interrupt-\(UUID()).txt")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let child = try SpawnedChild.start(tourPath.path, arguments, outputPath: log.path, errorsPath: "/dev/null")
        var sentInTime = true
        if let marker {
            // Watched from a thread of its own, not from this task: on a
            // loaded machine the cooperative pool's threads can all be busy
            // with other tests for longer than the wait lasts (a full stress
            // run once missed the runner's task 1 three times in a row).
            let pid = child.pid
            sentInTime = await onThread {
                let end = ContinuousClock.now.advanced(by: .seconds(120))
                while !((try? String(contentsOf: log, encoding: .utf8))?.contains(marker) ?? false) {
                    if ContinuousClock.now >= end { return false }
                    usleep(1_000)
                }
                kill(pid, SIGINT)
                return !((try? String(contentsOf: log, encoding: .utf8))?.contains(later) ?? true)
            }
        }
        let status = await onThread { child.waitForExit() }
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "", sentInTime)
    }

    @Test("The tour's runner example exits 1 on timeout and 2 on a real Ctrl-C")
    func runnerExampleExitStatuses() async throws {
        let path = RouteTests.tourPath
        try #require(FileManager.default.isExecutableFile(atPath: path.path), "no tour executable at \(path.path)")

        // The example as the seed has it: 0 + 1 + 2 s of tasks against a 3 s
        // timeout. Without Ctrl-C the timeout wins or the run ends, and the
        // status says which, as Go's does.
        func run(interruptAfter marker: String?, timeScale: String) async throws -> (Int32, String, sentDuringTask1: Bool) {
            let run = try await RouteTests.runTour(
                ["runner", "--time-scale", timeScale], interruptingAfter: marker, unlessPrinted: "Processor - Task #2.")
            // What the Swift program printed: the tour shows the program's
            // code before it and Go's output after it.
            let printed = (run.output.components(separatedBy: "Go prints:").first ?? run.output)
                .components(separatedBy: "Swift prints:").last ?? run.output
            return (run.status, printed, run.sentInTime)
        }

        // Ctrl-C while task 1 sleeps (10 s at this scale): the runner stops
        // before task 2. The signal travels through libdispatch (a thread's
        // handler, the manager thread, the source's queue) before the runner
        // counts it, three thread wake-ups; with a load of 20 on 2 cores the
        // runner once had not counted it by the end of the 3 s this test
        // used to allow.
        // The interrupted run ends when task 1 does, so the margin costs the
        // suite only this test's time.
        var (interrupted, interruptedText, inTime) = try await run(interruptAfter: "Processor - Task #1.", timeScale: "10")
        for _ in 0..<2 where !inTime {  // sent too late to be a test of it: again
            (interrupted, interruptedText, inTime) = try await run(interruptAfter: "Processor - Task #1.", timeScale: "10")
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

    @Test("The tour's context example stops its workers on a real Ctrl-C as Go's does")
    func contextExampleStopsOnInterrupt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: RouteTests.tourPath.path), "no tour executable at \(RouteTests.tourPath.path)")
        // Given the program alone, at ten times Go's times (20 s jobs, a 50 s
        // deadline), sent SIGINT once both workers have taken a job (a
        // worker took job 2 when its line is printed) and before a third
        // was handed out (20 s later),
        let run = try await RouteTests.runTour(
            ["--program", "context", "--time-scale", "10"],
            interruptingAfter: "job 2 started", unlessPrinted: "job 3 started")
        try #require(run.sentInTime, "job 3 had started when the test sent SIGINT:\n\(run.output)")
        // then the two running jobs stop with "context canceled", no other
        // starts, every goroutine returns and the program ends normally: what
        // Go prints for the same program interrupted in its first two seconds.
        // (Under the thread sanitizer, see the runner's test above.)
        withKnownIssue("a sanitized build may hold SIGINT back", isIntermittent: true) {
            #expect(run.status == 0, "\(run.output)")
            #expect(run.output == """
                8 jobs, 2 workers, 5 s deadline (Ctrl-C stops sooner)
                job 1 started
                job 2 started
                job 1: context canceled
                job 2: context canceled
                job 3: not started
                job 4: not started
                job 5: not started
                job 6: not started
                job 7: not started
                job 8: not started
                stopped: context canceled

                """)
        } when: {
            RouteTests.underThreadSanitizer
        }
    }
}
