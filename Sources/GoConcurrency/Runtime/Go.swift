// `go { }`: start a goroutine.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts `body` as a new goroutine on a ``GoRuntime`` (Go: `go f()`).
///
/// Like Go's, `go` only queues the goroutine; a processor starts it later.
/// It runs on a detached Swift task whose executor preference is the
/// runtime, so it and the child tasks it makes run on the runtime's
/// processors (the task is made when the goroutine starts, or is one whose
/// goroutine just ended: see <doc:SchedulerDesign>). Like a Go goroutine, it
/// inherits nothing from the code that starts it: no task-local values (pass
/// what it needs, as Go code passes a `context.Context`), no priority, no
/// actor isolation. Without `on`, it runs on the runtime of the goroutine that
/// starts it, or on ``GoRuntime/shared`` when a plain task or thread starts it.
///
/// - Important: As in Go, a goroutine cannot be cancelled from outside: `go`
///   returns no handle. That lets its blocking operations park without
///   installing a cancellation handler, which is a good part of what a
///   hand-off costs. Child tasks it starts are ordinary tasks and can be
///   cancelled as usual. To stop a goroutine, tell it so over a channel (or
///   close one), the way Go programs do.
///
/// An error escaping `body` is Go's unrecovered panic: unless a
/// ``GoRuntime/panicHandler`` takes it, it is printed with the goroutine's id
/// and where it was started, and the program exits with status 2.
public func go(
    on chosen: GoRuntime? = nil,
    file: StaticString = #fileID,
    line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> Void
) {
    // Unretained: the runtimes and the starter's record are read, not kept;
    // a retain would bounce the shared runtime's cache line between the
    // processors on every `go`.
    let starter = Goroutine.currentUnretained
    let location = SourceLocation(fileID: file, line: line)
    // One call of the inlined `start` below, not one per case.
    GoRuntime.startingOn(chosen, by: starter)._withUnsafeGuaranteedRef {
        start(body, on: $0, by: starter, at: location)
    }
}

extension GoRuntime {
    /// The runtime that work started now by the calling code runs on:
    /// `chosen`, else the runtime of the goroutine the caller belongs to, else
    /// ``shared`` (a plain task or thread outside goroutines). `go` and every
    /// helper that starts goroutines or tasks of its own (`Sync.WaitGroup.go`,
    /// the patterns, `Sync.ErrorGroup`) resolve their `on`/`runtime`
    /// parameter here, so that inside a checked run they all stay on its
    /// runtime, whose deadlock check must see them.
    static func startingOn(_ chosen: GoRuntime?) -> GoRuntime {
        startingOn(chosen, by: Goroutine.currentUnretained).takeUnretainedValue()
    }

    /// The same, for `go`'s hot path: `starter` is the caller's goroutine,
    /// and nothing is retained (a retain would bounce the shared runtime's
    /// cache line between the processors on every `go`).
    @inline(__always)
    static func startingOn(_ chosen: GoRuntime?, by starter: Unmanaged<Goroutine>?) -> Unmanaged<GoRuntime> {
        chosen.map { Unmanaged.passUnretained($0) }
            ?? starter.map { $0._withUnsafeGuaranteedRef { $0.runtimeReference } }
            ?? Unmanaged.passUnretained(shared)
    }
}

@inline(__always)
private func start(
    _ body: @escaping @Sendable () async throws -> Void,
    on runtime: GoRuntime,
    by starter: Unmanaged<Goroutine>?,
    at location: SourceLocation
) {
    openIfCrossing(from: starter, to: runtime)
    // Looked up once: for a record to reuse, and to queue the goroutine on.
    let processor = runtime.currentProcessorReference
    let goroutine: Goroutine
    if let record = processor?._withUnsafeGuaranteedRef({ $0.takeFreeRecord() }) {
        record.reuse(startedAt: location, runtime: runtime, body: body)
        goroutine = record
    } else {
        goroutine = Goroutine(startedAt: location, runtime: runtime, body: body)
    }
    // Inside a `GoroutineScope` (a leak check's), or started by a goroutine (or
    // a plain task of one) that was: goroutines' tasks inherit no task-local
    // values, so the starter's record carries the scope on.
    goroutine.scope = GoroutineScope.enclosing ?? starter?._withUnsafeGuaranteedRef { $0.scope }
    runtime.goroutines.add(goroutine)
    // Queued with no task (see `Runnable`): the processor that starts it
    // makes its task (`makeGoroutineTask`), or a task whose goroutine just
    // ended runs it (`runGoroutines`).
    runtime.place(Runnable(starting: goroutine), on: processor)
}

/// A goroutine of one runtime starts one on another: each runtime's
/// deadlock check watches its own goroutines only, and the two now share
/// objects, so neither can tell that the other will not act.
@inline(__always)
private func openIfCrossing(from starter: Unmanaged<Goroutine>?, to runtime: GoRuntime) {
    let starterRuntime = starter?._withUnsafeGuaranteedRef { $0.runtimeReference }
    if let starterRuntime, starterRuntime.toOpaque() != Unmanaged.passUnretained(runtime).toOpaque() {
        // Each runtime's deadlock check watches its own goroutines only; the
        // two now share objects, so neither can tell that the other will not act.
        starterRuntime._withUnsafeGuaranteedRef { $0.openToOutside() }
        runtime.openToOutside()
    }
}

/// Starts `body` as a goroutine whose task can be cancelled, and returns
/// that task: how a `Sync.ErrorGroup` starts its members (x/sync's errgroup
/// starts each with `go`). It is listed, counted, leak-checked and watched
/// by the deadlock check like any goroutine, and its parks record what it
/// waits for; unlike one `go` starts, its parks take a cancellation handler
/// (they throw `CancellationError` once its task is cancelled), so that the
/// group can stop it. Its task is made at once, detached as a goroutine's
/// is (it inherits nothing from its starter), and runs this goroutine only.
func goCancellable(
    on runtime: GoRuntime,
    at location: SourceLocation,
    _ body: @escaping @Sendable () async -> Void
) -> Task<Void, Never> {
    let starter = Goroutine.currentUnretained
    openIfCrossing(from: starter, to: runtime)
    let goroutine = Goroutine(startedAt: location, runtime: runtime, cancellable: true, body: body)
    goroutine.scope = GoroutineScope.enclosing ?? starter?._withUnsafeGuaranteedRef { $0.scope }
    runtime.goroutines.add(goroutine)
    if runtime.runsAsGlobalExecutor {
        return Task.detached { await runGoroutines(first: goroutine, alone: true) }
    }
    return Task.detached(executorPreference: runtime) { await runGoroutines(first: goroutine, alone: true) }
}

/// Makes the task that runs `goroutine` (and, after it, the goroutines its
/// processor would start next). Called by the processor that starts it, whose
/// `enqueue` keeps the task's first job to run at once.
///
/// Detached: a goroutine inherits nothing from the code that starts it, as
/// in Go — no task-local values (copying them cost a spawn four mallocs),
/// no priority, no actor. In particular not its starter's goroutine handle,
/// which counts the starter's plain tasks.
func makeGoroutineTask(_ goroutine: Goroutine) {
    // The closure literals are written at each call, not passed as one closure
    // value: a value would be wrapped in reabstraction thunks for the task's
    // generic operation type, four more frames in every goroutine's task
    // allocator (about 200 bytes of its first 1 KB slab).
    // And the task's failure type is `any Error` though the operation never
    // throws: the standard library wraps a `Never`-failing operation in one
    // more thunk (two frames).
    let runtime = goroutine.runtime
    if runtime.runsAsGlobalExecutor {
        Task<Void, any Error>.detached { await runGoroutines(first: goroutine) }
    } else {
        Task<Void, any Error>.detached(executorPreference: runtime) { await runGoroutines(first: goroutine) }
    }
}

/// The root of a goroutine's task: runs `first`, and then, for as long as
/// the next thing its processor would run is a goroutine not yet started,
/// that one (Go reuses a dead goroutine's memory the same way). A burst of
/// `go` statements then costs no task per goroutine, and (see `TaskBinding`)
/// no task-local binding or handle per goroutine either. `alone`: the task
/// runs `first` only (`goCancellable`'s, which its group may cancel).
///
/// The raw binding is pushed and popped by this function itself, never by
/// an async function it calls: the task's allocator is a stack, and a
/// binding made in a callee's frame would outlive that frame.
@inline(__always)
private func runGoroutines(first: Goroutine, alone: Bool = false) async {
    var binding = TaskBinding()
    var next: Goroutine? = first
    while var goroutine = next.take() {
        let body = binding.start(goroutine)
        let outlived: Bool
        if SwiftRuntimeABI.verified {
            outlived = await runBody(body, of: goroutine)
        } else {
            outlived = await Goroutine.$binding.withValue(GoroutineBinding(goroutine, handle: binding.handle.unsafelyUnwrapped)) {
                await runBody(body, of: goroutine)
            }
        }
        binding.end(goroutine, outlived: outlived)
        if alone { break }
        // The processor of this thread (a goroutine's task runs on its
        // runtime's processors, and holds one between its jobs).
        guard let processor = goroutine.runtimeReference._withUnsafeGuaranteedRef({ $0.currentProcessorReference })
        else { break }
        // Out of the registry, its handle given up (or keeping it for plain
        // tasks that outlived it): if this task holds the only reference (no
        // dump, plain task or panic report keeps it), the record is free for
        // a later `go`. (Never the first goroutine's: the task's closure
        // holds that one.)
        // Moved into the free list, not copied, and the processor borrowed,
        // not retained (its runtime keeps it).
        if isKnownUniquelyReferenced(&goroutine) {
            var record: Goroutine? = consume goroutine
            processor._withUnsafeGuaranteedRef { $0.recycle(record.take().unsafelyUnwrapped) }
        }
        next = processor._withUnsafeGuaranteedRef { $0.nextGoroutine() }
    }
    binding.unbind()
}

/// A goroutine's body, run inside its binding; true if plain tasks it
/// started outlive it.
@inline(__always)
private func runBody(_ body: @Sendable () async throws -> Void, of goroutine: Goroutine) async -> Bool {
    goroutine.takeBaseline()
    do {
        try await body()
    } catch {
        GoPanic.raise(error, in: goroutine)
    }
    return goroutine.finished()
}

/// The `Goroutine.binding` of a task that runs goroutines one after another,
/// and the handle it carries. Where the runtime's task-local entry points
/// are verified (`SwiftRuntimeABI`, assumption 9), the task binds once, at
/// its first goroutine, and each next goroutine rewrites the record's
/// address in place and takes the same handle: safe because no one else
/// reads the binding by then (the goroutine before has ended, with its
/// child tasks, and no plain task holds a copy, or the handle would have
/// been retired). After a goroutine whose plain tasks outlive it, the
/// binding ends (those tasks keep their copies, and through the handle the
/// record) and the next goroutine binds a new handle. Elsewhere each
/// goroutine binds with `withValue`, keeping the handle on the same terms.
///
/// Synchronous: the raw push and pop happen in the frame of the task's root
/// function, which calls these.
private struct TaskBinding {
    /// The handle of the goroutine running, or for the next one (nil: a new
    /// one).
    var handle: GoroutineHandle?
    /// Where the raw binding's value is (nil: not bound by the raw push).
    var storage: UnsafeMutableRawPointer?

    /// Readies `goroutine` to run on the calling task: its root task, its
    /// handle and (where verified) its binding; returns its body.
    ///
    /// The handle is made by this task: only it (this value and the binding)
    /// holds it when the goroutine's baseline is taken, where a copy held by
    /// `go`'s caller could be gone later and hide a live plain task.
    @inline(__always)
    mutating func start(_ goroutine: Goroutine) -> @Sendable () async throws -> Void {
        let body = goroutine.takeBody()
        goroutine.rootTask.store(TaskIdentity.current.bits, ordering: .relaxed)
        let handle: GoroutineHandle
        if let kept = self.handle {
            handle = kept
        } else {
            handle = GoroutineHandle()
            self.handle = handle
        }
        goroutine.adopt(handle)
        if SwiftRuntimeABI.verified {
            if let storage {
                // The record's address, the value's first word.
                storage.storeBytes(of: UInt(bitPattern: Unmanaged.passUnretained(goroutine).toOpaque()), as: UInt.self)
            } else {
                Goroutine.publishBindingKey()
                SwiftRuntimeABI.bind(GoroutineBinding(goroutine, handle: handle), to: Goroutine.$binding)
                storage = SwiftRuntimeABI.boundStorage(of: Goroutine.$binding)
            }
        }
        return body
    }

    /// `goroutine`'s body returned: unregisters it. If plain tasks it
    /// started outlive it (`outlived`), they keep the handle, which keeps
    /// the record for them from now on, and the next goroutine gets a new one.
    @inline(__always)
    mutating func end(_ goroutine: Goroutine, outlived: Bool) {
        let handle = self.handle.unsafelyUnwrapped
        if outlived {
            handle.keep(goroutine)
            unbind()
            self.handle = nil
        }
        goroutine.rootTask.store(0, ordering: .relaxed)
        // The handle outlives the registration: the deadlock check reads it
        // through registered records.
        withExtendedLifetime(handle) {
            goroutine.runtimeReference._withUnsafeGuaranteedRef { $0.goroutines.remove(goroutine) }
        }
    }

    /// Ends the raw binding, if there is one.
    @inline(__always)
    mutating func unbind() {
        if storage != nil {
            SwiftRuntimeABI.unbind()
            storage = nil
        }
    }
}
