// Programmer errors end the process with Go's message as the first line of
// standard error, in every build (an optimised `precondition` prints nothing).
// Each case runs in a child process (an exit test) whose standard error is
// read back.

import Foundation
import Testing
@testable import GoConcurrency

/// The first line the child wrote to standard error.
func firstLine(of result: ExitTest.Result?) -> String {
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    return String(text.prefix { $0 != "\n" })
}

@Suite("Programmer errors", .timeLimit(Stress.timeLimit))
struct ProgrammerErrorTests {
    // MARK: Channels

    @Test func a_negative_channel_capacity_is_gos_makechan_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Chan<Int>(capacity: -1)
        }
        #expect(firstLine(of: result) == "panic: makechan: size out of range")
    }

    @Test func a_channel_buffer_larger_than_int_max_bytes_is_gos_makechan_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Chan<Int>(capacity: .max)
        }
        #expect(firstLine(of: result) == "panic: makechan: size out of range")
    }

    @Test func a_channel_buffer_larger_than_the_machines_memory_is_gos_makechan_panic() async {
        // 2^40 values of 32 bytes: 32 TiB, more than any machine this runs on.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Chan<(Int, Int, Int, Int)>(capacity: 1 << 40)
        }
        #expect(firstLine(of: result) == "panic: makechan: size out of range")
    }

    @Test func a_channel_of_empty_values_takes_any_capacity_as_in_go() async throws {
        // Go allocates no buffer for zero-size elements: `make(chan struct{}, math.MaxInt)` works.
        let channel = Chan<Void>(capacity: .max)
        for _ in 0..<3 { try await channel.send(()) }
        #expect(channel.count == 3)
        #expect(channel.capacity == .max)
    }

    @Test func two_defaults_in_one_select_are_gos_compile_error_at_run_time() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = try await select {
                otherwise { 1 }
                otherwise { 2 }
            }
        }
        #expect(firstLine(of: result) == "panic: multiple defaults in select")
    }

    // MARK: Sync

    @Test func rule34_a_negative_waitgroup_counter_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Sync.WaitGroup().done()
        }
        #expect(firstLine(of: result) == "panic: sync: negative WaitGroup counter")
    }

    @Test func an_overflowing_waitgroup_counter_is_a_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let group = Sync.WaitGroup()
            group.add(.max)
            group.add(1)
        }
        #expect(firstLine(of: result) == "panic: sync: WaitGroup counter overflow")
    }

    @Test func rule34_unlock_of_an_unlocked_mutex_is_gos_fatal_error() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Sync.Mutex().unlock()
        }
        #expect(firstLine(of: result) == "fatal error: sync: unlock of unlocked mutex")
    }

    @Test func rule34_unlock_of_an_rwmutex_not_held_for_writing_is_gos_fatal_error() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Sync.RWMutex().unlock()
        }
        #expect(firstLine(of: result) == "fatal error: sync: Unlock of unlocked RWMutex")
    }

    @Test func rule34_read_unlock_of_an_rwmutex_not_held_for_reading_is_gos_fatal_error() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let rw = Sync.RWMutex()
            try await rw.lock()
            rw.readUnlock()
        }
        #expect(firstLine(of: result) == "fatal error: sync: RUnlock of unlocked RWMutex")
    }

    @Test func releasing_more_than_a_semaphore_holds_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let semaphore = Sync.Semaphore(capacity: 2)
            _ = semaphore.tryAcquire(1)
            semaphore.release(2)
        }
        #expect(firstLine(of: result) == "panic: semaphore: released more than held")
    }

    @Test func changing_an_error_groups_limit_while_members_hold_slots_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let group = Sync.ErrorGroup()
            group.setLimit(2)
            let gate = Chan<Void>()
            group.go { _ = try await gate.receive() }
            group.setLimit(3)
        }
        #expect(firstLine(of: result) == "panic: errgroup: modify limit while 1 goroutines in the group are still active")
    }

    // MARK: Time

    @Test func rule32_a_ticker_with_a_zero_period_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ticker(every: .zero)
        }
        #expect(firstLine(of: result) == "panic: non-positive interval for NewTicker")
    }

    @Test func rule32_a_ticker_with_a_negative_period_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Ticker(every: .seconds(-1))
        }
        #expect(firstLine(of: result) == "panic: non-positive interval for NewTicker")
    }

    @Test func rule32_resetting_a_ticker_to_a_zero_period_is_gos_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let ticker = Ticker(every: .seconds(1))
            ticker.reset(every: .zero)
        }
        #expect(firstLine(of: result) == "panic: non-positive interval for Ticker.Reset")
    }

    // MARK: Patterns

    @Test func a_work_pool_of_no_workers_is_a_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = WorkPool(workers: 0)
        }
        #expect(firstLine(of: result) == "panic: WorkPool: workers must be at least 1, got 0")
    }

    @Test func a_resource_pool_of_no_capacity_is_the_seeds_error() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = ResourcePool<Int>(capacity: 0, make: { 1 }, close: { _ in })
        }
        #expect(firstLine(of: result) == "panic: ResourcePool: Size value too small.")
    }

    @Test func a_dispatcher_of_no_workers_is_a_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Dispatcher<Int>.Configuration(maxWorkers: 0, maxQueue: 4)
        }
        #expect(firstLine(of: result) == "panic: Dispatcher: maxWorkers and maxQueue must be at least 1, got 0 and 4")
    }

    // MARK: Runtime

    @Test func setting_processor_count_to_zero_is_a_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            GoRuntime(processors: 1).processorCount = 0
        }
        #expect(firstLine(of: result) == "panic: GOMAXPROCS: processorCount must be at least 1, got 0")
    }

    @Test func a_thread_limit_of_zero_is_a_panic() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            GoRuntime(processors: 1).maxThreads = 0
        }
        #expect(firstLine(of: result) == "panic: GoRuntime.maxThreads must be at least 1, got 0")
    }

    @Test func go_runtime_main_inside_a_task_says_what_is_wrong() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            GoRuntime.main {}
        }
        #expect(firstLine(of: result) == "fatal error: GoRuntime.main called from inside a task")
    }
}
