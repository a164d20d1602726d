// The assumptions about the Swift runtime's internals that SwiftRuntimeABI.swift
// lists, one test each (numbered as there). They check the raw assumption, not
// the fallbacks of an unverified toolchain, so that running them on a new
// toolchain says which assumption still holds before its guard is widened.

import Dispatch
import Synchronization
import Testing
@testable import GoConcurrency
import CGoConcurrencyRuntime

@Suite("Swift runtime ABI", .timeLimit(Stress.timeLimit))
struct SwiftRuntimeABITests {
    // MARK: 1. The child-task bit of a job's flags

    @Test("1. A task group's and an async let's tasks carry the child-task flag; detached and plain tasks do not")
    func childTaskFlag() async {
        let inGroup = await withTaskGroup(of: Bool.self) { group in
            group.addTask { currentJobIsChildTask() }
            return await group.next() ?? false
        }
        async let inAsyncLet = currentJobIsChildTask()
        let inDetached = await Task.detached { currentJobIsChildTask() }.value
        let inPlain = await Task { currentJobIsChildTask() }.value

        #expect(inGroup)
        #expect(await inAsyncLet)
        #expect(!inDetached)
        #expect(!inPlain)
    }

    @Test("1. The flag reads the same in the jobs an executor is handed")
    func childTaskFlagAsEnqueued() async {
        // Given an executor that records the flag of every job it is handed
        let probe = ProbeExecutor()
        // When a detached task and a child task of a group run on it
        await Task.detached(executorPreference: probe) {}.value
        let detachedFlags = probe.takeFlags()
        await withTaskGroup(of: Void.self) { group in
            group.addTask(executorPreference: probe) {}
        }
        let childFlags = probe.takeFlags()

        // Then the detached task's jobs have no flag, and the child's have it
        #expect(!detachedFlags.isEmpty && !detachedFlags.contains(true))
        #expect(!childFlags.isEmpty && !childFlags.contains(false))
    }

    // MARK: 2. Strong references count live plain tasks

    @Test("2. Each live plain task started under a task-local binding holds one reference; child and detached tasks hold none")
    func retainCountCountsPlainTasks() async throws {
        let token = Token()
        let plainTasks = 3
        try await ProbeLocal.$token.withValue(token) {
            // Measured through an unretained reference, which closures
            // capture without counting it.
            let counted = Unmanaged.passUnretained(token)
            let base = references(of: counted)
            let gate = Gate()

            // Given a child task and a detached task alive under the binding,
            // the count does not move
            async let child: Void = gate.wait()
            let detached = Task.detached { await gate.wait() }
            #expect(references(of: counted) == base)

            // When plain tasks start under it, each adds one
            var started: [Task<Void, Never>] = []
            for count in 1...plainTasks {
                started.append(Task { await gate.wait() })
                #expect(references(of: counted) == base + count)
            }

            // Then, once they end, the count falls back
            gate.open()
            for task in started { await task.value }
            await detached.value
            await child
            try await waitUntil("the ended tasks gave back their references") {
                references(of: counted) == base
            }
        }
    }

    // MARK: 3. A continuation is its task's address

    @Test("3. A continuation's word is its task's address")
    func continuationIsItsTask() async throws {
        let task = SwiftRuntimeABI.currentTask.pointer.map { UInt(bitPattern: $0) }
        let plain: UInt = await withUnsafeContinuation { continuation in
            continuation.resume(returning: UInt(bitPattern: SwiftRuntimeABI.taskAddress(of: continuation)))
        }
        let throwing: UInt = try await withUnsafeThrowingContinuation { continuation in
            continuation.resume(returning: UInt(bitPattern: SwiftRuntimeABI.taskAddress(of: continuation)))
        }
        let inOtherTask = await Task.detached { () -> Bool in
            let task = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)
            let continuation: UInt = await withUnsafeContinuation { continuation in
                continuation.resume(returning: UInt(bitPattern: SwiftRuntimeABI.taskAddress(of: continuation)))
            }
            return task != 0 && continuation == task
        }.value

        #expect(task != nil)
        #expect(plain == task)
        #expect(throwing == task)
        #expect(inOtherTask)
        #expect(MemoryLayout<UnsafeContinuation<Int, Never>>.size == MemoryLayout<UnsafeRawPointer>.size)
    }

    // MARK: 4. The current task's address

    @Test("4. The current task's address: 0 outside tasks, stable in one, distinct between live tasks")
    func currentTaskAddress() async throws {
        let outside = await onThread { UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer) }
        let here = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)
        await Task.yield()
        let afterSuspending = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)

        // Two tasks alive at once have different addresses.
        let gate = Gate()
        let first = Task { () -> UInt in
            let address = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)
            await gate.wait()
            return address
        }
        let second = Task { () -> UInt in
            let address = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)
            await gate.wait()
            return address
        }
        try await waitUntil("both tasks wait") { gate.waiting == 2 }
        gate.open()
        let (a, b) = (await first.value, await second.value)

        // The runtime's entry point answers what the public API answers.
        let outsidePublic = await onThread { UInt(bitPattern: SwiftRuntimeABI.currentTaskFromPublicAPI.pointer) }
        let outsideRaw = await onThread { UInt(bitPattern: goconcurrency_current_task()) }
        let herePublic = UInt(bitPattern: SwiftRuntimeABI.currentTaskFromPublicAPI.pointer)
        let hereRaw = UInt(bitPattern: goconcurrency_current_task())

        #expect(outside == 0)
        #expect(outsidePublic == 0 && outsideRaw == 0)
        #expect(here != 0)
        #expect(herePublic == here && hereRaw == here)
        #expect(afterSuspending == here)
        #expect(a != 0 && b != 0 && a != b && a != here && b != here)
        #expect(MemoryLayout<UnsafeCurrentTask?>.size == MemoryLayout<UnsafeRawPointer?>.size)
    }

    // MARK: 8. A task-local's value, read by its key

    @Test("8. A task-local read by its key: nothing unbound, the innermost binding, the parent's in a child, nothing after")
    func taskLocalReadByKey() async {
        let local = ProbeLocal.$word
        let unbound = SwiftRuntimeABI.boundWord(of: local)
        let outsideTasks = await onThread { ProbeLocal.$word.withValue(7) { SwiftRuntimeABI.boundWord(of: ProbeLocal.$word) } }
        let (outer, inner, child, outerAgain) = await local.withValue(41) {
            let outer = SwiftRuntimeABI.boundWord(of: local)
            let (inner, child) = await local.withValue(42) {
                let inner = SwiftRuntimeABI.boundWord(of: local)
                async let child = SwiftRuntimeABI.boundWord(of: local)
                return (inner, await child)
            }
            return (outer, inner, child, SwiftRuntimeABI.boundWord(of: local))
        }
        let after = SwiftRuntimeABI.boundWord(of: local)

        #expect(unbound == nil)
        #expect(outsideTasks == 7)
        #expect(outer == 41 && inner == 42 && child == 42 && outerAgain == 41)
        #expect(after == nil)
        // What the raw read answers is what `TaskLocal.get()` answers.
        #expect((SwiftRuntimeABI.boundWord(of: local) ?? 0) == local.get())
        #expect(local.withValue(9) { SwiftRuntimeABI.boundWord(of: local) == local.get() })
    }

    // MARK: 9. A task-local bound by the runtime's push and pop

    @Test("9. A pushed binding reads back, in a child too; a plain task copies it; an in-place write is seen; the pop releases it")
    func taskLocalPushAndPop() async throws {
        let token = Token()
        let counted = Unmanaged.passUnretained(token)
        let base = references(of: counted)

        // Given a word and an object bound by the raw push
        SwiftRuntimeABI.bind(ProbePair(word: 11, token: token), to: ProbeLocal.$pair)
        let seen = await readPushedBinding(counted, base: base)
        SwiftRuntimeABI.unbind()

        // Then each read saw the binding where the runtime keeps it
        #expect(seen.word == 11 && seen.get == 11 && seen.child == 11)
        #expect(seen.bindingHeld == 1)
        #expect(seen.plainHeld == 1)
        #expect(seen.rewritten == 12 && seen.rewrittenGet == 12 && seen.childAfterWrite == 12)
        #expect(seen.plainKeepsItsCopy == 11)
        // And after the pop nothing is bound, and the value is released
        #expect(SwiftRuntimeABI.boundWord(of: ProbeLocal.$pair) == nil)
        #expect(ProbeLocal.pair == nil)
        try await waitUntil("the binding and the plain task gave back their references") {
            references(of: counted) == base
        }
        #expect(MemoryLayout<ProbePair>.offset(of: \.word) == 0)
        #expect(MemoryLayout<ProbePair?>.size == MemoryLayout<ProbePair>.size)
    }

    // MARK: 10. A task's innermost binding

    @Test("10. A detached task's innermost binding is the item at offset 136, its key and value where said, by withValue or the raw push")
    func innermostBindingOfATask() async {
        let seen = await Task.detached { () -> [Bool] in
            guard let task = SwiftRuntimeABI.currentTask.pointer else { return [false] }
            let wordKey = UnsafeRawPointer(Unmanaged.passUnretained(ProbeLocal.$word).toOpaque())
            let pairKey = UnsafeRawPointer(Unmanaged.passUnretained(ProbeLocal.$pair).toOpaque())
            // Unbound: no item
            var checks = [SwiftRuntimeABI.innermostBinding(of: task) == nil]
            await ProbeLocal.$word.withValue(31) {
                // Bound by withValue: the item, its key, its value, and the
                // storage the runtime's lookup answers
                // (the word at 136 read through only once it is the item the
                // lookup answers: on a toolchain where the head moved, the
                // test fails rather than following a stray word)
                let item = SwiftRuntimeABI.innermostBinding(of: task)
                let itemIsTheBinding = item.map { $0 + 24 } == SwiftRuntimeABI.boundStorage(of: ProbeLocal.$word).map { UnsafeRawPointer($0) }
                checks.append(itemIsTheBinding)
                guard itemIsTheBinding else { return }
                checks.append(item?.load(fromByteOffset: 8, as: UnsafeRawPointer?.self) == wordKey)
                checks.append(item?.load(fromByteOffset: 24, as: UInt.self) == 31)
                checks.append(SwiftRuntimeABI.boundWord(ofKey: wordKey, onCurrent: task) == 31)
                // Another key bound inside it, by the raw push: it is the
                // innermost now, and the outer one is still found
                SwiftRuntimeABI.bind(ProbePair(word: 32, token: Token()), to: ProbeLocal.$pair)
                let inner = SwiftRuntimeABI.innermostBinding(of: task)
                let innerIsTheBinding = inner.map { $0 + 24 } == SwiftRuntimeABI.boundStorage(of: ProbeLocal.$pair).map { UnsafeRawPointer($0) }
                checks.append(innerIsTheBinding)
                guard innerIsTheBinding else {
                    SwiftRuntimeABI.unbind()
                    return
                }
                checks.append(inner?.load(fromByteOffset: 8, as: UnsafeRawPointer?.self) == pairKey)
                checks.append(SwiftRuntimeABI.boundWord(ofKey: pairKey, onCurrent: task) == 32)
                checks.append(SwiftRuntimeABI.boundWord(ofKey: wordKey, onCurrent: task) == 31)
                SwiftRuntimeABI.unbind()
                checks.append(SwiftRuntimeABI.innermostBinding(of: task) == item)
            }
            checks.append(SwiftRuntimeABI.innermostBinding(of: task) == nil)
            return checks
        }.value
        #expect(seen == Array(repeating: true, count: 11))
    }

    // MARK: 5. A job is its address

    @Test("5. A job round-trips through its bits and runs; its address is even and is its task's")
    func jobIsItsAddress() async {
        // Given an executor that queues each job as its bits and runs the job
        // made back from them
        let probe = ProbeExecutor()
        // When a task runs on it
        let (result, task) = await Task.detached(executorPreference: probe) { () -> (Int, UInt) in
            let task = UInt(bitPattern: SwiftRuntimeABI.currentTask.pointer)
            await Task.yield()  // a second job of the same task
            return (6 * 7, task)
        }.value
        let jobs = probe.takeAddresses()

        // Then it ended with its result, its first job and the one after it
        // yielded were at its address, and no job's address was odd (the
        // runtime may hand over jobs of its own too)
        #expect(result == 42)
        #expect(jobs.first == task)
        #expect(jobs.filter { $0 == task }.count >= 2)
        #expect(jobs.allSatisfy { $0 & 1 == 0 })
        #expect(MemoryLayout<UnownedJob>.size == MemoryLayout<UnsafeRawPointer>.size)
    }

    @Test("5. A goroutine that lists goroutines sees itself running: its root task is the job its processor runs")
    func runningGoroutineIsItsJob() async throws {
        let runtime = GoRuntime(processors: 1)
        let seen = Chan<GoroutineInfo.State?>(capacity: 1)
        go(on: runtime) {
            let me = GoRuntime.currentGoroutineID
            try await seen.send(GoRuntime.goroutines().first { $0.id == me }?.state)
        }
        let state = try await seen.receive()
        #expect(state == .running)
    }

    // MARK: 6. Swift's generic executor

    @Test("6. The generic executor names no executor, and jobs run on it hop to an actor and back")
    func genericExecutor() async {
        let generic = SwiftRuntimeABI.genericExecutor
        #expect(generic.asSerialExecutor() == nil)
        #expect(MemoryLayout<UnownedSerialExecutor>.size == 2 * MemoryLayout<UInt>.size)

        // Given an executor that runs every job on the generic executor, as
        // the global-executor route does
        let probe = ProbeExecutor(onGeneric: true)
        let counter = HopCounter()
        // When a task run there hops to an actor and back, twice
        let total = await Task.detached(executorPreference: probe) { () -> Int in
            await counter.add(2)
            await counter.add(3)
            return await counter.value
        }.value
        // Then it ran to its end
        #expect(total == 5)
        #expect(!probe.takeAddresses().isEmpty)
    }

    // MARK: 7. A small plain value in an `Any`

    @Test("7. A small plain value lies at the start of an Any, its type in the fourth word; a nil Any? has a zero type word")
    func smallPlainValueInAny() {
        #expect(rawRead(Int.random(in: 1...1000), same: ==))
        #expect(rawRead((Int.random(in: 1...1000), 2.5)) { $0.0 == $1.0 && $0.1 == $1.1 })
        let threeWords: (UInt8, Int, Int32) = (9, Int.random(in: 1...1000), -4)
        let threeWordsReadBack = rawRead(threeWords) { (a: (UInt8, Int, Int32), b: (UInt8, Int, Int32)) -> Bool in
            a.0 == b.0 && a.1 == b.1 && a.2 == b.2
        }
        #expect(threeWordsReadBack)
        #expect(rawRead(Int?.none, same: ==))
        #expect(rawRead(Int?.some(3), same: ==))
        #expect(SwiftRuntimeABI.storesInline(Int.self) && SwiftRuntimeABI.storesInline((Int, Int, Int).self))
        #expect(!SwiftRuntimeABI.storesInline((Int, Int, Int, Int).self))
        #expect(!SwiftRuntimeABI.storesInline(String.self) && !SwiftRuntimeABI.storesInline(Token.self))
        var empty: Any? = nil
        withUnsafeMutablePointer(to: &empty) { pointer in
            #expect(SwiftRuntimeABI.typeOfAny(at: UnsafeMutableRawPointer(pointer)) == nil)
        }
    }

    @Test("7. Taking a value out of an Any? gives what a cast gives, read in place or not, and leaves nil")
    func takeFromAny() {
        var slot: Any? = 17
        #expect(SwiftRuntimeABI.take(&slot, as: Int.self) == 17)
        #expect(slot == nil)
        #expect(SwiftRuntimeABI.take(&slot, as: Int.self) == nil)
        slot = "text"
        #expect(SwiftRuntimeABI.take(&slot, as: String.self) == "text")
        #expect(slot == nil)
        slot = Int?.none as Any
        #expect(SwiftRuntimeABI.take(&slot, as: Int?.self) == .some(nil))
        let token = Token()
        slot = token
        #expect(SwiftRuntimeABI.take(&slot, as: Token.self) === token)
    }

    // MARK: Related

    @Test("Select's handler casts: a function stored as another type of the same layout is called as its own")
    func functionValuesShareOneLayout() throws {
        let offset = Int.random(in: 1...100)
        #expect(try roundTrip({ (value: Int?) in (value ?? 0) + offset }, with: 5) == 5 + offset)
        #expect(try roundTrip({ (value: String?) in (value ?? "") + "!" }, with: "go") == "go!")
        #expect(MemoryLayout<(Int?) throws -> Int>.size == MemoryLayout<() throws -> Int>.size)
    }

    @Test("Where the toolchain is verified, the guarded functions are the raw assumptions")
    func guardedFunctionsAreRawOnVerifiedToolchains() async {
        guard SwiftRuntimeABI.verified else { return }
        let child = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                let job = SwiftRuntimeABI.job(at: SwiftRuntimeABI.currentTask.pointer!)
                return SwiftRuntimeABI.isChildTask(job) == SwiftRuntimeABI.jobFlagsMarkChildTask(job)
            }
            return await group.next() ?? false
        }
        let detached = await Task.detached {
            let job = SwiftRuntimeABI.job(at: SwiftRuntimeABI.currentTask.pointer!)
            return SwiftRuntimeABI.isChildTask(job) == SwiftRuntimeABI.jobFlagsMarkChildTask(job)
        }.value
        #expect(child && detached)
        #expect(SwiftRuntimeABI.plainTasks(references: 5, baseline: 5) == 0)
        #expect(SwiftRuntimeABI.plainTasks(references: 7, baseline: 5) == 2)
    }
}

// MARK: - Probes

/// Whether `value`, stored in an `Any?`, reads back equal (by `same`) through
/// the raw read of assumption 7, and its type word names its type.
private func rawRead<T>(_ value: T, same: (T, T) -> Bool) -> Bool {
    var slot: Any? = value
    return withUnsafeMutablePointer(to: &slot) { pointer in
        let raw = UnsafeMutableRawPointer(pointer)
        guard SwiftRuntimeABI.typeOfAny(at: raw) == T.self else { return false }
        return same(raw.load(as: T.self), value)
    }
}

/// What `taskLocalPushAndPop` reads inside the raw binding (a function of
/// its own, so that the child and plain tasks' frames end before the pop).
@inline(never)
private func readPushedBinding(_ counted: Unmanaged<Token>, base: Int) async -> (
    word: UInt?, get: UInt?, child: UInt?, bindingHeld: Int, plainHeld: Int,
    rewritten: UInt?, rewrittenGet: UInt?, childAfterWrite: UInt?, plainKeepsItsCopy: UInt?
) {
    let word = SwiftRuntimeABI.boundWord(of: ProbeLocal.$pair)
    let get = ProbeLocal.pair?.word
    let child = await childReadsPair()
    let bindingHeld = references(of: counted) - base
    let gate = Gate()
    let plain = Task { () -> UInt? in
        await gate.wait()
        return ProbeLocal.pair?.word
    }
    let plainHeld = references(of: counted) - base - bindingHeld
    // When the bound word is rewritten in place
    SwiftRuntimeABI.boundStorage(of: ProbeLocal.$pair).unsafelyUnwrapped
        .storeBytes(of: 12, toByteOffset: 0, as: UInt.self)
    let rewritten = SwiftRuntimeABI.boundWord(of: ProbeLocal.$pair)
    let rewrittenGet = ProbeLocal.pair?.word
    let childAfterWrite = await childReadsPair()
    gate.open()
    let plainKeepsItsCopy = await plain.value
    return (word, get, child, bindingHeld, plainHeld, rewritten, rewrittenGet, childAfterWrite, plainKeepsItsCopy)
}

/// The pair's word as a child task reads it.
private func childReadsPair() async -> UInt? {
    async let child = SwiftRuntimeABI.boundWord(of: ProbeLocal.$pair)
    return await child
}

private struct ProbePair: Sendable {
    var word: UInt
    let token: Token
}

/// `token`'s strong references, counted as `Goroutine` counts its handle's:
/// always through the same borrowed reference, so that the caller's own
/// references are the same in every call.
@inline(never)
private func references(of token: Unmanaged<Token>) -> Int {
    token._withUnsafeGuaranteedRef { SwiftRuntimeABI.strongReferences(of: $0) }
}

/// Whether the calling task's job has the child-task flag.
private func currentJobIsChildTask() -> Bool {
    guard let task = SwiftRuntimeABI.currentTask.pointer else { return false }
    return SwiftRuntimeABI.jobFlagsMarkChildTask(SwiftRuntimeABI.job(at: task))
}

private final class Token: Sendable {}

/// A handler that takes a value stored as one that takes none and called as
/// its real type, as `ChannelCase` does: within generic code, where both
/// function types have their generic layout (the erased value never reaches
/// code that knows `Result`, which would wrap it in a thunk of the wrong type).
private func roundTrip<Element, Result>(_ handler: @escaping (Element?) throws -> Result, with value: Element?) throws -> Result {
    let erased = unsafeBitCast(handler, to: (() throws -> Result).self)
    return try unsafeBitCast(erased, to: ((Element?) throws -> Result).self)(value)
}

private enum ProbeLocal {
    @TaskLocal static var token: Token?
    @TaskLocal static var word: UInt = 0
    @TaskLocal static var pair: ProbePair?
}

private actor HopCounter {
    var value = 0
    func add(_ amount: Int) { value += amount }
}

/// Tasks wait on it until it opens.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    var waiting: Int { state.withLock { $0.waiters.count } }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// A task executor that records each job it is handed (its address, as a
/// run queue does, and its child-task flag), then runs the job made back
/// from that address on a queue of its own: as a task executor, or on
/// Swift's generic executor.
private final class ProbeExecutor: TaskExecutor, Sendable {
    private let queue = DispatchQueue(label: "SwiftRuntimeABITests.probe")
    private let seen = Mutex<(addresses: [UInt], flags: [Bool])>(([], []))
    private let onGeneric: Bool

    init(onGeneric: Bool = false) {
        self.onGeneric = onGeneric
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        let bits = UInt(bitPattern: SwiftRuntimeABI.address(of: unowned))
        let child = SwiftRuntimeABI.jobFlagsMarkChildTask(unowned)
        seen.withLock {
            $0.addresses.append(bits)
            $0.flags.append(child)
        }
        queue.async {
            let job = SwiftRuntimeABI.job(at: UnsafeRawPointer(bitPattern: bits)!)
            if self.onGeneric {
                job.runSynchronously(on: SwiftRuntimeABI.genericExecutor)
            } else {
                job.runSynchronously(on: self.asUnownedTaskExecutor())
            }
        }
    }

    func takeAddresses() -> [UInt] {
        seen.withLock { seen in
            defer { seen = ([], []) }
            return seen.addresses
        }
    }

    func takeFlags() -> [Bool] {
        seen.withLock { seen in
            defer { seen = ([], []) }
            return seen.flags
        }
    }
}
