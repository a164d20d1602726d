// What an example prints: Go's fmt.Print / fmt.Println, recorded for comparison
// with Go's output and echoed live to the terminal.


#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The tour's `fmt`: every example prints through one of these, from any task.
///
/// It records the exact text (``text``) so that the tour, or a test, can compare
/// it with what Go prints, and it can echo each piece to standard output as it
/// is printed, so that the timing of the examples stays visible (the worker
/// example prints `working...`, sleeps, then prints `done`).
///
///     let fmt = Output()                 // records only
///     fmt.print("working...")            // fmt.Print("working...")
///     fmt.println("received", "one")     // fmt.Println("received", "one")
///     fmt.text                           // "working...received one\n"
final class Output: Sendable {
    private struct State {
        var text = ""
        /// Whether the echo is at the start of a line (its prefix is due).
        var echoAtLineStart = true
        /// Lines echoed so far (a line counts once it starts).
        var echoedLines = 0
        /// Lines printed past ``Output/echoLineLimit``: recorded, not echoed.
        var hiddenLines = 0
    }

    // Invariant: `text` is everything printed so far, in the order the calls
    // took the lock; the echo is written under the same lock, so the terminal
    // shows the same order.
    private let state = Guarded(State())

    /// Written before every echoed line; `nil` records without echoing.
    let echoPrefix: String?
    /// How many lines the echo shows; the rest are only recorded (and
    /// counted in ``hiddenLines``). `nil`: every line.
    let echoLineLimit: Int?

    /// - Parameters:
    ///   - echoPrefix: When not `nil`, each printed line is also written to
    ///     standard output, after this prefix, as soon as it is printed.
    ///   - echoLineLimit: The most lines to echo; `nil` echoes every line.
    init(echoPrefix: String? = nil, echoLineLimit: Int? = nil) {
        self.echoPrefix = echoPrefix
        self.echoLineLimit = echoLineLimit
    }

    /// How many lines were recorded but not echoed (past ``echoLineLimit``).
    var hiddenLines: Int {
        state.withLock { $0.hiddenLines }
    }

    /// Go's `fmt.Print`: the operands' default formats, with a space between
    /// two operands when neither is a string, and no newline.
    func print(_ items: Any...) {
        var line = ""
        for (index, item) in items.enumerated() {
            if index > 0, !(items[index - 1] is String), !(item is String) {
                line += " "
            }
            line += String(describing: item)
        }
        write(line)
    }

    /// Go's `fmt.Println`: the operands' default formats separated by spaces,
    /// and a newline.
    func println(_ items: Any...) {
        write(items.map { String(describing: $0) }.joined(separator: " ") + "\n")
    }

    /// Everything printed so far, exactly.
    var text: String {
        state.withLock { $0.text }
    }

    /// ``text`` split into lines; a last line without its newline counts too.
    var lines: [String] {
        Output.lines(of: text)
    }

    /// `text` split into lines, the way ``lines`` does.
    static func lines(of text: String) -> [String] {
        if text.isEmpty { return [] }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if text.hasSuffix("\n") { lines.removeLast() }
        return lines
    }

    /// `prefix` without its trailing spaces: what an empty line gets.
    static func trimmed(_ prefix: String) -> String {
        String(prefix.reversed().drop { $0 == " " }.reversed())
    }

    /// Ends the echo's current line if something was printed without a
    /// newline, and says whether it had to.
    @discardableResult
    func finishEcho() -> Bool {
        guard echoPrefix != nil else { return false }
        return state.withLock { state in
            if state.echoAtLineStart || state.hiddenLines > 0 {
                state.echoAtLineStart = true
                return false
            }
            Swift.print("")
            state.echoAtLineStart = true
            return true
        }
    }

    private func write(_ chunk: String) {
        state.withLock { state in
            state.text += chunk
            guard let echoPrefix, !chunk.isEmpty else { return }
            var echoed = ""
            for character in chunk {
                if state.echoAtLineStart {
                    state.echoAtLineStart = false
                    if let echoLineLimit, state.echoedLines >= echoLineLimit {
                        state.hiddenLines += 1
                    } else {
                        state.echoedLines += 1
                        // An empty line gets the prefix without its trailing spaces.
                        echoed += character == "\n" ? Output.trimmed(echoPrefix) : echoPrefix
                    }
                }
                if state.hiddenLines == 0 { echoed.append(character) }
                if character == "\n" { state.echoAtLineStart = true }
            }
            Swift.print(echoed, terminator: "")
            // Show a line without its newline (`working...`) before the sleep
            // that follows it. fflush(nil) flushes stdout without naming the
            // C global, which Swift 6 counts as shared mutable state.
            fflush(nil)
        }
    }
}
