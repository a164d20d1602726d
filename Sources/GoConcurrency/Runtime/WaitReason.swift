// Why a goroutine (or thread) is parked, in the words Go's goroutine dump uses.

/// What a parked goroutine or thread is waiting for.
///
/// Every blocking operation in GoConcurrency records one of these when it parks,
/// together with the ``SourceLocation`` of the call, so the runtime can explain
/// a stuck program the way Go's goroutine dump does.
public enum WaitReason: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
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
    /// Blocked on a semaphore: `WaitGroup.wait`, `Semaphore.acquire`, `Once`.
    case semacquire = "semacquire"
    /// Blocked in `Mutex.lock`.
    case mutexLock = "sync.Mutex.Lock"
    /// Blocked in `RWMutex.lock`.
    case rwMutexLock = "sync.RWMutex.Lock"
    /// Blocked in `RWMutex.readLock`.
    case rwMutexReadLock = "sync.RWMutex.RLock"
    /// In a ``blocking(file:line:_:)`` call (Go: a system call, "syscall" in
    /// its dump): its thread is blocked, its processor handed to another.
    case blockingCall = "syscall"
    /// Waiting for a descriptor (a socket) to be ready, parked on the
    /// runtime's network poller (Go: "IO wait").
    case ioWait = "IO wait"
    /// Blocked in `Cond.wait`, waiting for a signal or a broadcast.
    case condWait = "sync.Cond.Wait"
    /// Blocked in `SingleFlight.run`, waiting for the call in flight for
    /// the same key to end (Go: `singleflight.Group.Do`).
    case singleFlight = "singleflight.Group.Do"
    /// Waiting for a slot under a `Sync.ErrorGroup`'s limit: a member that
    /// started at the limit, or a caller of `goWaiting` (Go: `errgroup.Group.Go`).
    case errorGroupLimit = "errgroup.Group.Go"

    public var description: String { rawValue }

    /// A small number for the reason, 1 and up (0 means "not waiting"), so a
    /// goroutine's wait can be recorded in one atomic word.
    @inlinable
    var code: UInt64 {
        switch self {
        case .channelReceive: 1
        case .channelSend: 2
        case .select: 3
        case .selectNoCases: 4
        case .sleep: 5
        case .semacquire: 6
        case .mutexLock: 7
        case .rwMutexLock: 8
        case .rwMutexReadLock: 9
        case .blockingCall: 10
        case .ioWait: 11
        case .condWait: 12
        case .singleFlight: 13
        case .errorGroupLimit: 14
        }
    }

    init?(code: UInt64) {
        guard let reason = WaitReason.allCases.first(where: { $0.code == code }) else { return nil }
        self = reason
    }
}

/// A place in the source: where a goroutine was started or where it waits.
///
/// Holds the address and length of the text the compiler made for `#fileID`
/// (a static string, which lives as long as the program), so recording a
/// location on every park costs a few words and no allocation.
public struct SourceLocation: @unchecked Sendable, Hashable, CustomStringConvertible {
    @usableFromInline let file: UnsafePointer<UInt8>
    @usableFromInline let fileLength: Int
    public let line: UInt

    @inlinable
    public init(fileID: StaticString, line: UInt) {
        if !fileID.hasPointerRepresentation { goPanic("SourceLocation: pass #fileID") }
        self.init(file: fileID.utf8Start, fileLength: fileID.utf8CodeUnitCount, line: line)
    }

    @inlinable
    init(file: UnsafePointer<UInt8>, fileLength: Int, line: UInt) {
        self.file = file
        self.fileLength = fileLength
        self.line = line
    }

    /// The `#fileID` of the call: `Module/File.swift`.
    public var fileID: String {
        String(decoding: UnsafeBufferPointer(start: file, count: fileLength), as: UTF8.self)
    }

    public var description: String { "\(fileID):\(line)" }

    public static func == (a: SourceLocation, b: SourceLocation) -> Bool {
        a.line == b.line && a.fileID == b.fileID
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fileID)
        hasher.combine(line)
    }
}
