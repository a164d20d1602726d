// Go's unrecovered panic: an error that escapes a goroutine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error that escaped a goroutine's body (Go: an unrecovered panic), with
/// the goroutine it ended.
public struct GoroutinePanic: Error, Sendable, CustomStringConvertible {
    /// What escaped.
    public let error: any Error
    /// The goroutine's id.
    public let goroutineID: Int
    /// Where `go` started it.
    public let createdAt: SourceLocation

    /// Go's report: `panic: <error>`, then the goroutine and where it was
    /// started.
    public var description: String {
        "panic: \(error)\n\ngoroutine \(goroutineID) [running]:\ncreated at \(createdAt)"
    }
}

extension GoRuntime {
    /// What happens when an error escapes one of this runtime's goroutines.
    ///
    /// `nil` (the default) is Go's behaviour: the panic is printed to standard
    /// error and the process exits with status 2. A handler is called instead,
    /// on the goroutine that panicked, which then ends; the program goes on. A
    /// handler may log the panic, or start the worker again:
    ///
    ///     GoRuntime.shared.panicHandler = { panic in
    ///         logger.error("\(panic)")
    ///         if panic.createdAt.fileID.hasSuffix("Worker.swift") { go { await worker() } }
    ///     }
    public var panicHandler: (@Sendable (GoroutinePanic) -> Void)? {
        get { panicHandlerSlot.withLock { $0 } }
        set { panicHandlerSlot.withLock { $0 = newValue } }
    }
}

enum GoPanic {
    /// An error escaped `goroutine`: hand it to its runtime's handler, or end
    /// the program as Go does.
    static func raise(_ error: any Error, in goroutine: Goroutine) {
        let panic = GoroutinePanic(error: error, goroutineID: goroutine.id, createdAt: goroutine.startedAt)
        if let handler = goroutine.runtime.panicHandler {
            handler(panic)
            return
        }
        writeToStandardError("\(panic)\n")
        GoRuntime.exitProgram(2)
    }
}

/// Writes `text` to file descriptor 2 in one go, after whatever was buffered
/// for standard output (flushed first, so that the two keep their order on a
/// terminal).
func writeToStandardError(_ text: String) {
    fflush(nil)
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 { return }
        offset += written
    }
}
