// Every assumption GoConcurrency makes about the Swift runtime's internals, in
// one place. None of them is a documented API; each was verified on the
// toolchains that the guard below names, by a test in SwiftRuntimeABITests
// that fails if a toolchain breaks it. The rest of the package reaches these
// internals only through the functions of `SwiftRuntimeABI`.
//
// 1. A job's flags word says whether its task is a child task.
//    The word is at byte offset 32 of a job (after the object header and two
//    scheduler words), and bit 24 of it is set for a child task (`async let`,
//    a task group's task). Used by: `Processor.run` (through `isChildTask`)
//    when the deadlock check is on: a goroutine's child tasks run on its
//    runtime, and the detector cannot see what they wait on, so the first one
//    seen opens the runtime. If it breaks: a child task taken for a plain job
//    lets the detector report a deadlock that a child task could still end
//    (a correct program stopped), or a plain job taken for a child task
//    turns detection off. Unverified toolchain: every job counts as a
//    possible child task, so a checked runtime opens at its first job (no
//    false verdict; deadlocks are no longer reported).
//    Verified by: a task group's and an `async let`'s task have the bit, a
//    detached task's and an unstructured task's do not.
//
// 2. `_getRetainCount` counts the plain tasks holding a task-local.
//    Every `Task { }` started under a task-local binding holds one strong
//    reference to the bound object until the task ends; child tasks share
//    their parent's binding and detached tasks copy nothing. Used by:
//    `Goroutine.plainTasksAlive` (through `strongReferences` and
//    `plainTasks`), which counts a goroutine's handle's references: a plain
//    task a goroutine started may still send what another goroutine waits
//    for, so the detector declares no deadlock while one lives. If it breaks:
//    too low a count reports a deadlock that a live plain task could end; too
//    high a count hides one. Unverified toolchain: every goroutine counts as
//    having a live plain task (no false verdict; its deadlocks go
//    unreported).
//    Verified by: the count rises by one per live plain task started under
//    the binding, not for a child or a detached task, and falls back when
//    each ends.
//
// 3. A continuation is its task's address.
//    `UnsafeContinuation` is one word, the address of the task it resumes
//    (the runtime hands the task itself out as its continuation). Used by:
//    `TaskIdentity(of:)`, so that a parked plain send or receive, whose wait
//    queue entry is only its continuation, is found again by its task when
//    that task is cancelled (8 bytes less per parked operation). If it
//    breaks: a cancelled send or receive is not found and stays parked for
//    ever. Unverified toolchain: every park checks it (`checkContinuation`)
//    and traps with a message naming it, instead of hanging later; where it
//    holds, that is one comparison per park.
//    Verified by: inside `withUnsafeContinuation`, the continuation's word
//    is the current task's address, for a plain and a throwing continuation.
//
// 4. The current task is its address, from `swift_task_getCurrent`.
//    The runtime's entry point `swift_task_getCurrent` (what
//    `withUnsafeCurrentTask` itself calls) returns the calling task's
//    address, or 0 outside a task, without retaining it. Called directly,
//    declared as returning a plain pointer, it copies (retains) nothing and
//    costs a thread-local read: `withUnsafeCurrentTask` is generic and not
//    inlinable, so each call went through its unspecialised body and a
//    closure (about 60 instructions per park, measured with `icount`).
//    Used by: `TaskIdentity.current` (mutex owners, a goroutine's root task,
//    parked operations). If it breaks: the entry point's name is part of the
//    standard library's own interface (`_getCurrentAsyncTask`); another word
//    would no longer match the continuations of assumption 3, which that
//    check catches. Unverified toolchain: `withUnsafeCurrentTask`, with its
//    optional task (one word) read as a pointer.
//    Verified by: it is 0 on a thread outside any task, nonzero and stable
//    in a task, different in two live tasks, equal to what
//    `withUnsafeCurrentTask` hands out and to the continuation's word (3).
//
// 5. A job is one word, its address, and that address is even.
//    `UnownedJob` is a frozen struct of one pointer, a job is a heap object
//    (8-byte aligned at least), and the job of a task is at the task's
//    address. Used by: `Runnable` (a run queue entry is one word: a job's
//    address, or a goroutine record's with bit 0 set), `Processor`'s running
//    job, and goroutine snapshots, which show a goroutine `running` when its
//    root task is the job a processor runs. If it breaks: a different size
//    traps in `unsafeBitCast`'s size check; an odd address would be taken for
//    a goroutine record. Unverified toolchain: every job queued is checked
//    to have bit 0 clear (`address(of:)` traps with a message otherwise).
//    Verified by: a job round-trips through its bits and runs (its task ends
//    with its result), its bit 0 is clear, and a task's job is at the task's
//    address as `withUnsafeCurrentTask` sees it.
//
// 6. Swift's generic executor is the executor reference (0, 0).
//    `UnownedSerialExecutor` is two words, and the runtime's generic
//    executor (no actor, no isolation: where the platform's global executor
//    runs its jobs) is both zero. Used by: `Processor.run` on the
//    experimental global-executor route (`GlobalExecutorRoute`), which runs
//    jobs as Swift's global executor does. If it breaks: jobs on that route
//    run "on" an executor that does not exist (undefined behaviour). The
//    route already depends on Swift's experimental executor SPI and is
//    opt-in. Unverified toolchain: installing the route traps with a message
//    naming the toolchain (it has no safe fallback, and the default route
//    does not use it).
//    Verified by: the reference names no executor object, and a job run on
//    it by a task executor of the test's own runs nonisolated, hops to an
//    actor and back, and ends.
//
// 7. A small plain value in an `Any` lies at the start of the existential.
//    An `Any` is three words of inline buffer and its value's type; a value
//    of a plain (POD) type of at most three words and at most word alignment
//    is stored in that buffer, from its first byte, not boxed. Used by:
//    select's receive case (`ChannelReceiveHandle.complete`), which reads the
//    value a sender handed to its waiter (stored as `Any`) without the
//    runtime's dynamic cast (about 250 instructions per parked select). The
//    value's dynamic type is checked to be the element type first; any other
//    type (a class, an existential, anything larger or not plain) takes the
//    cast. If it breaks: a value stored elsewhere would be read as garbage.
//    Unverified toolchain: every value takes the cast.
//    `Optional<Any>` keeps the type in the fourth word and is `nil` when that
//    word is zero.
//    Verified by: plain values of one, two and three words, an optional's
//    nil and a small tuple read back equal through the raw read, the type
//    word names the value's type, and a nil `Any?` has a zero type word.
//
// 8. A task-local's value is where `swift_task_localValueGet` points.
//    A `TaskLocal` is a class whose object's address is its key (the
//    standard library's own `key`), and the runtime's
//    `swift_task_localValueGet(key)` returns the address of the value bound
//    to that key for the calling task (its nearest binding, or the thread's
//    outside a task), or 0 where none is bound. Read that way, a bound
//    `UInt` costs the runtime's lookup and one load: `TaskLocal.get()` is
//    generic and not inlinable, so every read went through its unspecialised
//    body (about 70 instructions per park, measured with `icount`). Used by:
//    `Goroutine.currentUnretained` (every park asks which goroutine it
//    is; the key it passes is the one the C target publishes, a plain load,
//    where `Goroutine.$binding` is a lazily made global and cost a
//    `swift_once` call per park). If it breaks: a wrong address reads a
//    wrong record address, which `Goroutine.rooted` then compares with the
//    goroutine's root task, so a park would at worst go unrecorded, not write a stranger's record; a
//    changed key would find nothing (no goroutine, parks unrecorded).
//    Unverified toolchain: `TaskLocal.get()`.
//    Verified by: unbound it reads nothing; bound, it reads the bound value,
//    the innermost of nested bindings, the parent's in a child task, and
//    nothing again after the binding ends.
//
// 9. A task-local can be bound and unbound by the runtime's push and pop,
//    and its bound value written in place.
//    The runtime's `swift_task_localValuePush(key, value, type)` binds the
//    value at `value` (taking it: the caller's copy is moved out) of type
//    `type` (its metadata) to the key on the calling task, and
//    `swift_task_localValuePop()` ends the task's innermost binding and
//    destroys its value: the two calls `TaskLocal.withValue` makes around
//    its operation, callable without an operation closure (which cost, per
//    binding, two async frames and two executor switches back to the
//    goroutine's runtime, each taking the task's status-record lock). The
//    bound value's storage (assumption 8's address) is the binding's own:
//    child tasks read it there, and a plain task copies it when it starts,
//    so a value written there in place is what the task and its later
//    child tasks read from then on. Used by: the task that runs goroutines
//    (`runGoroutines` in Go.swift) binds `Goroutine.binding` once, rewrites
//    its record address in place for each goroutine it runs next, and binds
//    anew only after a goroutine whose plain tasks outlive it (measured with
//    `icount`, one processor: spawn 4,660 -> 3,529 instructions per
//    goroutine). If it breaks: the push and
//    pop are the entry points the standard library's own inlinable
//    `withValue` calls, so their names and signatures are fixed by every
//    compiled client; a binding not where the read finds it would show no
//    goroutine (parks unrecorded, `Goroutine.current` nil), which the tests
//    below and the suite's dumps catch. Unverified toolchain: each goroutine
//    binds with `TaskLocal.withValue`.
//    Verified by: a pushed value reads back by its key and through
//    `TaskLocal.get()`, in a child task too; a plain task started under it
//    holds (retains) its copy, taken when it started, and sees its own copy
//    after an in-place write; after the pop nothing is bound and the value
//    is released.
//
// 10. A task's innermost task-local binding is at byte offset 136 of the
//    task, its key 8 bytes and its value 24 bytes into it.
//    The runtime keeps each task's bindings as a stack of items, the newest
//    first, whose head pointer is the word at offset 136 of the task (in its
//    private storage); an item is a link word, the key, the value's type
//    metadata and then the value (at offset 24 for a value of word
//    alignment). A binding's lookup (`swift_task_localValueGet`, about 38
//    instructions with its own current-task read) then takes two loads and a
//    comparison when the binding looked for is the innermost, as a
//    goroutine's is on its root task unless its body binds task-locals of
//    its own. Used by: `Goroutine.rooted(at:)`, on every park of a
//    goroutine (measured with `icount`: see
//    `Goroutine.currentUnretained(task:)`).
//    If it breaks: the head read elsewhere would be another word of the task,
//    taken for an item's address; the test below fails first (the guard is
//    this toolchain only). Unverified toolchain: the runtime's lookup. Any
//    innermost binding of another key (a child task's link to its parent's
//    bindings, the body's own task-locals) takes the lookup too.
//    Verified by: in a detached task, the word at offset 136 is the item of
//    the innermost binding, whether bound by `withValue` or the raw push,
//    with the key and value where said, and the storage the lookup answers;
//    a binding of another key made inside it becomes the innermost.
//
// Also depending on the toolchain, but kept beside the code they serve:
// - Select stores a receive handler as a handler of another function type
//   of the same layout (`SelectCase.swift`); Swift's function values are
//   two words whatever their signature, and `unsafeBitCast` traps if not.
//   A test casts one there and back and calls it.
// - Under the thread sanitizer only, `Sources/CGoConcurrencySanitizer`
//   defines the runtime's three continuation-resume entry points
//   (`swift_continuation_resume`, `swift_continuation_throwingResume`,
//   `swift_continuation_throwingResumeWithError`) to tell the sanitizer of
//   the hand-over, and forwards to the runtime's own. If those names or
//   signatures change, the sanitizer's reports come back; the sanitized
//   user program that `.ci/run` checks (`.ci/sanitized-user-program`) is
//   how it is verified. Normal builds compile that file to nothing.
//
// The guard: the toolchains below are those every assumption was verified
// on. Anywhere else the package still builds: the fallbacks above take
// over, and a warning names this file. To verify a new toolchain, widen the
// guard and run `swift test --filter SwiftRuntimeABITests` (the tests check
// the raw assumptions, not the fallbacks).
// The guard names Linux too: there the concurrency runtime is the
// toolchain's own, shipped with the program, so the compiler's version is the
// runtime's. On Apple systems a program runs on the OS's runtime, whatever
// compiler built it, and none was verified: the fallbacks apply there.

#if compiler(>=6.3) && !compiler(>=6.4) && os(Linux)
#else
#warning("GoConcurrency: Swift runtime assumptions not verified on this toolchain or platform; fallbacks in SwiftRuntimeABI.swift apply")
#endif

import CGoConcurrencyRuntime

/// The one door to the Swift runtime's internals: see the list above.
@usableFromInline
enum SwiftRuntimeABI {
    /// Whether this toolchain is one the assumptions were verified on (a
    /// constant: each use folds away).
    @inlinable
    static var verified: Bool {
        #if compiler(>=6.3) && !compiler(>=6.4) && os(Linux)
        return true
        #else
        return false
        #endif
    }

    // MARK: 1. The child-task bit of a job's flags

    /// Whether `job`'s flags word marks a child task (the raw read).
    @inlinable
    static func jobFlagsMarkChildTask(_ job: UnownedJob) -> Bool {
        let flags = address(of: job).load(fromByteOffset: 32, as: UInt32.self)
        return flags & (1 << 24) != 0
    }

    /// Whether `job` may belong to a child task: the flag where verified,
    /// otherwise always (the safe side for the deadlock check).
    @inlinable
    static func isChildTask(_ job: UnownedJob) -> Bool {
        verified ? jobFlagsMarkChildTask(job) : true
    }

    // MARK: 2. Strong references count live plain tasks

    /// `object`'s strong references now (the raw count).
    @inlinable
    static func strongReferences(of object: AnyObject) -> Int {
        Int(_getRetainCount(object))
    }

    /// The live plain tasks holding a task-local's object, from its
    /// `strongReferences` now and those counted before any was started;
    /// where unverified, at least one.
    @inlinable
    static func plainTasks(references: Int, baseline: Int) -> Int {
        verified ? max(0, references - baseline) : max(1, references - baseline)
    }

    // MARK: 3. A continuation is its task's address

    /// The address of the task `continuation` resumes (nil for none).
    @inlinable
    static func taskAddress<T, E>(of continuation: UnsafeContinuation<T, E>?) -> UnsafeRawPointer? {
        continuation.map { unsafeBitCast($0, to: UnsafeRawPointer.self) }
    }

    /// Checks, as a continuation is parked by `task`, that it is that task's
    /// address: in debug builds where verified, in every build elsewhere.
    @inlinable
    static func checkContinuation<T, E>(_ continuation: UnsafeContinuation<T, E>, of task: UnsafeRawPointer?) {
        if verified {
            assert(taskAddress(of: continuation) == task, "GoConcurrency: a continuation is not its task's address")
        } else if taskAddress(of: continuation) != task {
            unverifiedAssumptionBroken("a continuation is not its task's address")
        }
    }

    // MARK: 4. The current task's address

    /// The calling task (its address), or `TaskIdentity.none` outside any
    /// task: the runtime's own answer where verified, the public API's
    /// elsewhere.
    @inlinable
    static var currentTask: TaskIdentity {
        verified ? TaskIdentity(pointer: goconcurrency_current_task()) : currentTaskFromPublicAPI
    }

    /// The calling task through `withUnsafeCurrentTask`: its optional task is
    /// one word; reading it as a pointer, rather than unwrapping it, copies
    /// (retains) nothing. The closure returns the identity itself, whose type
    /// metadata is a constant for the generic `withUnsafeCurrentTask`.
    @inlinable
    static var currentTaskFromPublicAPI: TaskIdentity {
        withUnsafeCurrentTask { task in
            TaskIdentity(pointer: unsafeBitCast(task, to: UnsafeRawPointer?.self))
        }
    }

    // MARK: 5. A job is its address

    /// The address of `job` (of its task, for a task's job); bit 0 is clear.
    @inlinable
    static func address(of job: UnownedJob) -> UnsafeRawPointer {
        let address = unsafeBitCast(job, to: UnsafeRawPointer.self)
        if !verified, UInt(bitPattern: address) & 1 != 0 {
            unverifiedAssumptionBroken("a job's address is odd")
        }
        return address
    }

    /// The job at `address` (one that `address(of:)` gave).
    @inlinable
    static func job(at address: UnsafeRawPointer) -> UnownedJob {
        unsafeBitCast(address, to: UnownedJob.self)
    }

    // MARK: 6. Swift's generic executor

    /// Swift's generic executor: no actor, no isolation.
    @inlinable
    static var genericExecutor: UnownedSerialExecutor {
        unsafeBitCast((0, 0), to: UnownedSerialExecutor.self)
    }

    // MARK: 7. A small plain value in an `Any`

    /// Whether a value of type `T` is stored in an `Any`'s inline buffer,
    /// from its first byte (a constant for each `T`).
    @inlinable
    static func storesInline<T>(_: T.Type) -> Bool {
        _isPOD(T.self) && MemoryLayout<T>.size <= 3 * MemoryLayout<Int>.size
            && MemoryLayout<T>.alignment <= MemoryLayout<Int>.alignment
    }

    /// The dynamic type of the `Any?` at `slot`, read from its type word
    /// (nil for `nil`).
    @inlinable
    static func typeOfAny(at slot: UnsafeMutableRawPointer) -> Any.Type? {
        slot.load(fromByteOffset: 3 * MemoryLayout<Int>.size, as: Any.Type?.self)
    }

    /// Takes the value out of the `Any?` at `slot`, which holds a `T` that
    /// `storesInline` (checked by the caller with `typeOfAny`), and leaves
    /// `nil` there; the value is plain, so there is nothing to release.
    @inlinable
    static func takeInlineValue<T>(at slot: UnsafeMutableRawPointer, as _: T.Type) -> T {
        let value = slot.load(as: T.self)
        slot.storeBytes(of: nil, toByteOffset: 3 * MemoryLayout<Int>.size, as: Any.Type?.self)
        return value
    }

    /// What `slot.take().map { $0 as! T }` gives, with a small plain value
    /// read in place instead of by the runtime's dynamic cast.
    @inlinable @inline(__always)
    static func take<T>(_ slot: inout Any?, as _: T.Type) -> T? {
        if verified, storesInline(T.self) {
            // nil: not read in place; .some(nil): the slot was nil.
            let taken: T?? = withUnsafeMutablePointer(to: &slot) { pointer in
                let raw = UnsafeMutableRawPointer(pointer)
                switch typeOfAny(at: raw) {
                case nil: return .some(nil)
                case let type? where type == T.self: return .some(takeInlineValue(at: raw, as: T.self))
                default: return nil
                }
            }
            if let taken { return taken }
        }
        return slot.take().map { $0 as! T }
    }

    // MARK: 8. A task-local's value, read by its key

    /// The first word of the value bound to `local` for the calling task
    /// (the raw read; the caller knows its value's layout); nil where none is
    /// bound.
    @inlinable
    static func boundWord<Value>(of local: TaskLocal<Value>) -> UInt? {
        boundStorage(of: local).map { $0.load(as: UInt.self) }
    }

    /// The same, for the task-local whose object is at `key`.
    @inlinable
    static func boundWord(ofKey key: UnsafeRawPointer) -> UInt? {
        goconcurrency_task_local_value(key).map { $0.load(as: UInt.self) }
    }

    /// Where the value bound to `local` for the calling task is stored (the
    /// raw read); nil where none is bound.
    @inlinable
    static func boundStorage<Value>(of local: TaskLocal<Value>) -> UnsafeMutableRawPointer? {
        let key = UnsafeRawPointer(Unmanaged.passUnretained(local).toOpaque())
        return UnsafeMutableRawPointer(mutating: goconcurrency_task_local_value(key))
    }

    // MARK: 9. A task-local bound by the runtime's push and pop

    /// Binds `value` to `local` on the calling task until `unbind()` (the
    /// raw push; only where verified). Bindings end in the reverse order of
    /// their starts, as `withValue`'s do: the task's allocator is a stack.
    @inlinable
    static func bind<Value>(_ value: Value, to local: TaskLocal<Value>) {
        let key = UnsafeRawPointer(Unmanaged.passUnretained(local).toOpaque())
        let type = unsafeBitCast(Value.self as Any.Type, to: UnsafeRawPointer.self)
        withUnsafeTemporaryAllocation(of: Value.self, capacity: 1) { buffer in
            let slot = buffer.baseAddress.unsafelyUnwrapped
            slot.initialize(to: value)
            // The binding takes the copy: the slot is left uninitialized.
            goconcurrency_task_local_push(key, slot, type)
        }
    }

    /// Ends the calling task's innermost binding (the raw pop), releasing
    /// its value.
    @inlinable
    static func unbind() {
        goconcurrency_task_local_pop()
    }

    // MARK: 10. A task's innermost binding

    /// The innermost task-local binding's item of `task` (the raw read).
    @inlinable
    static func innermostBinding(of task: UnsafeRawPointer) -> UnsafeRawPointer? {
        task.load(fromByteOffset: 136, as: UnsafeRawPointer?.self)
    }

    /// The first word of the value bound to the task-local at `key` on the
    /// calling task `task`: straight from its innermost binding where that is
    /// the one (and the toolchain verified), else by the runtime's lookup.
    @inlinable @inline(__always)
    static func boundWord(ofKey key: UnsafeRawPointer, onCurrent task: UnsafeRawPointer) -> UInt? {
        if verified, let item = innermostBinding(of: task),
           item.load(fromByteOffset: 8, as: UnsafeRawPointer?.self) == key {
            return item.load(fromByteOffset: 24, as: UInt.self)
        }
        return boundWord(ofKey: key)
    }

    /// Stops the program where an assumption checked on an unverified
    /// toolchain does not hold.
    @usableFromInline
    static func unverifiedAssumptionBroken(_ what: StaticString) -> Never {
        fatalError("GoConcurrency: \(what) on this Swift toolchain (see SwiftRuntimeABI.swift)")
    }
}
