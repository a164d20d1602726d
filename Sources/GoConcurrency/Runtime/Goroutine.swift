// What the runtime knows of one goroutine: who it is, where it was started,
// and what it is waiting for right now.
//
// Invariants:
// - A goroutine's record is reachable from its root task and every child task
//   (a task-local), but only the root task's parks are the goroutine's: a
//   child task is a plain, cancellable task with a life of its own.
// - The wait record is written only by the goroutine itself (when it parks and
//   when it runs again) and read from any thread, so it is two atomic words:
//   `waitWord` (reason, line and file name length; 0 while not waiting) and
//   `waitFile` (the file name's address). A park stores the file, then the
//   word; a reader reads the word, the file, and the word again, and retries
//   if it changed. Parking costs two plain atomic stores, no lock.
// - The record is in the registry (`GoroutineRegistry`) from `go` until its
//   body returns.
// - `waitWord` also carries one flag, `outsideBit`: the object parked on may
//   be woken by code outside the runtime (it was made, or used while
//   blocking, outside goroutines), so the deadlock detector must not count
//   this wait as stuck.
// - A goroutine is known by one task-local, `binding`, bound on the task that
//   runs it from its start to its end: its record's address as a plain word
//   (what parks read: no reference is copied or counted) and its
//   `GoroutineHandle`, which keeps the record alive wherever the address is
//   seen once the goroutine has ended. A task that runs several goroutines,
//   one after another, binds once and rewrites the address in place for each
//   (`SwiftRuntimeABI`, assumption 9), keeping the handle, unless a plain task
//   of the goroutine that ended outlives it: that one keeps its handle (and
//   through it the record), and the task binds a new handle for the next.
//   Swift copies task-locals into every `Task { }` started under them (not
//   into child tasks, which share their parent's, nor into detached tasks),
//   and a goroutine's own task is a detached one (it holds no copy of its
//   starter's handle), so the handle's strong references beyond those counted
//   when the goroutine started (`handleBase`) are exactly the live plain
//   tasks the goroutine (or one of those tasks) started. The deadlock
//   detector reads that count (`SwiftRuntimeABI`, assumption 2): such a task
//   may still send the value a goroutine waits for. A handle goes on to the
//   next goroutine only when no plain task holds it (none can start later:
//   the goroutine's child tasks have ended with its body) and no deadlock
//   check watches it.

import CGoConcurrencyRuntime
import Synchronization

@usableFromInline
final class Goroutine: @unchecked Sendable {
    /// The goroutine the current task belongs to, if any: bound from the
    /// goroutine's start to its end, seen by its child tasks and copied into
    /// the plain tasks it starts (see the file's invariants).
    @TaskLocal
    @usableFromInline
    static var binding: GoroutineBinding?

    /// The goroutine the current task belongs to, if any.
    @usableFromInline
    static var current: Goroutine? {
        currentUnretained?.takeUnretainedValue()
    }

    /// The goroutine the current task belongs to, if any, with no reference
    /// count touched: the binding keeps it alive while the task runs.
    @inlinable
    static var currentUnretained: Unmanaged<Goroutine>? {
        // The binding's first word, read by its key, not through
        // `TaskLocal.get()`, which is generic and not inlinable
        // (`SwiftRuntimeABI`, assumption 8); the key as published, a load
        // where `$binding`, a lazily made global, costs a `swift_once` call.
        let address: UInt
        if SwiftRuntimeABI.verified {
            guard let key = goconcurrency_goroutine_key() else { return nil }
            address = SwiftRuntimeABI.boundWord(ofKey: key) ?? 0
        } else {
            address = binding?.recordAddress ?? 0
        }
        return UnsafeRawPointer(bitPattern: address).map { Unmanaged<Goroutine>.fromOpaque($0) }
    }

    /// The same, `task` being the calling task: a goroutine's root task
    /// finds its binding as the innermost (`SwiftRuntimeABI`, assumption
    /// 10) without the runtime's lookup, on every park. Measured with
    /// `icount`, one processor: sieve_2000 2,362,170 -> 2,336,895 per prime,
    /// pingpong 3,928 -> 3,859 per round trip.
    @inlinable
    static func currentUnretained(task: TaskIdentity) -> Unmanaged<Goroutine>? {
        guard SwiftRuntimeABI.verified, let current = task.pointer else { return currentUnretained }
        guard let key = goconcurrency_goroutine_key() else { return nil }
        let address = SwiftRuntimeABI.boundWord(ofKey: key, onCurrent: current) ?? 0
        return UnsafeRawPointer(bitPattern: address).map { Unmanaged<Goroutine>.fromOpaque($0) }
    }

    /// Publishes `binding`'s key for `currentUnretained`, before a task binds
    /// it by the runtime's push.
    static func publishBindingKey() {
        // Read first: once published, the word's cache line stays shared by
        // every processor, where a store per new task would pull it back
        // and forth.
        if goconcurrency_goroutine_key() == nil {
            goconcurrency_publish_goroutine_key(Unmanaged.passUnretained($binding).toOpaque())
        }
    }

    private static let nextID = Atomic<Int>(1)

    /// The next goroutine id (Go's goid: 1, 2, 3, ...).
    private static func newID() -> Int {
        nextID.add(1, ordering: .relaxed).oldValue
    }

    /// Go's goroutine id: 1, 2, 3, ... in the order `go` started them.
    /// (`id`, `startedAt` and `runtimeID` change only when an ended record is
    /// reused, while no one else holds it: see `reuse`.)
    @usableFromInline @exclusivity(unchecked) private(set) var id: Int
    /// Where `go` was called.
    @usableFromInline @exclusivity(unchecked) private(set) var startedAt: SourceLocation
    /// The identity of the task that runs the goroutine, from its start until
    /// its body returns; 0 before and after, so that the same task running
    /// another goroutine later, or a later task at the same address, is not
    /// taken for it.
    @usableFromInline let rootTask = Atomic<UInt>(0)
    @usableFromInline let waitWord = Atomic<UInt64>(0)
    @usableFromInline let waitFile = Atomic<UInt>(0)
    /// When the current wait was first seen (`Monotonic.coarseNow`; 0 until a
    /// dump, the watchdog or the deadlock check looks), for the dump's
    /// "[chan receive, 2 minutes]" and the long-wait hook: the wait began at
    /// or before it. Go stamps its waitsince the same lazy way.
    @usableFromInline let waitSince = Atomic<UInt64>(0)
    /// The `GoRuntime.id` of the runtime it runs on.
    @usableFromInline @exclusivity(unchecked) private(set) var runtimeID: UInt
    /// The runtime it runs on, unretained for the hot paths that borrow it.
    /// The record keeps it alive (one strong reference, taken and given up
    /// by the record itself, when the runtime is one that can end: a checked
    /// run's), so wherever the record is seen — its tasks, a plain task that
    /// copied its handle, a dump — so is a live runtime.
    @exclusivity(unchecked) private(set) var runtimeReference: Unmanaged<GoRuntime>
    /// Set while it is in `GoRuntime.yield`: it is runnable then, though its
    /// task waits behind a job of Swift's own (`Task.yield` queues one that
    /// resumes the task), which the dump cannot tell from another's.
    let yielding = Atomic<Bool>(false)
    /// Whether its task can be cancelled (a `Sync.ErrorGroup` member, started
    /// by `goCancellable`): its parks then take a cancellation handler. False
    /// for every goroutine `go` starts, which no one can cancel.
    @usableFromInline @exclusivity(unchecked) private(set) var cancellable: Bool

    /// The runtime it runs on.
    @usableFromInline var runtime: GoRuntime { runtimeReference.takeUnretainedValue() }
    /// Its handle's address, 0 until its task starts (the handle is kept
    /// alive by the goroutine's task for as long as the record is registered;
    /// an atomic word because the deadlock check reads it from other threads).
    private let handleBits = Atomic<UInt>(0)
    /// The handle's strong references when the goroutine started, before its
    /// body ran: the baseline for `plainTasksAlive`.
    private let handleBase = Atomic<Int>(0)

    /// The handle, while the goroutine's task runs.
    var handle: GoroutineHandle? {
        guard let pointer = UnsafeRawPointer(bitPattern: handleBits.load(ordering: .acquiring)) else { return nil }
        return Unmanaged<GoroutineHandle>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// Called by the goroutine's task, holding `handle` for its whole life,
    /// before it binds it: from now on its references are counted.
    func adopt(_ handle: GoroutineHandle) {
        handleBits.store(UInt(bitPattern: Unmanaged.passUnretained(handle).toOpaque()), ordering: .releasing)
    }

    /// Called inside the binding, before the body runs: the references the
    /// goroutine's own frames and binding hold, which later counts subtract.
    func takeBaseline() {
        handleBase.store(handleReferences(), ordering: .releasing)
    }
    /// The `GoroutineScope` it was started in, if any.
    var scope: GoroutineScope?

    /// The registry's links (protected by the registry shard's lock),
    /// unretained: the list holds each record through one reference of its
    /// own (see `GoroutineRegistry`).
    @exclusivity(unchecked) var next: Unmanaged<Goroutine>?
    @exclusivity(unchecked) var previous: Unmanaged<Goroutine>?

    /// What the goroutine runs: set by `go`, taken (and cleared, so that
    /// what it captures lives no longer than the goroutine needs it) by the
    /// task that starts it. The run queue entry that carries the record from
    /// one to the other orders the two accesses.
    @exclusivity(unchecked)
    private var body: (@Sendable () async throws -> Void)?

    init(startedAt: SourceLocation, runtime: borrowing GoRuntime, cancellable: Bool = false,
         body: @escaping @Sendable () async throws -> Void) {
        self.id = Goroutine.newID()
        self.startedAt = startedAt
        self.runtimeID = runtime.id
        self.runtimeReference = Unmanaged.passUnretained(runtime)
        self.cancellable = cancellable
        self.body = body
        if runtime.isMortal { _ = runtimeReference.retain() }
    }

    deinit {
        if runtimeReference._withUnsafeGuaranteedRef({ $0.isMortal }) { runtimeReference.release() }
    }

    /// Makes an ended goroutine's record the record of a new one (Go reuses
    /// a dead G). Only for a record that nothing else references: it has left
    /// the registry, its handle is gone, and the free list that kept it
    /// handed it to the caller alone.
    func reuse(startedAt: SourceLocation, runtime: GoRuntime, body: @escaping @Sendable () async throws -> Void) {
        id = Goroutine.newID()
        self.startedAt = startedAt
        if runtime.id != runtimeID {
            // Not seen so far: each runtime reuses its own records.
            if runtime.isMortal { _ = Unmanaged.passUnretained(runtime).retain() }
            if runtimeReference._withUnsafeGuaranteedRef({ $0.isMortal }) { runtimeReference.release() }
            runtimeReference = Unmanaged.passUnretained(runtime)
            runtimeID = runtime.id
        }
        self.body = body
        cancellable = false
        scope = nil
        rootTask.store(0, ordering: .relaxed)
        waitWord.store(0, ordering: .relaxed)
        waitSince.store(0, ordering: .relaxed)
        yielding.store(false, ordering: .relaxed)
        handleBits.store(0, ordering: .relaxed)
        handleBase.store(0, ordering: .relaxed)
    }

    /// The body, for the task that starts the goroutine (once).
    func takeBody() -> @Sendable () async throws -> Void {
        // Not `body.take()`: a generic method of the optional would wrap the
        // function in a reabstraction thunk (a malloc per goroutine).
        guard let body else { preconditionFailure("GoConcurrency: a goroutine was started twice") }
        self.body = nil
        return body
    }

    /// The handle's strong references now (one more, the call's own, than
    /// its holders; the same one in every call).
    @inline(never)
    func handleReferences() -> Int {
        guard let pointer = UnsafeRawPointer(bitPattern: handleBits.load(ordering: .acquiring)) else { return 0 }
        return Unmanaged<GoroutineHandle>.fromOpaque(pointer)._withUnsafeGuaranteedRef { SwiftRuntimeABI.strongReferences(of: $0) }
    }

    /// Plain Swift tasks started by this goroutine, or by those tasks, that
    /// have not ended yet.
    var plainTasksAlive: Int {
        SwiftRuntimeABI.plainTasks(references: handleReferences(), baseline: handleBase.load(ordering: .acquiring))
    }
}

/// What a goroutine's tasks know it by (its task-local, `Goroutine.binding`):
/// see `Goroutine`. The record's address is its first word, which parks read
/// by the binding's key (`SwiftRuntimeABI`, assumption 8).
@usableFromInline
struct GoroutineBinding: Sendable {
    /// The address of the goroutine's record.
    @usableFromInline var recordAddress: UInt
    /// Counts the plain tasks holding a copy of the binding.
    @usableFromInline let handle: GoroutineHandle

    init(_ goroutine: Goroutine, handle: GoroutineHandle) {
        recordAddress = UInt(bitPattern: Unmanaged.passUnretained(goroutine).toOpaque())
        self.handle = handle
    }
}

/// The object a goroutine's binding carries, whose strong references count
/// the plain tasks holding the binding (see `Goroutine`). One handle serves
/// the goroutines a task runs one after another, until one of them ends with
/// plain tasks alive: that handle then keeps the goroutine's record for them
/// (`keep`), and serves no other goroutine.
@usableFromInline
final class GoroutineHandle: Sendable {
    /// The record kept for the plain tasks that outlived its goroutine (a
    /// retained address; 0 while the handle serves running goroutines,
    /// whose tasks keep their records). Written once, by the task that ran
    /// the goroutine, read when the handle goes.
    private let kept = Atomic<UInt>(0)

    init() {}

    /// Keeps `goroutine`'s record alive as long as the handle: its goroutine
    /// ended while plain tasks that can read the record lived.
    func keep(_ goroutine: Goroutine) {
        kept.store(UInt(bitPattern: Unmanaged.passRetained(goroutine).toOpaque()), ordering: .releasing)
    }

    deinit {
        if let record = UnsafeRawPointer(bitPattern: kept.load(ordering: .acquiring)) {
            Unmanaged<Goroutine>.fromOpaque(record).release()
        }
    }
}
