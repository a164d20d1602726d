import Testing
@testable import GoConcurrency

@Suite("How a wait ends: Waiter.Outcome")
struct WaiterOutcomeTests {
    @Test func the_outcomes_are_distinct_and_only_a_selected_one_names_a_case() {
        let others: [Waiter.Outcome] = [.waiting, .cancelled, .aborted, .timedOut]
        #expect(Set(others.map(\.rawValue)).count == others.count)
        for outcome in others {
            #expect(outcome.selectedCase == nil)
            #expect(!(0..<8).contains { outcome == .selected($0) })
        }
        for index in 0..<8 {
            #expect(Waiter.Outcome.selected(index).selectedCase == index)
        }
    }

    @Test func a_waiter_is_claimed_once_and_keeps_its_first_outcome() {
        let waiter = Waiter(reason: .select, location: SourceLocation(fileID: #fileID, line: #line))
        #expect(waiter.isWaiting)
        #expect(waiter.outcome == .waiting)
        #expect(waiter.tryClaim(.selected(2)))
        #expect(!waiter.tryClaim(.timedOut))
        #expect(!waiter.tryClaim(.cancelled))
        #expect(!waiter.isWaiting)
        #expect(waiter.outcome == .selected(2))
        #expect(waiter.outcome.selectedCase == 2)
    }

    @Test func a_runtime_thread_drops_its_spare_select_waiter_as_it_leaves() async throws {
        final class Seen: @unchecked Sendable {
            weak var waiter: Waiter?
            var runtime: GoRuntime?
            var heldBySlot = false
        }
        let seen = Seen()
        try await GoRuntime.run {
            seen.runtime = Goroutine.current?.runtime
            func make() -> Waiter {
                let waiter = Waiter(reason: .select, location: SourceLocation(fileID: #fileID, line: #line))
                seen.waiter = waiter
                return waiter
            }
            // Given over with no other reference, it becomes the worker
            // thread's spare: nothing on this new runtime's thread selected
            // before, so it had none. Only the slot holds it then.
            Waiter.recycle(make())
            seen.heldBySlot = seen.waiter != nil
        }
        #expect(seen.heldBySlot)
        let runtime = try #require(seen.runtime)
        try await waitUntil("the run's threads left") { runtime.threadCount.load(ordering: .acquiring) == 0 }
        #expect(seen.waiter == nil)
    }
}
