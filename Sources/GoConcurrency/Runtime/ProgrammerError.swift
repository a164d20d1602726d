// Programmer errors: misuse that Go answers with a one-line panic or fatal
// error (a negative channel capacity, unlocking an unlocked mutex, ...). Here
// they end the process the same way in every build: the message is written to
// standard error first, as Go's first line, and then the process traps.
// Swift's `precondition` would lose the message in an optimised build (the
// user would see only "Illegal instruction"), so every check a user can reach
// goes through these two functions; `precondition` stays for the package's
// own invariants.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Ends the process as Go's `panic(message)` does when nothing recovers it:
/// `panic: <message>` is the first line on standard error, then `detail` (what
/// the call was, what to do instead), then the process aborts, so that a
/// debugger or a core dump shows the caller.
@usableFromInline @inline(never)
func goPanic(_ message: String, detail: String? = nil) -> Never {
    endWithProgrammerError("panic: " + message, detail: detail)
}

/// Ends the process as Go's runtime does for misuse it cannot survive (its
/// `fatal`, e.g. "sync: unlock of unlocked mutex"): `fatal error: <message>`
/// first, then `detail`, then the process aborts.
@usableFromInline @inline(never)
func goFatal(_ message: String, detail: String? = nil) -> Never {
    endWithProgrammerError("fatal error: " + message, detail: detail)
}

private func endWithProgrammerError(_ line: String, detail: String?) -> Never {
    var text = line + "\n"
    if let detail {
        text += "\n" + detail + "\n"
    }
    writeToStandardError(text)
    abort()
}
