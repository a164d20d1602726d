// x/sync's errgroup limit on `Sync.ErrorGroup`: `setLimit`, `tryGo`, `go`
// at the limit (the member starts, its body waits for a slot, in the order of
// the calls), `goWaiting` (Go's blocking `g.Go`), and what is stuck for ever
// at a limit of 0 is a deadlock.

import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Sync.ErrorGroup limit", .timeLimit(Stress.timeLimit))
struct ErrorGroupLimitTests {
    @Test func try_go_starts_nothing_at_the_limit() async throws {
        let group = Sync.ErrorGroup()
        group.setLimit(1)
        let gate = Chan<Void>()
        let started = Counter()
        #expect(group.tryGo { started.increment(); _ = try await gate.receive() })
        try await waitUntil("the member runs") { started.value == 1 }
        #expect(!group.tryGo { started.increment() })
        // Once the slot is free, it starts one again
        try await gate.send(())
        try await waitUntil("the slot is free") { group.tryGo { started.increment() } }
        try await group.wait()
        #expect(started.value == 2, "the refused body never ran")
    }

    @Test func go_at_the_limit_starts_the_member_whose_body_waits_for_a_slot_in_call_order() async throws {
        let group = Sync.ErrorGroup()
        group.setLimit(2)
        let gate = Chan<Void>()
        let order = Shared<[Int]>([])
        let inside = Counter(), peak = Shared(0)
        let firstLine = #line + 2
        for index in 0..<5 {
            group.go {
                order.append(index)
                let now = inside.increment()
                peak.withLock { $0 = max($0, now) }
                _ = try await gate.receive()
                inside.increment(by: -1)
            }
        }
        // The three members beyond the limit are goroutines already, each
        // listed as waiting for its slot at the line of its `go`
        try await waitUntil("two run, three wait") { order.value.count == 2 && group.waitingCount == 3 }
        let waiting = GoRuntime.goroutines().filter {
            $0.createdAt.fileID == #fileID && $0.createdAt.line == UInt(firstLine)
                && $0.state == .waiting(.errorGroupLimit, at: SourceLocation(fileID: #fileID, line: UInt(firstLine)))
        }
        #expect(waiting.count == 3)
        // Each freed slot goes to the member that asked first
        for ended in 1...3 {
            try await gate.send(())
            try await waitUntil("member \(ended + 1) starts") { order.value.count == 2 + ended }
        }
        #expect(Array(order.value.dropFirst(2)) == [2, 3, 4])
        try await gate.send(())
        try await gate.send(())
        try await group.wait()
        #expect(peak.value == 2)
    }

    @Test func go_waiting_parks_the_caller_until_a_slot_is_free() async throws {
        let group = Sync.ErrorGroup()
        group.setLimit(1)
        let gate = Chan<Void>()
        group.go { _ = try await gate.receive() }
        let started = Flag()
        let caller = Task {
            try await group.goWaiting { started.set() }
        }
        try await waitUntil("the caller waits") { group.waitingCount == 1 }
        #expect(!started.isSet)
        try await gate.send(())
        try await caller.value
        try await group.wait()
        #expect(started.isSet)
    }

    @Test func a_cancelled_go_waiting_starts_nothing_and_passes_its_turn_on() async throws {
        let group = Sync.ErrorGroup()
        group.setLimit(1)
        let gate = Chan<Void>()
        group.go { _ = try await gate.receive() }
        let cancelledBody = Flag()
        let caller = Task {
            try await group.goWaiting { cancelledBody.set() }
        }
        try await waitUntil("the caller waits") { group.waitingCount == 1 }
        // A member asks after it
        let later = Flag()
        group.go { later.set() }
        try await waitUntil("the member waits behind it") { group.waitingCount == 2 }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        // The freed slot goes to the member, not to the cancelled caller
        try await gate.send(())
        try await group.wait()
        #expect(later.isSet)
        #expect(!cancelledBody.isSet)
        #expect(group.tryGo {}, "no slot was lost")
        try await group.wait()
    }

    @Test func raising_the_limit_lets_waiting_members_run_and_a_negative_limit_removes_it() async throws {
        let group = Sync.ErrorGroup()
        group.setLimit(0)
        let ran = Counter()
        for _ in 0..<3 { group.go { ran.increment() } }
        try await waitUntil("the three wait") { group.waitingCount == 3 }
        #expect(ran.value == 0)
        group.setLimit(2)
        try await group.wait()
        #expect(ran.value == 3)
        group.setLimit(-1)
        let gate = Chan<Void>()
        for _ in 0..<5 { #expect(group.tryGo { _ = try await gate.receive() }) }
        for _ in 0..<5 { try await gate.send(()) }
        try await group.wait()
    }

    @Test func a_member_waiting_for_its_slot_when_the_group_fails_still_runs_its_body_cancelled() async throws {
        struct Failure: Error {}
        let group = Sync.ErrorGroup()
        group.setLimit(1)
        let gate = Chan<Void>()
        group.go {
            _ = try await gate.receive()
            throw Failure()
        }
        let sawCancellation = Flag()
        group.go {
            if Task.isCancelled { sawCancellation.set() }
        }
        try await waitUntil("the second waits") { group.waitingCount == 1 }
        try await gate.send(())
        await #expect(throws: Failure.self) { try await group.wait() }
        #expect(sawCancellation.isSet)
    }

    @Test func a_member_waiting_at_a_limit_of_zero_is_a_deadlock() async throws {
        let reasons = Shared<[[WaitReason]]>([])
        for usesGoWaiting in [false, true] {
            do {
                try await GoRuntime.run {
                    let group = Sync.ErrorGroup()
                    group.setLimit(0)
                    if usesGoWaiting {
                        try await group.goWaiting {}
                    } else {
                        group.go {}
                        try await group.wait()
                    }
                }
                Issue.record("the program returned instead of deadlocking")
            } catch let deadlock as Deadlock {
                reasons.append(deadlock.dump.goroutines.compactMap {
                    if case .waiting(let reason, _) = $0.state { reason } else { nil }
                }.sorted { $0.code < $1.code })
            }
        }
        #expect(reasons.value == [[.semacquire, .errorGroupLimit], [.errorGroupLimit]])
    }
}
