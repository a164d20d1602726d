// A goroutine dump: every live goroutine, what it does, where it waits and
// for how long, and where it was started (Go's SIGQUIT dump and the listing
// after "all goroutines are asleep").

/// A snapshot of goroutines, as a value and as Go's text.
public struct GoroutineDump: Sendable, CustomStringConvertible {
    /// The goroutines, in id order.
    public let goroutines: [GoroutineInfo]

    public init(goroutines: [GoroutineInfo]) {
        self.goroutines = goroutines
    }

    /// Go's layout: one paragraph per goroutine, a blank line between them.
    public var description: String {
        goroutines.map(\.description).joined(separator: "\n\n")
    }
}

extension GoRuntime {
    /// Every live goroutine of every runtime in this process.
    public static func dump() -> GoroutineDump {
        GoroutineDump(goroutines: goroutines())
    }

    /// This runtime's live goroutines.
    public func dump() -> GoroutineDump {
        GoroutineDump(goroutines: GoRuntime.goroutines().filter { $0.runtime === self })
    }
}
