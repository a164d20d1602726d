// Shared helpers of the test suite: the stress knob, polling instead of
// sleeping, small thread-safe recorders, a seeded random generator, plain OS
// threads, and the one white-box probe into a channel's wait queues.

import Foundation
import Synchronization
import Testing
@testable import GoConcurrency

// MARK: - Stress knob

/// Sizes of the stress, storm and model tests, from ONE environment variable
/// (crossbeam's `COUNT` idea):
///
/// - `GOCONCURRENCY_STRESS` unset: the quick sizes, so the whole suite runs in
///   well under five minutes on 2 cores in debug and under the thread sanitizer.
/// - `GOCONCURRENCY_STRESS=N` (an integer): every stress size times N.
/// - `GOCONCURRENCY_STRESS=full`: times 50, e.g. 1,000,000 values through the
///   8 × 8 MPMC test.
enum Stress {
    static let multiplier: Int = {
        guard let raw = ProcessInfo.processInfo.environment["GOCONCURRENCY_STRESS"]?.lowercased(),
              !raw.isEmpty
        else { return 1 }
        if raw == "full" { return 50 }
        return max(1, Int(raw) ?? 1)
    }()

    /// `base` at the quick setting, scaled by the knob.
    static func size(_ base: Int) -> Int { base * multiplier }

    /// Every suite's per-test time limit: a hang guard, never a timing
    /// assertion, so generous, and longer for the bigger sizes.
    static var timeLimit: TimeLimitTrait.Duration { .minutes(multiplier == 1 ? 5 : 60) }
}

// MARK: - Seeds

/// A seed for a randomized test: `GOCONCURRENCY_SEED` replays one, otherwise a
/// fresh one per run. Every randomized test puts its seed in its failure
/// messages, so a failure can be replayed.
enum Seeds {
    static func make(_ count: Int) -> [UInt64] {
        if let raw = ProcessInfo.processInfo.environment["GOCONCURRENCY_SEED"],
           let seed = UInt64(raw) {
            return [seed]
        }
        return (0..<count).map { _ in UInt64.random(in: 0 ... UInt64.max) }
    }
}

/// SplitMix64: small, seedable, good enough to drive random operation sequences.
struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }
}

// MARK: - Waiting for a condition

struct WaitTimedOut: Error, CustomStringConvertible {
    let what: String
    var description: String { "timed out waiting until \(what)" }
}

/// Polls `condition` until it holds: the way a test lets another task reach a
/// state (parked, finished) without guessing a sleep. The deadline is only a
/// hang guard — it turns a hang into a failure and is never a timing assertion.
func waitUntil(
    _ what: @autoclosure () -> String,
    deadline: Duration = .seconds(120),
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: () -> Bool
) async throws {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: deadline)
    var polls = 0
    while !condition() {
        if clock.now >= end {
            let error = WaitTimedOut(what: what())
            Issue.record(error, sourceLocation: sourceLocation)
            throw error
        }
        polls += 1
        if polls < 64 {
            await Task.yield()
        } else {
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// Gives other tasks a moment to run: only where a state cannot be observed
/// (a select with no channel case, a sleep). Never followed by a timing assertion.
func letOthersRun() async throws {
    for _ in 0..<20 { await Task.yield() }
    try await Task.sleep(for: .milliseconds(20))
}

// MARK: - Thread-safe recorders

/// A value behind a lock, shared between tasks and threads. The lock is the
/// runtime's `Locked` (atomics the thread sanitizer sees), not
/// `Synchronization.Mutex`, whose futex the sanitizer cannot see.
final class Shared<Value: Sendable>: @unchecked Sendable {
    private let mutex: Locked<Value>

    init(_ value: Value) { mutex = Locked(value) }

    func withLock<R: Sendable>(_ body: (inout Value) -> R) -> R {
        mutex.withLock { value -> R in body(&value) }
    }

    var value: Value { mutex.withLock { $0 } }

    func set(_ newValue: Value) { mutex.withLock { $0 = newValue } }
}

extension Shared where Value: RangeReplaceableCollection {
    func append(_ element: Value.Element) where Value.Element: Sendable {
        mutex.withLock { $0.append(element) }
    }
}

/// A flag that one task sets and another reads.
final class Flag: Sendable {
    private let state = Atomic<Bool>(false)
    init() {}
    func set() { state.store(true, ordering: .releasing) }
    func clear() { state.store(false, ordering: .releasing) }
    var isSet: Bool { state.load(ordering: .acquiring) }
}

/// A counter shared by tasks and threads.
final class Counter: Sendable {
    private let state = Atomic<Int>(0)
    init() {}
    @discardableResult
    func increment(by amount: Int = 1) -> Int { state.wrappingAdd(amount, ordering: .acquiringAndReleasing).newValue }
    var value: Int { state.load(ordering: .acquiring) }
}

/// Data written and read without synchronization of its own: it is safe only
/// if the channel operation between the writer and the reader orders them
/// (Guarantees, rule 14). Under the thread sanitizer, a missing happens-before edge is a
/// reported race.
final class Unsynchronized<Value>: @unchecked Sendable {
    var value: Value
    init(_ value: Value) { self.value = value }
}

// MARK: - Plain OS threads

/// Starts `body` on a new OS thread (not a task), for `blockingSend` and
/// `blockingReceive`, which must not block the cooperative pool.
func startThread(_ body: @escaping @Sendable () -> Void) {
    let thread = Thread(block: body)
    thread.stackSize = 1 << 20
    thread.start()
}

/// Runs `body` on a new OS thread and suspends (without blocking a pool
/// thread) until it returns.
func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        startThread { continuation.resume(returning: body()) }
    }
}

/// The same for a body that throws. Every wait for a child process goes
/// through one of these: Swift Testing runs all tests, synchronous ones too,
/// on Swift's cooperative pool, which has a thread per core; a test that
/// blocked one while a child ran (two tour runs on two cores) held back every
/// other test of the process until the children ended, and a test waiting for
/// a goroutine's event then waited for minutes.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        startThread { continuation.resume(with: Result { try body() }) }
    }
}

// MARK: - White-box probe of the wait queues

// The one place that looks inside a channel (via `@testable import`): how many
// parked senders and receivers could still be paired with, and how many
// entries the wait queues hold, stale ones included. Tests use it to wait
// until an operation has really parked (so that the outcome they check is
// deterministic, not scheduling luck) and to check that losing select cases
// and cancelled operations leave nothing claimable and nothing that grows
// (Guarantees, rules 23 and 25). If the queues' or the timer heap's shape changes, only
// this block follows.
extension Chan {
    /// Parked senders (tasks, select cases, threads) that a receiver could still pair with.
    var parkedSenders: Int { storage.withLock { $0.senders.claimableCount } }

    /// Parked receivers (tasks, select cases, threads) that a sender could still pair with.
    var parkedReceivers: Int { storage.withLock { $0.receivers.claimableCount } }

    /// Every entry in either queue, stale ones included.
    var queuedEntries: Int {
        storage.withLock { $0.senders.count + $0.receivers.count }
    }
}

extension WaitQueue {
    /// Entries that could still be claimed: a parked task's always (it leaves
    /// the queue when cancelled), a node's while its waiter waits.
    var claimableCount: Int {
        var count = 0
        forEach { entry in
            if entry.node?.owner.isWaiting ?? true { count += 1 }
            return true
        }
        return count
    }
}

extension Chan {
    /// Queue entries looked at so far by removals of cancelled tasks, both
    /// queues together: the work a cancellation does under the channel's lock.
    var cancelRemovalSteps: Int {
        storage.withLock { $0.senders.removalSteps + $0.receivers.removalSteps }
    }
}

/// A sync primitive's queue on its own, for counting what a cancellation
/// costs: `park` queues the calling task until it is cancelled (nothing ever
/// grants it).
final class SyncQueueProbe: Sendable {
    let storage = SyncStorage<Int>(0)

    func park() async throws {
        try await storage.wait(reason: .semacquire, at: SourceLocation(fileID: #fileID, line: #line)) { _, _ in false }
    }

    var waitingCount: Int { storage.waitingCount }

    /// Queue entries looked at so far by removals of cancelled tasks.
    var cancelRemovalSteps: Int { storage.read { _, waiters in waiters.removalSteps } }
}

/// Entries in the runtime's timer heap, cancelled ones included: a loop of
/// selects whose timeouts never fire must not make it grow (Guarantees, rule 25).
func timerHeapEntries(of runtime: GoRuntime) -> Int { runtime.timers.storedCount }

/// How many stale (unclaimable) entries a quiet queue may keep: the queue may
/// drop lost select cases lazily, in batches, but never let them grow with the
/// number of operations (Guarantees, rule 25).
let staleEntryBound = 32

/// Checks that no parked operation is left on `channel`: nothing a send or
/// receive could pair with, and at most a bounded number of stale entries.
func expectNoWaiters<Element>(
    on channel: Chan<Element>,
    _ comment: @autoclosure () -> String = "",
    sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(channel.parkedSenders == 0, "\(comment())", sourceLocation: sourceLocation)
    #expect(channel.parkedReceivers == 0, "\(comment())", sourceLocation: sourceLocation)
    #expect(channel.queuedEntries <= staleEntryBound, "\(comment())", sourceLocation: sourceLocation)
}

// MARK: - Small helpers

/// Cancels the calling task itself: for "an operation in an already cancelled task".
func cancelCurrentTask() {
    withUnsafeCurrentTask { $0?.cancel() }
}

/// An empty type, for Guarantees, rule 13.
struct Empty: Sendable, Equatable {}

/// A plain OS thread that races one action per round against the test's task,
/// for Guarantees, rule 24, and cancellation races: the task publishes an action and at
/// once runs its own operation; the thread runs the action after a random
/// spin, so that over many rounds the two sweep across each other's critical
/// windows. The spin's scale cycles from 64 to 4,096 iterations, so that some
/// rounds fit the window whatever the build (debug, release, sanitizer).
///
/// The racing side is a thread, not a task, so that its spinning never
/// occupies the cooperative pool; between rounds it spins only briefly and
/// then sleeps on a condition variable, so that it does not steal the cores
/// from tests running in parallel.
final class Racer: @unchecked Sendable {
    private let condition = NSCondition()
    /// Protected by `condition`.
    private var round = 0
    private var finished = 0
    private var sleeping = false
    private var action: (@Sendable () -> Void)?
    /// Mirrors of `round` and `finished` for lock-free spinning.
    private let publishedRound = Atomic<Int>(0)
    private let finishedRound = Atomic<Int>(0)

    init(seed: UInt64) {
        startThread { [self] in self.run(seed: seed) }
    }

    /// Starts the next round: the thread runs `body` after a random spin.
    func race(_ body: @escaping @Sendable () -> Void) {
        condition.lock()
        action = body
        round += 1
        publishedRound.store(round, ordering: .releasing)
        if sleeping { condition.signal() }
        condition.unlock()
    }

    /// Waits until the thread has run the current round's action.
    func waitForRound() async {
        let current = publishedRound.load(ordering: .acquiring)
        while finishedRound.load(ordering: .acquiring) < current { await Task.yield() }
    }

    /// Ends the thread after its current round.
    func stop() {
        condition.lock()
        round = -1
        publishedRound.store(-1, ordering: .releasing)
        condition.signal()
        condition.unlock()
    }

    private func run(seed: UInt64) {
        var random = SeededRandom(seed: seed)
        var seen = 0
        var sink = 0
        while true {
            // Spin a little for the next round, then sleep until it is published.
            var polls = 0
            while publishedRound.load(ordering: .acquiring) == seen && polls < 20_000 { polls += 1 }
            condition.lock()
            while round == seen {
                sleeping = true
                condition.wait()
                sleeping = false
            }
            let next = round
            let body = action
            condition.unlock()
            if next < 0 { return }
            let scale = UInt64(64) << UInt64(next % 7)
            let spins = Int(random.next() % scale)
            for i in 0..<spins { sink &+= i }
            body?()
            seen = next
            finishedRound.store(next, ordering: .releasing)
        }
    }
}

// MARK: - The tour as a child process

/// What a child process did: its exit status and what it wrote.
struct ChildRun {
    let status: Int32
    let output: String
    let errors: String
}

/// Runs the tour built next to this test binary with `arguments` (and
/// `environment` added to this process's own) and waits for it to end, on a
/// thread of its own (see `onThread`, `runChild`).
func runTour(_ arguments: [String], environment: [String: String] = [:]) async throws -> ChildRun {
    let path = RouteTests.tourPath
    try #require(FileManager.default.isExecutableFile(atPath: path.path), "no tour executable at \(path.path)")
    return try await runChild(path.path, arguments, environment: environment)
}

// MARK: - Dump text

/// A dump's text with each wait's length (", 1 minute") taken out of its
/// headers: a test matches the wait's reason, never how long it has lasted.
/// A loaded machine (the thread sanitizer's run, every suite at once) can
/// keep a test from looking for a minute after its goroutines parked, and
/// the length is right then. `DiagnosticsTests.waitLength` checks lengths.
func withoutWaitLength(_ text: String) -> String {
    text.replacing(/, \d+ minutes?\]/, with: "]")
}

// MARK: - Leak reports

/// Runs `scope`, a leak check around a body that leaves one goroutine parked
/// in a channel receive at `place` (where it was also started), and checks
/// that it throws that leak, with the goroutine's dump.
func expectOneLeakedReceive(
    at place: GoConcurrency.SourceLocation,
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ scope: () async throws -> Void
) async throws {
    do {
        try await scope()
        Issue.record("no leak reported", sourceLocation: sourceLocation)
    } catch let leak as GoroutineLeak {
        #expect(leak.goroutines.count == 1, sourceLocation: sourceLocation)
        #expect(leak.goroutines.first?.createdAt == place, sourceLocation: sourceLocation)
        #expect(leak.goroutines.first?.state == .waiting(.channelReceive, at: place), sourceLocation: sourceLocation)
        #expect("\(leak)".hasPrefix("1 goroutine leaked:\n\ngoroutine "), sourceLocation: sourceLocation)
    }
}

// MARK: - Child processes, one at a time

/// Exit tests (`#expect(processExitsWith:)`) take turns: one child process
/// at a time.
///
/// Swift Testing waits for an exit test's child on a thread of Swift's
/// cooperative pool, blocked in a read for as long as the child runs, and that
/// pool has a thread per core (libdispatch adds a few when its threads
/// block). With 32 exit tests started at once, a few
/// long children (5,000 checked runs, a spike of 100,000 goroutines) held
/// every thread of the pool, and every other test of the process, each
/// awaiting an event of a goroutine, stood still until they ended: a stall of
/// minutes at `GOCONCURRENCY_STRESS=full`. Waiting for a turn suspends
/// without holding a thread.
final class ChildProcessTurns: @unchecked Sendable {
    private static let shared = ChildProcessTurns()
    private let lock = NSLock()
    /// Protected by `lock`.
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Suspends until no other exit test's child runs.
    static func take() async -> Turn {
        await shared.take()
        return Turn()
    }

    struct Turn {
        /// Hands the turn on (call it once the child has ended: `defer`).
        func end() { ChildProcessTurns.shared.handOn() }
    }

    private func take() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            lock.lock()
            if busy {
                waiting.append(continuation)
                lock.unlock()
            } else {
                busy = true
                lock.unlock()
                continuation.resume()
            }
        }
    }

    private func handOn() {
        lock.lock()
        guard !waiting.isEmpty else {
            busy = false
            lock.unlock()
            return
        }
        let next = waiting.removeFirst()
        lock.unlock()
        next.resume()
    }
}

/// The route the suite runs on: "global" when GOCONCURRENCY_TEST_ROUTE=global
/// installed the runtime as Swift's global executor before the runner started
/// (Tests/CGoConcurrencyTestRoute), "preference" otherwise.
let testRoute: GoRuntime.Route = ProcessInfo.processInfo.environment["GOCONCURRENCY_TEST_ROUTE"] == "global"
    ? .globalExecutor : .executorPreference

/// Called by the C constructor before main, when the suite is to run on the
/// global-executor route.
@_cdecl("goconcurrency_tests_install_global_route")
func installGlobalRouteForTests() {
    GoRuntime.installAsGlobalExecutor()
}
