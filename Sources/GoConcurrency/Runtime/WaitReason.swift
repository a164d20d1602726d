// Why a goroutine (or thread) is parked, in the words Go's goroutine dump uses.

/// What a parked goroutine or thread is waiting for.
///
/// Every blocking operation in GoConcurrency records one of these when it parks,
/// together with the ``SourceLocation`` of the call, so the runtime can explain
/// a stuck program the way Go's goroutine dump does.
public enum WaitReason: String, Sendable, Hashable, CustomStringConvertible {
    /// Blocked in `receive` (Go: `<-ch`).
    case channelReceive = "chan receive"
    /// Blocked in `send` (Go: `ch <- v`).
    case channelSend = "chan send"
    /// Blocked in a `select` with at least one enabled case.
    case select = "select"
    /// Blocked in a `select` whose every case is disabled (Go: `select {}`).
    case selectNoCases = "select (no cases)"
    /// Blocked in `sleep`.
    case sleep = "sleep"

    public var description: String { rawValue }
}

/// A place in the source: where a goroutine was started or where it waits.
///
/// Holds the `StaticString` the compiler made for `#fileID`, so recording a
/// location on every park costs two words and no allocation.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let _fileID: StaticString
    public let line: UInt

    @inlinable
    public init(fileID: StaticString, line: UInt) {
        self._fileID = fileID
        self.line = line
    }

    /// The `#fileID` of the call: `Module/File.swift`.
    public var fileID: String { _fileID.description }

    public var description: String { "\(fileID):\(line)" }

    public static func == (a: SourceLocation, b: SourceLocation) -> Bool {
        a.line == b.line && a.fileID == b.fileID
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fileID)
        hasher.combine(line)
    }
}
