// tour: plays the Go examples of the seed article 「Go Concurrency 实战」 in
// Swift with GoConcurrency, and shows Go's output beside the Swift output.
//
//     swift run tour                      # every example, in the seed's order
//     swift run tour --list               # their names
//     swift run tour select timeouts      # just these
//     swift run tour --time-scale 0.05    # every sleep and timeout 20 times shorter

import ArgumentParser

@main
struct Tour: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tour",
        abstract: "Plays the Go examples of 「Go Concurrency 实战」 in Swift with GoConcurrency.",
        discussion: """
            Each example shows the seed's Go code, then what the Swift program prints \
            (live) and what Go prints, and whether the two are the same. The tour \
            exits with status 1 if any Swift output differs from Go's deterministic output.
            """
    )

    @Flag(name: .long, help: "List the examples' names and exit.")
    var list = false

    @Option(name: .long, help: ArgumentHelp(
        "Multiply every sleep and timeout by this factor (1.0 keeps the seed's seconds).",
        valueName: "x"))
    var timeScale: Double = 1.0

    @Argument(help: ArgumentHelp(
        "The examples to play (default: all). See --list.",
        valueName: "name"))
    var names: [String] = []

    func validate() throws {
        guard timeScale > 0, timeScale.isFinite else {
            throw ValidationError("--time-scale must be a positive number, not \(timeScale).")
        }
        let unknown = names.filter { Examples.named($0) == nil }
        guard unknown.isEmpty else {
            throw ValidationError(
                "No example called \(unknown.joined(separator: ", ")). Known: \(Examples.all.map(\.name).joined(separator: " ")).")
        }
    }

    // `run` is not isolated to the main actor: the examples run on the
    // concurrent executor, as goroutines would.
    mutating func run() async throws {
        if list {
            printList()
            return
        }
        let examples = names.isEmpty ? Examples.all : names.compactMap(Examples.named)
        let verdicts = await Player(time: TourTime(scale: timeScale)).play(examples)
        let bad = verdicts.contains { verdict in
            switch verdict {
            case .different, .failed: true
            case .same, .unchecked, .pending: false
            }
        }
        if bad { throw ExitCode(1) }
    }

    private func printList() {
        let width = Examples.all.map(\.name.count).max() ?? 0
        for example in Examples.all {
            let name = example.name + String(repeating: " ", count: width - example.name.count)
            let pending = example.pending.map { "   (not played yet: \($0))" } ?? ""
            print("\(name)  「\(example.section)」 \(example.title)\(pending)")
        }
    }
}
