// tour: plays the Go examples of the seed article 「Go Concurrency 实战」 in
// Swift with GoConcurrency, and shows Go's output beside the Swift output.
//
//     swift run tour                      # every example, in the seed's order
//     swift run tour --list               # their names
//     swift run tour select timeouts      # just these
//     swift run tour --time-scale 0.05    # every sleep and timeout 20 times shorter
//     swift run tour pool --full-output   # every line of a long output
//     swift run tour --route global       # on the opt-in global-executor route
//
// `main.swift` parses the command line and plays the tour as the program's
// main goroutine (`GoRuntime.main`), as a Go program's main runs.

import ArgumentParser
import Foundation
import GoConcurrency

struct Tour: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tour",
        abstract: "Plays the Go examples of 「Go Concurrency 实战」 in Swift with GoConcurrency.",
        discussion: """
            Each example says what it shows, then gives the seed's Go code, the Swift \
            program that plays it (read from the source file it was built from), what \
            the Swift program prints (live), what Go prints, and whether the two are \
            the same. A long output shows its first lines; --full-output shows it all. The tour \
            exits with status 1 if any Swift output differs from Go's deterministic output.
            """
    )

    @Flag(name: .long, help: "List the examples' names and exit.")
    var list = false

    @Flag(name: .long, help: "Show long outputs whole (by default they show their first lines).")
    var fullOutput = false

    @Option(name: .long, help: ArgumentHelp(
        "Multiply every sleep and timeout by this factor (1.0 keeps the seed's seconds).",
        valueName: "x"))
    var timeScale: Double = 1.0

    @Option(name: .long, help: ArgumentHelp(
        "How goroutines reach the scheduler: 'preference' (the default: executor preference) or 'global' (opt-in: GoRuntime as Swift's global executor, running every task of the process).",
        valueName: "route"))
    var route: GoRuntime.Route = .executorPreference

    @Option(name: .long, help: ArgumentHelp(
        "Run only this example's Swift program, printing straight to standard output, as the Go program runs (the tour plays the deadlock examples this way, in a child process), or one of the checks in CheckPrograms.swift.",
        valueName: "name", visibility: .hidden))
    var program: String?

    @Argument(help: ArgumentHelp(
        "The examples to play (default: all). See --list.",
        valueName: "name"))
    var names: [String] = []

    func validate() throws {
        guard timeScale > 0, timeScale.isFinite else {
            throw ValidationError("--time-scale must be a positive number, not \(timeScale).")
        }
        let unknown = names.filter { Examples.named($0) == nil }
            + (program.map { [$0] } ?? []).filter { Examples.named($0) == nil && CheckPrograms.named($0) == nil }
        guard unknown.isEmpty else {
            throw ValidationError(
                "No example called \(unknown.joined(separator: ", ")). Known: \(Examples.all.map(\.name).joined(separator: " ")).")
        }
    }

    /// Plays the chosen examples; the exit status: 1 if some Swift output
    /// differs from Go's deterministic output or failed, else 0.
    func play() async -> Int32 {
        let examples = names.isEmpty ? Examples.all : names.compactMap(Examples.named)
        let verdicts = await Player(time: TourTime(scale: timeScale), route: route, fullOutput: fullOutput).play(examples)
        let bad = verdicts.contains { verdict in
            switch verdict {
            case .different, .failed: true
            case .same, .unchecked, .pending: false
            }
        }
        return bad ? 1 : 0
    }

    /// Runs one example's program alone (`--program`): its output goes
    /// straight to standard output; a deadlock ends the process as in Go.
    /// The programs of `CheckPrograms` run this way too.
    func runProgram(_ name: String) async throws {
        if Examples.named(name) == nil, let check = CheckPrograms.named(name) {
            return try await check()
        }
        let fmt = Output(echoPrefix: "")
        do {
            try await Examples.named(name)!.run(fmt: fmt, time: TourTime(scale: timeScale))
        } catch let exit as ProgramExit {
            fflush(nil)
            Foundation.exit(exit.status)
        }
    }

    func printList() {
        let width = Examples.all.map(\.name.count).max() ?? 0
        for example in Examples.all {
            let name = example.name + String(repeating: " ", count: width - example.name.count)
            let pending = example.pending.map { "   (not played yet: \($0))" } ?? ""
            print("\(name)  \(example.title)   「\(example.section)」\(pending)")
        }
    }
}

extension GoRuntime.Route: ExpressibleByArgument {}
