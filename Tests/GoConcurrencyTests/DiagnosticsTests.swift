// A stuck program explains itself: goroutine dumps, panics (Guarantees, rule 37), SIGQUIT,
// leak checks, mutex cycles and the long-wait hook.

import Foundation
import Testing
@_spi(Testing) @testable import GoConcurrency

#if canImport(Glibc)
import Glibc
#endif

@Suite("Diagnostics", .timeLimit(Stress.timeLimit))
struct DiagnosticsTests {
    // MARK: Dump

    @Test("The dump lists each goroutine with its wait reason, where it waits, where it was started, and for how long")
    func dumpEntries() async throws {
        let never = Chan<Int>(), full = Chan<Int>(), gate = Sync.WaitGroup()
        gate.add(1)
        let receiveLine = #line; go { _ = try await never.receive() }
        let sendLine = #line; go { try await full.send(1) }
        let waitLine = #line; go { try await gate.wait() }
        func entry(startedAt line: Int) -> GoroutineInfo? {
            GoRuntime.dump().goroutines.first { $0.createdAt == SourceLocation(fileID: #fileID, line: UInt(line)) }
        }
        try await waitUntil("all three park") {
            [receiveLine, sendLine, waitLine].allSatisfy { line in
                if case .waiting = entry(startedAt: line)?.state { true } else { false }
            }
        }
        let expected: [(Int, WaitReason)] = [(receiveLine, .channelReceive), (sendLine, .channelSend), (waitLine, .semacquire)]
        for (line, reason) in expected {
            let info = try #require(entry(startedAt: line))
            #expect(info.state == .waiting(reason, at: SourceLocation(fileID: #fileID, line: UInt(line))))
            #expect(info.waitDuration != nil)
            #expect(withoutWaitLength(info.description).hasPrefix("goroutine \(info.id) [\(reason)]:\n\twaiting at GoConcurrencyTests/DiagnosticsTests.swift:\(line)\ncreated at GoConcurrencyTests/DiagnosticsTests.swift:\(line)"))
        }
        #expect(withoutWaitLength("\(GoRuntime.dump())").contains("goroutine \(try #require(entry(startedAt: sendLine)).id) [chan send]:"))
        try never.close()
        _ = try await full.receive()
        gate.done()
    }

    @Test("A goroutine in a blocking call shows as Go's [syscall], where it made the call")
    func blockingCallInDump() async throws {
        let release = Flag()
        let id = Shared<Int?>(nil)
        let callLine = #line + 3
        go {
            id.set(GoRuntime.currentGoroutineID)
            try blocking { while !release.isSet { usleep(1_000) } }
        }
        try await waitUntil("the goroutine is in its blocking call") {
            GoRuntime.goroutines().first { $0.id == id.value }?.state == .waiting(.blockingCall, at: SourceLocation(fileID: #fileID, line: UInt(callLine)))
        }
        #expect(withoutWaitLength(GoRuntime.goroutines().first { $0.id == id.value }!.description).hasPrefix("goroutine \(id.value!) [syscall]:"))
        release.set()
    }

    @Test("A wait of a minute or more shows its length, as Go's dump does")
    func waitLength() {
        let info = GoroutineInfo(id: 7, createdAt: SourceLocation(fileID: #fileID, line: 1),
                                 state: .waiting(.channelReceive, at: SourceLocation(fileID: #fileID, line: 2)),
                                 waitDuration: .seconds(150), mayBeWokenFromOutside: false, runtime: .shared, waitSince: 1)
        #expect(info.description.hasPrefix("goroutine 7 [chan receive, 2 minutes]:"))
        // What the other tests match: the reason, whatever the length.
        #expect(withoutWaitLength(info.description).hasPrefix("goroutine 7 [chan receive]:"))
        let short = GoroutineInfo(id: 8, createdAt: info.createdAt, state: info.state, waitDuration: .seconds(59),
                                  mayBeWokenFromOutside: false, runtime: .shared, waitSince: 1)
        #expect(short.description.hasPrefix("goroutine 8 [chan receive]:"))
    }

    @Test func an_error_group_member_is_listed_like_a_goroutine_with_its_wait() async throws {
        let group = Sync.ErrorGroup()
        let never = Chan<Int>()
        let memberID = Shared<Int?>(nil)
        let receiveLine = Shared<Int>(0)
        let startLine = #line; group.go {
            memberID.set(GoRuntime.currentGoroutineID)
            receiveLine.set(#line); _ = try await never.receive()
        }
        try await waitUntil("the member parks") { never.parkedReceivers == 1 }
        let id = try #require(memberID.value, "the member is a goroutine")
        let info = try #require(GoRuntime.goroutines().first { $0.id == id }, "the member is listed")
        #expect(info.createdAt == SourceLocation(fileID: #fileID, line: UInt(startLine)))
        #expect(info.state == .waiting(.channelReceive, at: SourceLocation(fileID: #fileID, line: UInt(receiveLine.value))))
        #expect(withoutWaitLength("\(GoRuntime.dump())").contains("goroutine \(id) [chan receive]:"))
        try never.close()
        try await group.wait()
        try await waitUntil("the member has ended") { !GoRuntime.goroutines().contains { $0.id == id } }
    }

    @Test func a_goroutine_awaiting_something_the_runtime_does_not_manage_is_listed_as_waiting_outside_it() async throws {
        // Given a goroutine in Swift's own Task.sleep and one awaiting an
        // AsyncStream (neither parks through the runtime)
        let (stream, feed) = AsyncStream<Int>.makeStream()
        let sleeperID = Shared<Int?>(nil), readerID = Shared<Int?>(nil)
        go {
            sleeperID.set(GoRuntime.currentGoroutineID)
            // An hour, not a minute: under the thread sanitizer with every
            // suite at once, a minute once passed before the test looked,
            // and the sleeper had ended. (It sleeps on, harmless, after the
            // test: a goroutine cannot be cancelled.)
            try await Task.sleep(for: .seconds(3600))
        }
        go {
            readerID.set(GoRuntime.currentGoroutineID)
            for await _ in stream {}
        }
        try await waitUntil("both have started") { sleeperID.value != nil && readerID.value != nil }
        let ids = [sleeperID.value!, readerID.value!]
        func outside(_ id: Int) -> Bool {
            GoRuntime.goroutines().first { $0.id == id }?.stateText == "waiting outside the runtime"
        }
        // Then each is listed as waiting outside the runtime, not runnable
        try await waitUntil("both are suspended") { ids.allSatisfy(outside) }
        for id in ids {
            let info = try #require(GoRuntime.goroutines().first { $0.id == id })
            #expect(info.state == .waitingOutside)
            #expect(info.description.hasPrefix("goroutine \(id) [waiting outside the runtime]:\ncreated at GoConcurrencyTests/DiagnosticsTests.swift:"))
        }
        feed.finish()
        try await waitUntil("the reader has ended") { !GoRuntime.goroutines().contains { $0.id == readerID.value } }
    }

    @Test func goroutines_queued_behind_a_running_one_are_runnable() async throws {
        // Given a runtime with one processor, where R waits on a channel,
        // then Y starts S (into runnext) and yields (to the local queue's
        // tail), and S readies R (into runnext) and spins
        let runtime = GoRuntime(processors: 1)
        let gate = Chan<Int>()
        let release = Flag(), sent = Flag()
        let readiedID = Shared<Int?>(nil), yielderID = Shared<Int?>(nil), spinnerID = Shared<Int?>(nil)
        go(on: runtime) {
            readiedID.set(GoRuntime.currentGoroutineID)
            _ = try await gate.receive()
        }
        try await waitUntil("R waits") { gate.parkedReceivers == 1 }
        go(on: runtime) {
            yielderID.set(GoRuntime.currentGoroutineID)
            go {
                spinnerID.set(GoRuntime.currentGoroutineID)
                try await gate.send(1)
                sent.set()
                while !release.isSet { usleep(100) }
            }
            await GoRuntime.yield()
        }
        try await waitUntil("S has readied R and spins") { sent.isSet }
        // Then the dump says S runs, and R and Y are runnable
        let states = Dictionary(uniqueKeysWithValues: runtime.dump().goroutines.map { ($0.id, $0.stateText) })
        #expect(states[spinnerID.value!] == "running")
        #expect(states[readiedID.value!] == "runnable")
        #expect(states[yielderID.value!] == "runnable")
        release.set()
        try await waitUntil("all have ended") { runtime.dump().goroutines.isEmpty }
    }

    // MARK: Panics (Guarantees, rule 37)

    @Test("Rule 37: an error escaping a goroutine prints panic, the goroutine and where it started, and exits 2")
    func unrecoveredPanic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .exitCode(2), observing: [\.standardErrorContent]) {
            struct Boom: Error, CustomStringConvertible { var description: String { "boom" } }
            go { throw Boom() }
            while true { usleep(100_000) }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.hasPrefix("panic: boom\n\ngoroutine "))
        #expect(text.contains("[running]:\ncreated at GoConcurrencyTests/DiagnosticsTests.swift:"))
    }

    @Test("A panic handler takes the panic instead: the program goes on, and may restart the worker")
    func panicHandler() async throws {
        struct Failure: Error {}
        let panics = Chan<GoroutinePanic>(capacity: 2)
        let restarted = Chan<Int>()
        let value = try await GoRuntime.run { () async throws -> Int in
            let runtime = try #require(Goroutine.current?.runtime)
            runtime.panicHandler = { panic in
                _ = panics.trySend(panic)
                go { try await restarted.send(42) }  // restart the worker
            }
            go { throw Failure() }
            return try await restarted.receive()!
        }
        #expect(value == 42)
        let panic = try #require(panics.tryReceive().value)
        #expect(panic.error is Failure)
        #expect(panic.createdAt.fileID == "GoConcurrencyTests/DiagnosticsTests.swift")
    }

    @Test("A checked run hands a goroutine's panic back as an error")
    func checkedRunPanic() async throws {
        struct Failure: Error {}
        await #expect(throws: GoroutinePanic.self) {
            try await GoRuntime.run {
                go { throw Failure() }
                _ = try await Chan<Int>().receive()  // waits; the panic ends the run
            }
        }
    }

    // MARK: SIGQUIT

    @Test("SIGQUIT dumps every goroutine and exits with status 2, as in Go")
    func quitSignal() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .exitCode(2), observing: [\.standardErrorContent]) {
            GoRuntime.dumpGoroutinesOnQuitSignal()
            let never = Chan<Int>()
            go { _ = try await never.receive() }
            // Until it has parked: before, the dump would list it runnable.
            while !GoRuntime.shared.dump().goroutines.contains(where: {
                if case .waiting(.channelReceive, _) = $0.state { true } else { false }
            }) { usleep(1_000) }
            raise(SIGQUIT)  // the test runner's child starts with it blocked: installing unblocks it
            while true { usleep(100_000) }
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.hasPrefix("SIGQUIT: quit\n\ngoroutine "))
        #expect(withoutWaitLength(text).contains("[chan receive]:\n\twaiting at GoConcurrencyTests/DiagnosticsTests.swift:"))
    }

    // MARK: Leak check

    @Test("A goroutine left behind in a scope is reported with its wait reason and start; a clean scope passes")
    func leakCheck() async throws {
        let forgotten = Chan<Int>()
        // The scope's body waits until the outer goroutine has ended and the
        // inner one parked, so the report does not depend on how fast the
        // machine is (the inner one never ends: the whole grace is waited).
        let outer = Shared<Int?>(nil)
        let leakLine = #line + 3
        try await expectOneLeakedReceive(at: SourceLocation(fileID: #fileID, line: UInt(leakLine))) {
            try await GoRuntime.checkingLeaks(grace: .milliseconds(100)) {
                go { outer.set(GoRuntime.currentGoroutineID); go { _ = try await forgotten.receive() } }   // started by a goroutine of the scope
                try await waitUntil("the inner goroutine parks and the outer one ends") {
                    let all = GoRuntime.goroutines()
                    return outer.value.map { id in !all.contains { $0.id == id } } == true
                        && all.contains { $0.state == .waiting(.channelReceive, at: SourceLocation(fileID: #fileID, line: UInt(leakLine))) }
                }
            }
        }
        try forgotten.close()
        let answer = try await GoRuntime.checkingLeaks {
            let result = Chan<Int>()
            go { try await result.send(6 * 7) }
            return try await result.receive()!
        }
        #expect(answer == 42)
    }

    @Test func a_leak_check_follows_goroutines_started_from_a_goroutines_plain_task() async throws {
        // Goroutines inherit no task-local values, so the scope travels in
        // the starter's record: through a goroutine, then a plain Task it made.
        let forgotten = Chan<Int>()
        let started = Chan<Void>(capacity: 1)
        await #expect(throws: GoroutineLeak.self) {
            try await GoRuntime.checkingLeaks(grace: .milliseconds(50)) {
                go {
                    Task {
                        go { _ = try await forgotten.receive() }
                        try await started.send(())
                    }
                }
                _ = try await started.receive()
            }
        }
        try forgotten.close()
    }

    // MARK: Partial deadlocks

    /// Starts `count` goroutines in a ring, each holding mutex i and then
    /// waiting for mutex i+1, while the rest of the program runs; returns
    /// their ids once all are queued (a mutex is listed for the cycle check
    /// just after its first waiter queues: callers poll for the cycle).
    func mutexRing(_ count: Int) async throws -> Set<Int> {
        let mutexes = (0..<count).map { _ in Sync.Mutex() }
        let ids = Shared<Set<Int>>([])
        let holding = Sync.WaitGroup()
        holding.add(count)
        for index in 0..<count {
            go {
                try await mutexes[index].lock()
                ids.withLock { _ = $0.insert(GoRuntime.currentGoroutineID!) }
                holding.done()
                try await holding.wait()
                try await mutexes[(index + 1) % count].lock()  // never
            }
        }
        try await waitUntil("the ring forms") {
            ids.value.count == count && mutexes.allSatisfy { $0.waitingCount == 1 }
        }
        return ids.value
    }

    @Test("Mutex cycles of length 2 and 3 are found while the rest of the program runs", arguments: [2, 3])
    func mutexCycles(length: Int) async throws {
        let busy = Chan<Int>()
        go {   // the rest of the program, running meanwhile
            while busy.trySend(0) != .closed { await GoRuntime.yield() }
        }
        let ring = try await mutexRing(length)
        try await waitUntil("the ring is found") {
            GoRuntime.mutexCycles().contains { Set($0.goroutines.map(\.id)) == ring }
        }
        let found = GoRuntime.mutexCycles().filter { Set($0.goroutines.map(\.id)) == ring }
        #expect(found.count == 1)
        let cycle = try #require(found.first)
        #expect(cycle.goroutines.count == length)
        #expect(cycle.goroutines.first?.id == ring.min())
        #expect(cycle.goroutines.allSatisfy { if case .waiting(.mutexLock, _) = $0.state { true } else { false } })
        #expect("\(cycle)".hasPrefix("mutex cycle: goroutine \(ring.min()!) → "))
        try busy.close()
    }

    @Test("A mutex held by a goroutine that is not waiting closes no ring")
    func noFalseCycle() async throws {
        let mutex = Sync.Mutex()
        let locked = Chan<Void>()
        let release = Chan<Void>()
        go {
            try await mutex.lock()
            try await locked.send(())
            _ = try await release.receive()
            mutex.unlock()
        }
        // The holder has the mutex before the waiter starts: otherwise the
        // waiter could take it first, finish, and never be seen waiting.
        _ = try await locked.receive()
        let waiter = Shared<Int?>(nil)
        go {
            waiter.set(GoRuntime.currentGoroutineID)
            try await mutex.lock()
            mutex.unlock()
        }
        try await waitUntil("the second goroutine waits") {
            mutex.waitingCount == 1
                && GoRuntime.goroutines().contains { $0.id == waiter.value && { if case .waiting(.mutexLock, _) = $0.state { true } else { false } }($0) }
        }
        #expect(!GoRuntime.mutexCycles().contains { $0.goroutines.contains { $0.id == waiter.value } })
        try await release.send(())
    }

    @Test("The watchdog reports a long wait once per wait, and a mutex ring once")
    func watchdog() async throws {
        let gate = Chan<Int>()
        let waiterID = Shared<Int?>(nil)
        go {
            waiterID.set(GoRuntime.currentGoroutineID)
            _ = try await gate.receive()   // wait 1
            _ = try await gate.receive()   // wait 2
        }
        let longWaits = Shared<[Int]>([])
        let cycles = Shared<[Set<Int>]>([])
        let watchdog = Watchdog(every: .milliseconds(5), longWait: .milliseconds(30),
                                onLongWait: { info in longWaits.append(info.id) },
                                onMutexCycle: { cycle in cycles.append(Set(cycle.goroutines.map(\.id))) })
        defer { watchdog.stop() }
        let id = try #require(try await {
            try await waitUntil("the goroutine starts") { waiterID.value != nil }
            return waiterID.value
        }())
        try await waitUntil("the first long wait is reported") { longWaits.value.contains(id) }
        try await Task.sleep(for: .milliseconds(100))   // many more looks: still once
        #expect(longWaits.value.filter { $0 == id }.count == 1)
        try await gate.send(1)
        try await waitUntil("the second wait is reported too") { longWaits.value.filter { $0 == id }.count == 2 }
        let ring = try await mutexRing(2)
        try await waitUntil("the ring is reported") { cycles.value.contains(ring) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(cycles.value.filter { $0 == ring }.count == 1)
        try gate.close()
    }
}
