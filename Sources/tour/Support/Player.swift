// Plays examples on the terminal: title, the seed's words and Go code, the
// Swift program's output live, Go's output, and whether they match.

import GoConcurrency

/// What came of playing one example.
enum Verdict: Sendable, Equatable {
    /// The Swift output is exactly Go's.
    case same
    /// Go's output is deterministic and the Swift output differs.
    case different
    /// Played; Go's output varies, so nothing was compared.
    case unchecked
    /// The Swift program threw, or did not finish in time.
    case failed(String)
    /// Not played yet.
    case pending
}

/// Plays examples one after the other and tells how each went.
struct Player {
    let time: TourTime
    /// The route the tour runs on, for examples played in a child process.
    var route: GoRuntime.Route = .executorPreference
    /// Whether outputs are shown whole; by default a long one shows its
    /// first ``headLines`` and last ``tailLines`` lines and how many are left
    /// out between (the comparison with Go's always takes every line).
    var fullOutput = false
    /// How many lines a long output shows at its start, and at its end.
    static let headLines = 12, tailLines = 4
    /// How many lines of an output are echoed live before the rest waits
    /// for its end; `nil`: every line.
    var outputLineLimit: Int? { fullOutput ? nil : Player.headLines }
    /// Column where the live output and Go's output are indented.
    static let gutter = "    │ "
    static let rule = String(repeating: "─", count: 72)

    /// Plays `examples` in order and returns each verdict, in the same order.
    func play(_ examples: [Example]) async -> [Verdict] {
        if examples.count > 1 {
            let sections = examples.map(\.section)
            print("GoConcurrency tour: the examples of 「Go Concurrency 实战」, \(sections.first!) to \(sections.last!), played in Swift.")
            print("Each says what it shows, then gives the seed's Go code, the Swift program that plays it, what the Swift program prints (live), what Go prints, and whether they match.")
            if !fullOutput {
                print("A long output shows its first \(Player.headLines) and last \(Player.tailLines) lines; --full-output shows every line.")
            }
            print()
        }
        var verdicts: [Verdict] = []
        for (index, example) in examples.enumerated() {
            verdicts.append(await play(example, number: index + 1, of: examples.count))
        }
        printSummary(verdicts)
        return verdicts
    }

    /// Plays one example.
    func play(_ example: Example, number: Int, of total: Int) async -> Verdict {
        print(Player.rule)
        print("\(number)/\(total)  \(example.name): \(example.title)   「\(example.section)」")
        print(Player.rule)
        print(example.shows)
        print()
        print("The seed says: \(example.seed)")
        print()
        print("Go:")
        print(Player.indent(example.go, with: "    "))
        if example.go.contains("// +") {
            print("    (lines ending in // + are not in the seed: they complete its fragment)")
        }
        print()
        if let (code, file) = example.swiftCode {
            print("Swift (\(file)):")
            print(Player.indent(code, with: "    "))
        } else {
            print("Swift: \(example.programName) in \(example.swiftFile) (the sources are not where this tour was built; run `swift run tour` in a clone of GoConcurrency to see the code).")
        }
        print()

        var swiftText: String?
        var verdict: Verdict
        if let pending = example.pending {
            print("Swift: not played yet, \(pending).")
            verdict = .pending
        } else if example.check == .deadlock {
            print("Swift prints (in a child process):")
            do {
                let outcome = try ChildProcess.play(example, time: time, route: route)
                let text = outcome.standardOutput + outcome.standardError
                print(Player.indent(text, with: Player.gutter, markMissingNewline: true, lineLimit: outputLineLimit))
                print(Player.gutter + "(exit status \(outcome.status))")
                swiftText = text
                verdict = ChildProcess.endsLikeGo(outcome, goOutput: example.goOutput) ? .same : .different
            } catch {
                verdict = .failed("\(error)")
            }
        } else {
            print("Swift prints:")
            let fmt = Output(echoPrefix: Player.gutter, echoLineLimit: outputLineLimit)
            let clock = ContinuousClock()
            let start = clock.now
            var exitStatus: Int32?
            do {
                do {
                    try await runWithTimeLimit(example, fmt: fmt)
                } catch let exit as ProgramExit {
                    exitStatus = exit.status
                    ProgramExit.last.withLock { $0 = exit.status }
                }
                verdict = example.check == .exact
                    ? (fmt.text == example.goOutput ? .same : .different)
                    : .unchecked
            } catch {
                verdict = .failed("\(error)")
            }
            if fmt.finishEcho() {
                print(Player.gutter + "(no newline at the end)")
            }
            let hidden = fmt.hiddenLines
            if hidden > 0 {
                // The echo stopped after the head: the end of the output now.
                let tail = min(hidden, Player.tailLines)
                if hidden > tail {
                    print(Player.gutter + Player.hiddenNote(hidden - tail))
                }
                print(Player.indent(fmt.lines.suffix(tail).joined(separator: "\n") + "\n", with: Player.gutter))
            }
            if fmt.text.isEmpty {
                print(Player.gutter + "(nothing)")
            }
            swiftText = fmt.text
            let elapsed = clock.now - start
            if let exitStatus {
                print(Player.gutter + "(exit status \(exitStatus))")
            }
            print("    (took \(Player.format(elapsed))" + (time.scale == 1 ? ")" : ", with every sleep and timeout × \(time.scale))"))
        }
        print()

        print("Go prints:")
        print(Player.indent(example.goOutput, with: Player.gutter, markMissingNewline: true, lineLimit: outputLineLimit))
        print()

        switch verdict {
        case .same where example.check == .deadlock:
            print("✓ ends as Go's does: same output, Go's message, the same wait reasons, exit status 2")
        case .same:
            print("✓ same output as Go")
        case .different:
            print("✗ the Swift output differs from Go's:")
            printDifference(swift: swiftText ?? "", go: example.goOutput)
        case .unchecked:
            if case .unchecked(let reason) = example.check {
                print("· not compared: \(reason)")
            }
        case .failed(let reason):
            print("✗ the Swift program failed: \(reason)")
        case .pending:
            print("· not played yet")
        }
        print()
        return verdict
    }

    /// Runs the example's program, cancelling it if it takes far longer than
    /// the seed's sleeps (at most 2 s here) could explain.
    private func runWithTimeLimit(_ example: Example, fmt: Output) async throws {
        let limit = max(Duration.seconds(2), Duration.seconds(30) * time.scale)
        let time = self.time
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await example.run(fmt: fmt, time: time)
            }
            group.addTask {
                // Task.sleep, not GoConcurrency's sleep: the watchdog must not
                // depend on the library it watches.
                try await Task.sleep(for: limit)
                throw TimeLimitExceeded(limit: limit)
            }
            try await group.next()
            group.cancelAll()
        }
    }

    private func printDifference(swift: String, go: String) {
        let swiftLines = Output.lines(of: swift), goLines = Output.lines(of: go)
        for index in 0..<max(swiftLines.count, goLines.count) {
            let s = index < swiftLines.count ? swiftLines[index] : "(no line)"
            let g = index < goLines.count ? goLines[index] : "(no line)"
            let mark = s == g ? " " : "≠"
            print("  \(mark) line \(index + 1): swift \(s.debugDescription)  go \(g.debugDescription)")
        }
        if swiftLines == goLines {
            print("    (same lines; the newline at the end differs)")
        }
    }

    private func printSummary(_ verdicts: [Verdict]) {
        let same = verdicts.filter { $0 == .same }.count
        let unchecked = verdicts.filter { $0 == .unchecked }.count
        let pending = verdicts.filter { $0 == .pending }.count
        let bad = verdicts.count - same - unchecked - pending
        print(Player.rule)
        var summary = "\(verdicts.count - pending) played: \(same) same as Go"
        if unchecked > 0 { summary += ", \(unchecked) not compared" }
        summary += ", \(bad) different or failed"
        if pending > 0 { summary += "; \(pending) not played yet" }
        print(summary + ".")
    }

    /// `text` with `prefix` before each line. When it has more than
    /// `lineLimit` + ``tailLines`` + 1 lines, only its first `lineLimit` and
    /// last ``tailLines`` lines, with a note of how many are left out between.
    static func indent(_ text: String, with prefix: String, markMissingNewline: Bool = false, lineLimit: Int? = nil) -> String {
        var lines = Output.lines(of: text).map { $0.isEmpty ? Output.trimmed(prefix) : prefix + $0 }
        if lines.isEmpty { lines = [prefix + "(nothing)"] }
        if markMissingNewline, !text.isEmpty, !text.hasSuffix("\n") {
            lines.append(prefix + "(no newline at the end)")
        }
        if let lineLimit, lines.count > lineLimit + tailLines + 1 {
            let hidden = lines.count - lineLimit - tailLines
            lines.replaceSubrange(lineLimit..<(lineLimit + hidden), with: [prefix + hiddenNote(hidden)])
        }
        return lines.joined(separator: "\n")
    }

    /// What stands for the lines of an output the tour does not show.
    static func hiddenNote(_ count: Int) -> String {
        "… \(count) more line\(count == 1 ? "" : "s") (--full-output shows every line) …"
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = Double(duration.components.seconds) * 1000
            + Double(duration.components.attoseconds) / 1e15
        return milliseconds < 1000
            ? "\(Int(milliseconds.rounded())) ms"
            : "\((milliseconds / 10).rounded() / 100) s"
    }
}

struct TimeLimitExceeded: Error, CustomStringConvertible {
    let limit: Duration
    var description: String { "did not finish within \(Player.format(limit)); cancelled" }
}
