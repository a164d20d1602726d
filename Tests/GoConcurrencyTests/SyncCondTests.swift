// Go's sync.Cond (`Sync.Cond`) and the notify list under it: a signal wakes
// the longest waiter only, a broadcast every one, a signal with nobody
// waiting is lost, a signal after a wait joined is never lost, a cancelled
// wait relocks before it throws and spends no signal, and a goroutine
// waiting on a Cond nobody signals is a deadlock.

import Synchronization
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Sync.Cond", .timeLimit(Stress.timeLimit))
struct SyncCondTests {
    /// Starts a goroutine that waits on `cond` once and records `index` in
    /// `woken` when it returns (holding the mutex), then unlocks; waits
    /// until it has parked.
    func startWaiter(_ index: Int, on cond: Sync.Cond, woken: Shared<[Int]>) async throws {
        let parkedBefore = cond.waitingCount
        go {
            try await cond.mutex.lock()
            try await cond.wait()
            woken.append(index)
            cond.mutex.unlock()
        }
        try await waitUntil("waiter \(index) parks") { cond.waitingCount == parkedBefore + 1 }
    }

    @Test func signal_wakes_the_longest_waiting_task_and_only_it() async throws {
        let cond = Sync.Cond(Sync.Mutex())
        let woken = Shared<[Int]>([])
        for index in 0..<3 {
            try await startWaiter(index, on: cond, woken: woken)
        }
        cond.signal()
        // Taken out of the list by the signal itself: one only.
        #expect(cond.waitingCount == 2)
        try await waitUntil("the first waiter returns") { woken.value.count == 1 }
        #expect(woken.value == [0])
        cond.signal()
        #expect(cond.waitingCount == 1)
        try await waitUntil("the second waiter returns") { woken.value.count == 2 }
        #expect(woken.value == [0, 1])
        cond.signal()
        try await waitUntil("the third waiter returns") { woken.value.count == 3 }
        #expect(woken.value == [0, 1, 2])
    }

    @Test func broadcast_wakes_every_waiting_task() async throws {
        let cond = Sync.Cond(Sync.Mutex())
        let woken = Shared<[Int]>([])
        for index in 0..<5 {
            try await startWaiter(index, on: cond, woken: woken)
        }
        cond.broadcast()
        #expect(cond.waitingCount == 0)
        try await waitUntil("every waiter returns") { woken.value.count == 5 }
        #expect(woken.value.sorted() == [0, 1, 2, 3, 4])
    }

    @Test func a_signal_or_broadcast_with_nobody_waiting_is_lost() async throws {
        let cond = Sync.Cond(Sync.Mutex())
        cond.signal()
        cond.broadcast()
        let woken = Shared<[Int]>([])
        // The waiter parks: neither earlier call was kept for it.
        try await startWaiter(0, on: cond, woken: woken)
        #expect(woken.value.isEmpty)
        cond.signal()
        try await waitUntil("the waiter returns") { woken.value == [0] }
    }

    @Test func a_ticket_notified_before_its_waiter_parks_is_granted_when_it_parks() {
        // Go's notify list, step by step: a wait joins (takes its ticket)
        // before it unlocks the mutex and parks after; a signal in between
        // must reach it.
        var list = NotifyList()
        let first = list.join()
        let second = list.join()
        guard case .joined = list.notifyOne() else {
            Issue.record("the signal did not reach the joined ticket")
            return
        }
        #expect(list.isNotified(first))
        #expect(!list.isNotified(second), "one signal, one ticket")
        #expect(list.notifyOne() != nil, "the second ticket is still live")
        #expect(list.notifyOne() == nil, "nobody left: the signal is lost")
        // A ticket taken after that signal is not reached by it.
        let third = list.join()
        #expect(!list.isNotified(third))
        // An abandoned ticket is skipped: the next signal reaches a live one.
        let fourth = list.join()
        _ = list.abandon(third)
        #expect(list.notifyOne() != nil)
        #expect(list.isNotified(fourth))
        #expect(list.isEmpty)
    }

    @Test func turns_handed_back_and_forth_through_a_cond_lose_no_wake_up() async throws {
        // Two goroutines hand a turn back and forth through one Cond, on two
        // processors, each changing the turn under the mutex and signalling
        // after it unlocks. A lost or misdirected wake-up (a signal spent on
        // a ticket nobody waits on) leaves both waiting for ever: the checked
        // run reports it as a deadlock.
        let rounds = Stress.size(2_000)
        let handed = try await GoRuntime.run(processors: 2) { () async throws -> Int in
            let cond = Sync.Cond(Sync.Mutex())
            let turn = Unsynchronized(0)
            let hands = Unsynchronized(0)
            let group = Sync.WaitGroup()
            for me in 0..<2 {
                group.go {
                    for _ in 0..<rounds {
                        try await cond.mutex.lock()
                        while turn.value != me {
                            try await cond.wait()
                        }
                        turn.value = 1 - me
                        hands.value += 1
                        cond.mutex.unlock()
                        cond.signal()
                    }
                }
            }
            try await group.wait()
            return hands.value
        }
        #expect(handed == 2 * rounds)
    }

    @Test func a_signal_sent_as_soon_as_the_wait_lets_go_of_the_mutex_is_not_lost() async throws {
        // The test's task spins on `tryLock` while a goroutine waits: it takes
        // the mutex the moment the wait lets go of it, sets the condition and
        // signals, racing the waiter's way from its unlock to its park. A
        // wait that unlocked before it joined the list would miss some of
        // those signals and wait for ever.
        let mutex = Sync.Mutex()
        let cond = Sync.Cond(mutex)
        let ready = Unsynchronized(false)
        let holding = Chan<Void>(), done = Chan<Void>()
        for round in 0..<Stress.size(10_000) {
            ready.value = false
            go {
                try await mutex.lock()
                try await holding.send(())
                while !ready.value {
                    try await cond.wait()
                }
                mutex.unlock()
                try await done.send(())
            }
            _ = try await holding.receive()
            while !mutex.tryLock() {}
            ready.value = true
            mutex.unlock()
            cond.signal()
            let woken = try await select {
                done.onReceive { _ in true }
                after(.seconds(30)) { false }
            }
            if !woken {
                Issue.record("round \(round): the signal was lost")
                cond.broadcast()
                return
            }
        }
    }

    @Test func a_cancelled_wait_relocks_even_while_cancelled_then_throws_holding_the_mutex() async throws {
        let mutex = Sync.Mutex()
        let cond = Sync.Cond(mutex)
        let outcome = Shared<String>("")
        let waiter = Task {
            try await mutex.lock()
            do {
                try await cond.wait()
                outcome.set("returned")
            } catch is CancellationError {
                // It holds the mutex: nobody else can take it.
                outcome.set(mutex.tryLock() ? "threw without the mutex" : "threw holding the mutex")
            }
            mutex.unlock()
        }
        try await waitUntil("the task waits on the cond") { cond.waitingCount == 1 }
        // Given the mutex held by the test, the cancelled wait must wait for
        // it (a cancellable relock would throw at once, without it)
        try await mutex.lock()
        waiter.cancel()
        try await waitUntil("the cancelled wait queues for the mutex") { mutex.waitingCount == 1 }
        #expect(cond.waitingCount == 0)
        #expect(outcome.value == "")
        mutex.unlock()
        try await waiter.value
        #expect(outcome.value == "threw holding the mutex")
        #expect(mutex.tryLock(), "it unlocked after the wait threw")
        mutex.unlock()
    }

    @Test func a_cancelled_wait_spends_no_signal_the_next_waiter_gets_it() async throws {
        let cond = Sync.Cond(Sync.Mutex())
        let cancelled = Flag()
        // Given a plain task waiting first, then a goroutine
        let first = Task {
            try await cond.mutex.lock()
            defer { cond.mutex.unlock() }
            do {
                try await cond.wait()
            } catch is CancellationError {
                cancelled.set()
            }
        }
        try await waitUntil("the task waits") { cond.waitingCount == 1 }
        let woken = Shared<[Int]>([])
        try await startWaiter(1, on: cond, woken: woken)
        // When the first is cancelled, and then one signal is sent
        first.cancel()
        try await first.value
        #expect(cancelled.isSet)
        cond.signal()
        // Then the signal reaches the second waiter, not the gone one
        try await waitUntil("the second waiter returns") { woken.value == [1] }
        #expect(cond.waitingCount == 0)
    }

    @Test func a_wait_signalled_before_its_cancellation_returns_normally() async throws {
        let cond = Sync.Cond(Sync.Mutex())
        let outcome = Shared<String>("")
        let waiter = Task {
            try await cond.mutex.lock()
            do {
                try await cond.wait()
                outcome.set("returned")
            } catch {
                outcome.set("threw")
            }
            cond.mutex.unlock()
        }
        try await waitUntil("the task waits") { cond.waitingCount == 1 }
        // The test holds the mutex: the woken wait cannot return before the
        // cancellation comes.
        try await cond.mutex.lock()
        cond.signal()
        waiter.cancel()
        cond.mutex.unlock()
        try await waiter.value
        #expect(outcome.value == "returned", "the signal it got is kept, not lost to a throw")
    }

    @Test func a_goroutine_waiting_on_a_cond_nobody_signals_is_a_deadlock() async throws {
        let line = Shared<UInt>(0)
        do {
            try await GoRuntime.run {
                let cond = Sync.Cond(Sync.Mutex())
                try await cond.mutex.lock()
                line.set(#line + 1)
                try await cond.wait()
            }
            Issue.record("the program returned instead of deadlocking")
        } catch let deadlock as Deadlock {
            let waits = deadlock.dump.goroutines.map(\.state)
            #expect(waits == [.waiting(.condWait, at: SourceLocation(fileID: #fileID, line: line.value))])
            #expect(withoutWaitLength(deadlock.description).contains("[sync.Cond.Wait]"))
        }
    }

    @Test func wait_reason_codes_are_distinct_and_round_trip() {
        let codes = WaitReason.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        for reason in WaitReason.allCases {
            #expect(WaitReason(code: reason.code) == reason)
        }
    }
}
