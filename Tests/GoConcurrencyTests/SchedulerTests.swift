// The first scheduler guarantees (the runtime issue adds the rest).

import Foundation
import Testing
import CGoConcurrencyRuntime
@testable import GoConcurrency

@Suite("Scheduler", .timeLimit(Stress.timeLimit))
struct SchedulerTests {
    /// One processor for the tests that need to see its queues at work. A
    /// runtime lives as long as the process, so the suite shares one.
    static let singleProcessor = GoRuntime(processors: 1)

    @Test func a_pair_handing_off_through_runnext_does_not_starve_the_local_queue() async throws {
        // Given one processor on which goroutine A starts C and then
        // ping-pongs with B, so that C waits in the local queue while A and B
        // take turns through runnext (a runtime of its own: another test's
        // goroutines queued on the processor would wait ahead of C),
        let runtime = GoRuntime(processors: 1)
        let ping = Chan<Int>(), pong = Chan<Int>(), done = Chan<Void>()
        let rounds = Chan<Int>(capacity: 1)
        let limit = 1_000_000
        go(on: runtime) {
            for await value in ping {
                try await pong.send(value)
            }
        }
        go(on: runtime) {
            go(on: runtime) { try done.close() }
            var count = 0
            while !done.isClosed && count < limit {
                try await ping.send(count)
                _ = try await pong.receive()
                count += 1
            }
            try ping.close()
            try await rounds.send(count)
        }
        // Then C runs after a bounded number of hand-offs, not never.
        let count = try await rounds.receive()!
        #expect(count < limit, "the goroutine in the local queue never ran during \(count) hand-offs")
        #expect(count <= Processor.runnextTurns + 1)
    }

    @Test func a_goroutine_that_throws_reports_a_panic_and_exits_with_status_2() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .exitCode(2), observing: [\.standardErrorContent]) {
            struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
            let done = Chan<Void>()
            go { throw Boom() }
            _ = try? await done.receive()
        }
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("panic: boom"))
        #expect(standardError.contains("SchedulerTests.swift"))
    }

    // MARK: Goroutine registry, ids, yield

    @Test func live_goroutines_are_counted_and_listed_with_what_they_wait_for() async throws {
        let gate = Chan<Void>()
        let ids = Chan<Int>(capacity: 8)
        let line: UInt = #line + 4
        for _ in 0..<8 {
            go {
                try await ids.send(GoRuntime.currentGoroutineID!)
                _ = try await gate.receive()
            }
        }
        var started: Set<Int> = []
        for _ in 0..<8 { started.insert(try await ids.receive()!) }
        #expect(GoRuntime.goroutineCount >= 8)
        try await waitUntil("all eight park") {
            GoRuntime.goroutines().filter { started.contains($0.id) && $0.state == .waiting(.channelReceive, at: SourceLocation(fileID: #fileID, line: line)) }.count == 8
        }
        let info = GoRuntime.goroutines().first { started.contains($0.id) }!
        #expect(info.createdAt.fileID == "GoConcurrencyTests/SchedulerTests.swift")
        #expect(withoutWaitLength(info.description).hasPrefix("goroutine \(info.id) [chan receive]:"))

        try gate.close()
        try await waitUntil("they end and leave the registry") {
            GoRuntime.goroutines().allSatisfy { !started.contains($0.id) }
        }
    }

    @Test func a_reused_record_carries_nothing_of_its_previous_goroutine() async throws {
        // An ended goroutine's record is kept for a later `go` (Go's gFree).
        // Reused, it must be a new goroutine in every way: a new id, its own
        // start location, and not the leak-check scope of the goroutine that
        // had it before (here a scope still open when the record is reused,
        // which would then report the new goroutine as its leak).
        let runtime = GoRuntime(processors: 1)
        let count = 100
        let startSecond = Chan<Void>(), secondParked = Chan<Int>(capacity: count)
        let gate = Chan<Void>(), secondDone = Chan<Void>(capacity: count)
        let secondLine: UInt = #line + 5
        go(on: runtime) {
            // Outside the scope below.
            _ = try await startSecond.receive()
            for _ in 0..<count {
                go(on: runtime) {
                    try await secondParked.send(GoRuntime.currentGoroutineID ?? -1)
                    _ = try await gate.receive()
                    try await secondDone.send(())
                }
            }
        }
        let reusedBefore = runtime.goroutineRecordsReused
        var firstIDs: [Int] = []
        var secondIDs: [Int] = []
        // The grace only bounds the wait for the first wave's goroutines to
        // end after their sends (a clean scope returns as soon as they have).
        try await GoRuntime.checkingLeaks(grace: .seconds(60)) {
            let firstDone = Chan<Int>(capacity: count)
            go(on: runtime) {
                for _ in 0..<count {
                    go(on: runtime) { try await firstDone.send(GoRuntime.currentGoroutineID ?? -1) }
                }
            }
            for _ in 0..<count { firstIDs.append(try await firstDone.receive()!) }
            try startSecond.close()
            for _ in 0..<count { secondIDs.append(try await secondParked.receive()!) }
        }  // throws GoroutineLeak if a second-wave goroutine carried this scope
        #expect(runtime.goroutineRecordsReused > reusedBefore)
        #expect(Set(firstIDs + secondIDs).count == 2 * count)
        #expect(secondIDs.min()! > firstIDs.max()!)
        let listed = GoRuntime.goroutines().filter { Set(secondIDs).contains($0.id) }
        #expect(listed.count == count)
        #expect(listed.allSatisfy { $0.createdAt == SourceLocation(fileID: #fileID, line: secondLine) })
        try gate.close()
        for _ in 0..<count { _ = try await secondDone.receive() }
    }

    @Test func goroutines_leave_the_registry_in_any_order_and_the_rest_stay_listed() async throws {
        // The registry links its records without counting the links: removing
        // the newest (a shard's head), the oldest (its tail) or one between
        // must relink the others, which stay listed until they end.
        let runtime = GoRuntime(processors: 1)
        let count = 12
        let gates = (0..<count).map { _ in Chan<Void>() }
        let ids = Chan<(Int, Int)>(capacity: count)
        for index in 0..<count {
            go(on: runtime) {
                try await ids.send((index, GoRuntime.currentGoroutineID!))
                _ = try await gates[index].receive()
            }
        }
        var idOf: [Int: Int] = [:]
        for _ in 0..<count {
            let (index, id) = try await ids.receive()!
            idOf[index] = id
        }
        var left = Set(idOf.values)
        for index in [5, count - 1, 0, 6, 1, count - 2, 3, 2, 4, 7, 8, 9] {
            try gates[index].close()
            left.remove(idOf[index]!)
            try await waitUntil("goroutine \(index) leaves the registry") {
                let listed = Set(GoRuntime.goroutines().map(\.id)).intersection(idOf.values)
                return listed == left
            }
        }
        #expect(left.isEmpty)
    }

    @Test func the_free_list_hands_out_whole_batches_and_keeps_at_most_its_limit() throws {
        let runtime = GoRuntime(processors: 1)
        let list = GoroutineFreeList()
        var local: [Goroutine] = []
        #expect(!list.take(into: &local))
        func fullBatch() -> [Goroutine] {
            (0..<GoroutineFreeList.localLimit).map { _ in
                Goroutine(startedAt: SourceLocation(fileID: #fileID, line: #line), runtime: runtime) {}
            }
        }
        // Given, a batch moves as a whole, and the giver's list is left empty.
        var given = fullBatch()
        let ids = given.map(ObjectIdentifier.init)
        list.give(from: &given)
        #expect(given.isEmpty)
        #expect(list.take(into: &local))
        #expect(local.map(ObjectIdentifier.init) == ids)
        #expect(!list.take(into: &local))
        // Beyond `globalLimit` records, batches are let go.
        let batchesKept = GoroutineFreeList.globalLimit / GoroutineFreeList.localLimit
        for _ in 0..<(batchesKept + 3) {
            var batch = fullBatch()
            list.give(from: &batch)
            #expect(batch.isEmpty)
        }
        var taken = 0
        while list.take(into: &local) { taken += 1 }
        #expect(taken == batchesKept)
    }

    @Test func a_goroutine_queued_but_not_started_is_listed_as_runnable() async throws {
        // `go` queues the goroutine; it has no task until its processor
        // starts it. Here the only processor is busy with the starter, so
        // the new goroutine waits in the queue while the starter looks.
        let runtime = GoRuntime(processors: 1)
        let seen = Chan<(listed: GoroutineInfo?, ran: Bool)>(capacity: 1)
        go(on: runtime) {
            let ran = Counter()
            let line: UInt = #line + 1
            go(on: runtime) { ran.increment() }
            let queued = GoRuntime.goroutines().first {
                $0.runtime === runtime && $0.createdAt == SourceLocation(fileID: #fileID, line: line)
            }
            try await seen.send((queued, ran.value > 0))
        }
        let result = try #require(try await seen.receive())
        #expect(!result.ran, "the queued goroutine ran while its only processor was busy")
        let queued = try #require(result.listed, "a queued goroutine is missing from the registry")
        #expect(queued.state == .runnable)
        #expect(queued.description.hasPrefix("goroutine \(queued.id) [runnable]:"))
    }

    @Test func a_goroutine_sees_itself_running() async throws {
        let seen = Chan<GoroutineInfo.State?>(capacity: 1)
        go {
            let me = GoRuntime.currentGoroutineID
            try await seen.send(GoRuntime.goroutines().first { $0.id == me }?.state)
        }
        #expect(try await seen.receive()! == .running)
        #expect(GoRuntime.currentGoroutineID == nil, "a plain test task is no goroutine")
    }

    @Test func yield_lets_the_other_goroutines_on_the_processor_run_in_turn() async throws {
        let runtime = SchedulerTests.singleProcessor
        let order = Shared<[String]>([])
        let done = Chan<Void>(capacity: 2)
        let start = Chan<Void>()
        for name in ["A", "B"] {
            go(on: runtime) {
                _ = try await start.receive()
                for step in 0..<3 {
                    order.append("\(name)\(step)")
                    await GoRuntime.yield()
                }
                try await done.send(())
            }
        }
        // Release both from one goroutine of that processor, so they are
        // queued there one behind the other.
        go(on: runtime) { try start.close() }
        _ = try await done.receive()
        _ = try await done.receive()
        let steps = order.withLock { $0 }
        #expect(steps.count == 6)
        // Each yield lets the other one run: the two alternate.
        for (earlier, later) in zip(steps, steps.dropFirst()) {
            #expect(earlier.first != later.first, "\(steps)")
        }
    }

    // MARK: Blocking calls and the thread limit

    @Test func a_blocking_call_does_not_stall_the_goroutines_of_its_processor() async throws {
        // One processor: without the hand-off, the goroutine that would
        // release the blocked one could never run.
        let runtime = SchedulerTests.singleProcessor
        let handOff = Chan<Int>(capacity: 1)
        let result = Chan<Int>(capacity: 1)
        go(on: runtime) {
            let value = try blocking { handOff.blockingReceive() }
            try await result.send(value! * 10)
        }
        go(on: runtime) {
            // Runs while the first goroutine's thread is blocked.
            try await handOff.send(4)
        }
        #expect(try await result.receive() == 40)
    }

    @Test func many_blocking_calls_at_once_each_get_a_thread_and_the_threads_are_reused() async throws {
        let runtime = GoRuntime(processors: 2)
        let calls = 24
        let blocked = Counter()
        let release = Chan<Void>()
        let done = Chan<Void>(capacity: calls)
        for _ in 0..<calls {
            go(on: runtime) {
                _ = try blocking { () -> Void? in
                    _ = blocked.increment()
                    return release.blockingReceive()
                }
                try await done.send(())
            }
        }
        try await waitUntil("every call is blocked") { blocked.value == calls }
        #expect(runtime.threadCount.load(ordering: .relaxed) >= calls)
        try release.close()
        for _ in 0..<calls { _ = try await done.receive() }
        let threads = runtime.threadCount.load(ordering: .relaxed)
        // A second round reuses the idle threads instead of starting new ones.
        let again = Chan<Void>(capacity: 4)
        for _ in 0..<4 {
            go(on: runtime) {
                try blocking { usleep(1000) }
                try await again.send(())
            }
        }
        for _ in 0..<4 { _ = try await again.receive() }
        #expect(runtime.threadCount.load(ordering: .relaxed) == threads)
    }

    @Test func exceeding_the_thread_limit_throws_a_clear_error() async throws {
        let runtime = GoRuntime(processors: 1)
        runtime.maxThreads = 1  // its one processor's thread: no spare for a blocking call
        let outcome = Chan<String>(capacity: 1)
        go(on: runtime) {
            do {
                try blocking { Issue.record("the call ran beyond the limit") }
                try await outcome.send("ran")
            } catch let error as ThreadLimitExceeded {
                try await outcome.send(error.description)
            }
        }
        let message = try await outcome.receive()!
        #expect(message.contains("exceeds 1-thread limit"))
        #expect(message.contains("maxThreads"))
        // The goroutines of that runtime still run.
        let ok = Chan<Int>(capacity: 1)
        go(on: runtime) { try await ok.send(1) }
        #expect(try await ok.receive() == 1)
    }

    // MARK: GOMAXPROCS at run time

    /// How many of `count` goroutines that spin (never park) on `runtime` run
    /// at the same time, when `expected` is the right answer: each spins
    /// until `expected` have run at once, and for at least 50 ms, so that a
    /// processor too many would show (a bound in time, not in yields: next
    /// to busy threads one yield can cost a whole time slice). Reaching
    /// `expected` is waited for as an event, however loaded the machine; a
    /// minute is only the hang guard.
    private func peakParallelism(on runtime: GoRuntime, goroutines count: Int, expected: Int) async throws -> Int {
        let running = Counter()
        let peak = Shared<Int>(0)
        let done = Chan<Void>(capacity: count)
        for _ in 0..<count {
            go(on: runtime) {
                let now = running.increment()
                peak.withLock { $0 = max($0, now) }
                let start = ContinuousClock.now
                while peak.value < expected || ContinuousClock.now < start + .milliseconds(50) {
                    if ContinuousClock.now > start + .seconds(60) { break }
                    sched_yield()
                }
                running.increment(by: -1)
                try await done.send(())
            }
        }
        for _ in 0..<count { _ = try await done.receive() }
        return peak.value
    }

    @Test func gomaxprocs_can_change_at_run_time() async throws {
        let runtime = GoRuntime(processors: 1)
        #expect(runtime.processorCount == 1)
        #expect(try await peakParallelism(on: runtime, goroutines: 3, expected: 1) == 1)

        runtime.processorCount = 3
        #expect(runtime.processorCount == 3)
        #expect(try await peakParallelism(on: runtime, goroutines: 3, expected: 3) == 3)

        runtime.processorCount = 1
        #expect(try await peakParallelism(on: runtime, goroutines: 3, expected: 1) == 1)

        runtime.processorCount = 2
        #expect(try await peakParallelism(on: runtime, goroutines: 3, expected: 2) == 2)
        // Work queued on a processor when it retires is not lost.
        runtime.processorCount = 1
        let values = Chan<Int>(capacity: 100)
        go(on: runtime) {
            for index in 0..<100 {
                go(on: runtime) { try await values.send(index) }
            }
        }
        var sum = 0
        for _ in 0..<100 { sum += try await values.receive()! }
        #expect(sum == 4950)
    }

    // MARK: Scale

    @Test func many_goroutines_are_started_and_all_finish() async throws {
        // 1,000,000 at GOCONCURRENCY_STRESS=full.
        let count = Stress.size(20_000)
        let finished = Counter()
        let allDone = Chan<Void>()
        for _ in 0..<count {
            go {
                if finished.increment() == count { try allDone.close() }
            }
        }
        _ = try await allDone.receive()
        #expect(finished.value == count)
    }

    @Test func many_goroutines_park_at_once_and_are_all_released() async throws {
        // 100,000 at GOCONCURRENCY_STRESS=full.
        let count = Stress.size(2_000)
        let gate = Chan<Void>()
        let parked = Counter(), released = Counter()
        let allReleased = Chan<Void>()
        for _ in 0..<count {
            go {
                parked.increment()
                _ = try await gate.receive()
                if released.increment() == count { try allReleased.close() }
            }
        }
        try await waitUntil("all \(count) are parked") {
            parked.value == count && gate.parkedReceivers == count
        }
        #expect(released.value == 0)
        try gate.close()
        _ = try await allReleased.receive()
        #expect(released.value == count)
    }

    @Test func a_value_passes_down_a_chain_of_ten_thousand_goroutines() async throws {
        // Go's daisy chain: each goroutine does left <- 1 + <-right.
        let length = 10_000
        let leftmost = Chan<Int>()
        var left = leftmost
        for _ in 0..<length {
            let right = Chan<Int>()
            let (l, r) = (left, right)
            go { try await l.send(1 + (try await r.receive() ?? 0)) }
            left = right
        }
        let rightmost = left
        go { try await rightmost.send(1) }
        #expect(try await leftmost.receive() == length + 1)
    }

    @Test func after_setProcessorCount_one_only_the_first_processor_runs_jobs() async throws {
        // Go's GOMAXPROCS(1) stops the world: once it returns, one P runs.
        // Here a processor that retires may be stealing at that moment; what
        // it took must go back, not run.
        let runtime = GoRuntime(processors: 2)
        let seen = Shared<Set<Int>>([])
        let done = Chan<Void>(capacity: 200)
        go(on: runtime) {
            await runtime.setProcessorCount(1)  // the caller, too, is on an active processor now
            for _ in 0..<200 {
                go(on: runtime) {
                    _ = seen.withLock { $0.insert(Processor.current?.id ?? -1) }
                    try await done.send(())
                }
            }
            _ = seen.withLock { $0.insert(Processor.current?.id ?? -1) }
        }
        for _ in 0..<200 { _ = try await done.receive() }
        #expect(seen.value == [0])
    }

    enum Context {
        @TaskLocal static var requestID: Int?
    }

    @Test func a_goroutine_inherits_no_task_local_values_from_its_starter() async throws {
        // As a Go goroutine inherits nothing: what it needs is passed to it.
        let seen = Chan<Int?>(capacity: 2)
        try await Context.$requestID.withValue(7) {
            go { try await seen.send(Context.requestID) }
            Task { try await seen.send(Context.requestID) }  // a plain task does inherit
            var values = [try await seen.receive()!, try await seen.receive()!]
            values.sort { ($0 ?? 0) < ($1 ?? 0) }
            #expect(values == [nil, 7])
        }
    }

    @Test func a_burst_of_goroutines_runs_on_reused_tasks_each_goroutine_seeing_only_itself() async throws {
        // `go` queues a goroutine with no task; the task whose goroutine just
        // ended runs the next queued one (Go reuses a dead goroutine's memory).
        // Reused, a task must still give each goroutine its own identity and
        // none of the previous one's task-local values. A runtime of its own:
        // the burst would fill the shared one's queue under the other tests.
        let runtime = GoRuntime(processors: 1)
        let count = 1_000
        let seen = Chan<(id: Int, leaked: Int?)>(capacity: count)
        let tasksBefore = runtime.goroutineTasksMade
        go(on: runtime) {
            for _ in 0..<count {
                go(on: runtime) {
                    let leaked = Context.requestID
                    let id = GoRuntime.currentGoroutineID ?? -1
                    // Bound until the body ends, which the next goroutine on
                    // this task must not see.
                    try await Context.$requestID.withValue(id) {
                        try await seen.send((id, leaked))  // buffered: never waits
                    }
                }
            }
        }
        var ids = Set<Int>()
        for _ in 0..<count {
            let record = try #require(try await seen.receive())
            #expect(record.leaked == nil)
            ids.insert(record.id)
        }
        #expect(!ids.contains(-1))
        #expect(ids.count == count)
        // On one processor each goroutine ends before the next starts: a
        // handful of tasks ran them all (one, unless something else was
        // scheduled between two of them).
        #expect(runtime.goroutineTasksMade - tasksBefore < count / 10)
    }

    @Test func a_reused_task_counts_each_goroutines_own_plain_tasks_and_those_that_outlive_it_keep_seeing_it() async throws {
        // One task runs a burst of goroutines one after another, with one
        // task-local binding and handle for all of them, except after a
        // goroutine whose plain tasks outlive it: those keep its handle, and
        // the next goroutine gets a new one. A runtime of its own, with one
        // processor, so that one task runs the burst.
        let runtime = GoRuntime(processors: 1)
        let count = 64
        let gate = Chan<Int>()
        let counted = Chan<(id: Int, plainTasks: Int)>(capacity: count)
        let fromPlain = Chan<(startedBy: Int, sees: Int)>(capacity: count)
        // Given every fourth goroutine starting two plain tasks that wait for
        // the gate (on Swift's global executor, so that this processor runs
        // the next goroutine at once, on the same task)
        go(on: runtime) {
            for index in 0..<count {
                go(on: runtime) {
                    let id = GoRuntime.currentGoroutineID ?? -1
                    if index % 4 == 0 {
                        for _ in 0..<2 {
                            Task(executorPreference: globalConcurrentExecutor) {
                                _ = try await gate.receive()
                                try await fromPlain.send((id, GoRuntime.currentGoroutineID ?? -1))
                            }
                        }
                    }
                    try await counted.send((id, Goroutine.current?.plainTasksAlive ?? -1))
                }
            }
        }
        // Then each goroutine counts only the plain tasks it started, though
        // those of earlier goroutines on the same task are still alive
        var ids = Set<Int>()
        var withTasks = 0
        for _ in 0..<count {
            let record = try #require(try await counted.receive())
            #expect(record.plainTasks == 0 || record.plainTasks == 2)
            if record.plainTasks == 2 { withTasks += 1 }
            ids.insert(record.id)
        }
        #expect(!ids.contains(-1) && ids.count == count)
        #expect(withTasks == count / 4)
        // When a second burst then starts on the same processor, reusing the
        // records the first burst's goroutines left
        let secondDone = Chan<Int>(capacity: count)
        go(on: runtime) {
            for _ in 0..<count {
                go(on: runtime) { try await secondDone.send(GoRuntime.currentGoroutineID ?? -1) }
            }
        }
        for _ in 0..<count { _ = try await secondDone.receive() }
        // Then, when the gate opens, long after their goroutines ended and
        // others ran on the same task (and in the same processor's reused
        // records), each plain task still sees the goroutine that started it
        try gate.close()
        for _ in 0..<(count / 4 * 2) {
            let record = try #require(try await fromPlain.receive())
            #expect(record.sees == record.startedBy)
            #expect(ids.contains(record.startedBy))
        }
    }

    @Test func a_goroutine_is_found_by_its_bindings_published_key_as_through_the_task_local_itself() async throws {
        // Given goroutines, each asking which goroutine it is the raw way
        // (the published key, the binding's first word) and through
        // `TaskLocal.get()`, in its own task and in a child task
        let answers = Chan<(raw: UInt, viaGet: UInt, child: UInt, keyMatches: Bool)>(capacity: 8)
        for _ in 0..<8 {
            go {
                let raw = UInt(bitPattern: Goroutine.currentUnretained?.toOpaque())
                async let child = UInt(bitPattern: Goroutine.currentUnretained?.toOpaque())
                let key = UnsafeRawPointer(Unmanaged.passUnretained(Goroutine.$binding).toOpaque())
                try await answers.send((raw, Goroutine.binding?.recordAddress ?? 0, await child, goconcurrency_goroutine_key() == key))
            }
        }
        // Then every way gives the goroutine's own record
        for _ in 0..<8 {
            let answer = try #require(try await answers.receive())
            #expect(answer.raw != 0 && answer.raw == answer.viaGet && answer.child == answer.raw)
            // (the key is published for the raw read, only where verified)
            #expect(answer.keyMatches == SwiftRuntimeABI.verified)
        }
    }

    @Test func idle_processors_steal_work_from_a_busy_one() async throws {
        let runtime = GoRuntime(processors: 2)
        let before = runtime.stolenJobs
        // One goroutine readies many others on its own processor (its local
        // queue) and keeps that processor busy; the other processor can only
        // get them by stealing.
        let count = 64
        let ran = Counter()
        let done = Chan<Void>()
        go(on: runtime) {
            for _ in 0..<count {
                go(on: runtime) {
                    if ran.increment() == count { try done.close() }
                }
            }
            // Busy, never parking, until the others have all run (bounded,
            // so that a job stranded on this processor fails the test
            // instead of hanging it).
            let allRan = spinUntil { ran.value == count }
            if !allRan { try done.close() }
        }
        _ = try await done.receive()
        #expect(ran.value == count, "\(count - ran.value) goroutines waited for the busy processor")
        #expect(runtime.stolenJobs > before, "the idle processor stole nothing")
    }

    // MARK: Liveness: a ready goroutine does not wait for a busy processor

    @Test func a_goroutine_started_by_a_busy_one_runs_on_the_idle_processor() async throws {
        // Given two processors (a runtime of its own), one parked and the
        // other running a goroutine that never suspends,
        let runtime = GoRuntime(processors: 2)
        let ran = Flag()
        let outcome = Chan<(otherParked: Bool, ran: Bool)>(capacity: 1)
        go(on: runtime) {
            let otherParked = spinUntil { runtime.idleCount.load(ordering: .relaxed) == 1 }
            // When it starts a goroutine and waits for it without suspending,
            go(on: runtime) { ran.set() }
            // Then the new goroutine runs on the idle processor meanwhile
            // (not when the busy one is done, which here would be never).
            try await outcome.send((otherParked, spinUntil { ran.isSet }))
        }
        let result = try #require(try await outcome.receive())
        #expect(result.otherParked)
        #expect(result.ran, "the new goroutine waited while a processor slept")
    }

    @Test func a_goroutine_readied_by_a_busy_one_runs_on_the_idle_processor() async throws {
        // Given two processors (a runtime of its own), a goroutine parked
        // receiving from a buffered channel, one processor parked and the
        // other running a goroutine that never suspends,
        let runtime = GoRuntime(processors: 2)
        let wake = Chan<Void>(capacity: 1)
        let ran = Flag()
        go(on: runtime) {
            _ = try await wake.receive()
            ran.set()
        }
        try await waitUntil("the receiver parks") { wake.parkedReceivers == 1 }
        let outcome = Chan<(otherParked: Bool, sent: Bool, ran: Bool)>(capacity: 1)
        go(on: runtime) {
            let otherParked = spinUntil { runtime.idleCount.load(ordering: .relaxed) == 1 }
            // When it readies the receiver (a send that does not suspend) and
            // waits for it without suspending,
            let sent = wake.trySend(()) == .sent
            // Then the receiver runs on the idle processor meanwhile.
            try await outcome.send((otherParked, sent, spinUntil { ran.isSet }))
        }
        let result = try #require(try await outcome.receive())
        #expect(result.otherParked)
        #expect(result.sent)
        #expect(result.ran, "the readied goroutine waited while a processor slept")
    }

    @Test(arguments: [2, 4])
    func goroutines_started_by_busy_ones_run_whatever_the_idle_processors_are_doing(processors: Int) async throws {
        // The same, many times, without waiting for the other processors to
        // park first: the new goroutine may be queued while they are waking,
        // looking, napping or parking, and must run in every case.
        let runtime = GoRuntime(processors: processors)
        let rounds = Stress.size(50)
        let outcome = Chan<Int>(capacity: 1)
        go(on: runtime) {
            var completed = 0
            for _ in 0..<rounds {
                let ran = Flag()
                go(on: runtime) { ran.set() }
                guard spinUntil({ ran.isSet }) else { break }
                completed += 1
                // Suspend, so that this goroutine may move and the other
                // processor's state varies from round to round.
                await GoRuntime.yield()
            }
            try await outcome.send(completed)
        }
        let completed = try #require(try await outcome.receive())
        #expect(completed == rounds, "round \(completed + 1): the new goroutine waited while a processor slept")
    }
}

/// Spins on the calling thread, never suspending (a CPU-bound goroutine),
/// until `condition` holds; false if it still does not after a generous bound
/// (a hang guard: the caller then reports a failure instead of spinning for
/// ever).
private func spinUntil(_ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let end = clock.now.advanced(by: .seconds(20))
    while !condition() {
        if clock.now >= end { return false }
    }
    return true
}
