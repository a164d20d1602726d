// One example of the tour: the seed's Go code, what Go prints, and the Swift
// program that plays it.

/// A Go program of the seed, written in Swift: its ``main()`` is Go's
/// `func main()`, ``fmt`` is Go's fmt and ``time`` Go's time durations, so the
/// Swift code reads line for line like the Go code it plays.
protocol TourProgram: Sendable {
    /// Where the program prints (Go's `fmt`).
    var fmt: Output { get }
    /// Go's `time.Second` and friends, scaled by `--time-scale`.
    var time: TourTime { get }

    init(fmt: Output, time: TourTime)

    /// Go's `func main()`.
    func main() async throws
}

/// How the Swift output is compared with Go's.
enum OutputCheck: Sendable, Equatable {
    /// Go's output is deterministic: the Swift program must print exactly it.
    case exact
    /// Go's output varies from run to run (the reason says how); both are
    /// shown, not compared.
    case unchecked(reason: String)
    /// The program deadlocks, and the runtime must end it as Go does: the same
    /// standard output, then "fatal error: all goroutines are asleep -
    /// deadlock!" and a dump whose goroutines wait for the same reasons as
    /// Go's, and exit status 2. It is played in a child process (the deadlock
    /// ends the process), so the tour goes on.
    case deadlock
}

/// One entry of the tour.
struct Example: Sendable {
    /// The name to play it by: `swift run tour <name>`.
    let name: String
    /// The seed's section title, in Chinese as the seed has it: `通道缓冲`.
    let section: String
    /// A short English title.
    let title: String
    /// What the example shows, in English: what to look at in its code and
    /// its output.
    let shows: String
    /// The seed's words that introduce the code (Chinese, its typos fixed).
    let seed: String
    /// The Go code, as the seed has it. Lines ending in `// +` are not in the
    /// seed: they complete a fragment into a program.
    let go: String
    /// Exactly what the Go program prints (Go 1.19; a crash's report goes to
    /// standard error).
    let goOutput: String
    let check: OutputCheck
    /// Why the Swift program is not played yet, or `nil` if it is.
    let pending: String?
    /// The Swift program's source file, relative to the package.
    let swiftFile: String
    /// The Swift program's type: the `struct` whose ``TourProgram/main()`` plays
    /// the Go program.
    let programName: String
    /// Where this example was registered, as compiled (`#filePath`): where
    /// ``swiftCode`` looks for the program's source.
    let registeredIn: String

    private let makeProgram: @Sendable (Output, TourTime) -> any TourProgram

    init<Program: TourProgram>(
        name: String,
        section: String,
        title: String,
        shows: String,
        seed: String,
        go: String,
        goOutput: String,
        check: OutputCheck = .exact,
        pending: String? = nil,
        program: Program.Type,
        filePath: String = #filePath
    ) {
        self.name = name
        self.section = section
        self.title = title
        self.shows = shows
        self.seed = seed
        self.go = go
        self.goOutput = goOutput
        self.check = check
        self.pending = pending
        self.swiftFile = SwiftSource.packageRelative(filePath)
        self.programName = String(describing: Program.self)
        self.registeredIn = filePath
        self.makeProgram = { Program(fmt: $0, time: $1) }
    }

    /// The Swift program's code, read from the source file it was compiled
    /// from, with that file (relative to the package); `nil` when the sources
    /// are not where the tour was built (a binary moved elsewhere).
    var swiftCode: (code: String, file: String)? {
        SwiftSource.declaration(of: programName, near: registeredIn).map {
            ($0.code, SwiftSource.packageRelative($0.path))
        }
    }

    /// Whether the Swift program is played (not pending).
    var isPlayable: Bool { pending == nil }

    /// Runs the Swift program once, printing through `fmt`, with durations
    /// scaled by `time`. Plays a pending example too (it may never return).
    func run(fmt: Output, time: TourTime) async throws {
        try await makeProgram(fmt, time).main()
    }

    /// Runs the Swift program without echo and returns exactly what it
    /// printed: what a test compares with ``goOutput``.
    func output(time: TourTime = TourTime()) async throws -> String {
        let fmt = Output()
        try await run(fmt: fmt, time: time)
        return fmt.text
    }
}
