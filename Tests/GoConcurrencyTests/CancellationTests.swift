// Cancellation: a task cancelled while blocked in send, receive, select or
// sleep stops waiting and throws CancellationError, and the cancelled
// operation did not happen — a cancelled send delivered nothing, a cancelled
// receive consumed nothing — also when cancellation races a partner.

import Synchronization
import Testing
import GoConcurrency

@Suite("Cancellation", .timeLimit(Stress.timeLimit))
struct CancellationTests {

    // MARK: The cost of a cancellation

    /// Where the cancellation-cost test parks its tasks.
    enum QueueKind: String, Sendable, CaseIterable {
        case channel, syncPrimitive
    }

    /// A queue of parked tasks, as the cancellation-cost test sees it.
    struct ParkedQueue: Sendable {
        let park: @Sendable () async throws -> Void
        let waiting: @Sendable () -> Int
        let steps: @Sendable () -> Int

        init(_ kind: QueueKind) {
            switch kind {
            case .channel:
                let channel = Chan<Int>()
                park = { _ = try await channel.receive() }
                waiting = { channel.parkedReceivers }
                steps = { channel.cancelRemovalSteps }
            case .syncPrimitive:
                let probe = SyncQueueProbe()
                park = { try await probe.park() }
                waiting = { probe.waitingCount }
                steps = { probe.cancelRemovalSteps }
            }
        }
    }

    @Test(arguments: QueueKind.allCases)
    func a_cancelled_waiter_leaves_its_queue_in_steps_that_do_not_grow_with_the_queue(kind: QueueKind) async throws {
        // Given queues of 10 and of 2,000 parked tasks
        var middleSteps: [Int: Int] = [:]
        let long = Stress.size(2_000)
        for length in [10, long] {
            let queue = ParkedQueue(kind)
            var tasks: [Task<Void, any Error>] = []
            for _ in 0..<length {
                let park = queue.park
                tasks.append(Task { try await park() })
            }
            try await waitUntil("\(length) tasks park") { queue.waiting() == length }
            // When the task in the middle is cancelled
            let before = queue.steps()
            tasks[length / 2].cancel()
            try await waitUntil("it leaves") { queue.waiting() == length - 1 }
            middleSteps[length] = queue.steps() - before
            // And then every other one, last first (the farthest from the head)
            let beforeAll = queue.steps()
            for task in tasks.reversed() { task.cancel() }
            try await waitUntil("all leave") { queue.waiting() == 0 }
            let allSteps = queue.steps() - beforeAll
            for task in tasks { _ = try? await task.value }
            // Then the whole queue took a bounded number of steps per cancellation
            #expect(allSteps <= 4 * length, "\(kind): \(allSteps) steps to cancel \(length - 1) waiters")
        }
        // And the one in the middle took no more steps in the long queue than in the short
        let short = middleSteps[10] ?? 0, longSteps = middleSteps[long] ?? 0
        #expect(longSteps <= short && short <= 4, "middle of 10: \(short) steps; middle of \(long): \(longSteps)")
    }

    // MARK: Blocked operations

    @Test(arguments: [0, 1])
    func cancelled_blocked_send_throws_cancellation_and_delivers_nothing(capacity: Int) async throws {
        // Given a full channel and a sender parked on it
        let channel = Chan<Int>(capacity: capacity)
        for value in 0..<capacity { try await channel.send(value) }
        let sender = Task { try await channel.send(99) }
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        // When its task is cancelled
        sender.cancel()
        // Then the send throws CancellationError
        await #expect(throws: CancellationError.self) { try await sender.value }
        // And its value was not delivered: only what was buffered comes out
        expectNoWaiters(on: channel)
        for value in 0..<capacity { #expect(channel.tryReceive() == .value(value)) }
        #expect(channel.tryReceive() == .empty)
        // And the channel still works
        let receiver = Task { try await channel.receive() }
        try await channel.send(5)
        #expect(try await receiver.value == 5)
    }

    @Test(arguments: [0, 1])
    func cancelled_blocked_receive_throws_cancellation_and_consumes_nothing(capacity: Int) async throws {
        // Given a receiver parked on an empty channel
        let channel = Chan<Int>(capacity: capacity)
        let receiver = Task { try await channel.receive() }
        try await waitUntil("the receiver parks") { channel.parkedReceivers == 1 }
        // When its task is cancelled
        receiver.cancel()
        // Then the receive throws CancellationError
        await #expect(throws: CancellationError.self) { try await receiver.value }
        // And it no longer takes anything: a later value stays for someone else
        expectNoWaiters(on: channel)
        if capacity == 0 {
            #expect(channel.trySend(1) == .full)
        } else {
            #expect(channel.trySend(1) == .sent)
            #expect(channel.count == 1)
            #expect(channel.tryReceive() == .value(1))
        }
    }

    @Test func cancelled_blocked_select_throws_cancellation_and_no_case_happens() async throws {
        // Given a select parked on a receive and a send
        let a = Chan<Int>(), b = Chan<Int>()
        let handlerRan = Flag()
        let selecting = Task {
            try await select {
                a.onReceive { _ in handlerRan.set() }
                b.onSend(1) { handlerRan.set() }
            }
        }
        try await waitUntil("the select parks") { a.parkedReceivers == 1 && b.parkedSenders == 1 }
        // When its task is cancelled
        selecting.cancel()
        // Then it throws CancellationError, ran no handler, and left no waiter
        await #expect(throws: CancellationError.self) { try await selecting.value }
        #expect(!handlerRan.isSet)
        expectNoWaiters(on: a)
        expectNoWaiters(on: b)
        #expect(a.trySend(1) == .full)
        #expect(b.tryReceive() == .empty)
    }

    @Test func cancelled_select_with_a_timeout_throws_cancellation_not_the_timeout() async throws {
        let quiet = Chan<Int>()
        let selecting = Task {
            try await select {
                quiet.onReceive { _ in "value" }
                after(.seconds(3_600)) { "timeout" }
            }
        }
        try await waitUntil("the select parks") { quiet.parkedReceivers == 1 }
        selecting.cancel()
        await #expect(throws: CancellationError.self) { try await selecting.value }
        expectNoWaiters(on: quiet)
    }

    @Test func cancelled_sleep_throws_cancellation() async throws {
        let sleeper = Task { try await sleep(for: .seconds(3_600)) }
        try await letOthersRun()
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }

    @Test func cancelling_a_task_group_wakes_its_blocked_children() async throws {
        let channel = Chan<Int>()
        let cancelled = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    do {
                        _ = try await channel.receive()
                    } catch is CancellationError {
                        cancelled.increment()
                    }
                }
                group.addTask {
                    do {
                        _ = try await select { channel.onReceive { $0 } }
                    } catch is CancellationError {
                        cancelled.increment()
                    }
                }
            }
            try await waitUntil("eight receivers park") { channel.parkedReceivers == 8 }
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(cancelled.value == 8)
        expectNoWaiters(on: channel)
    }

    // MARK: Operations in an already cancelled task

    @Test func in_a_cancelled_task_operations_that_need_no_wait_complete() async throws {
        let buffered = Chan<Int>(capacity: 2)
        let task = Task {
            cancelCurrentTask()
            try await buffered.send(1)                       // room: completes
            #expect(try await buffered.receive() == 1)       // a value: completes
            #expect(try await select { buffered.onSend(2) { "sent" } } == "sent")
            #expect(try await select { buffered.onReceive { $0 } } == 2)
            #expect(try await select {
                buffered.onReceive { _ in "value" }
                otherwise { "default" }
            } == "default")
            try buffered.close()
            #expect(try await buffered.receive() == nil)     // closed: completes
        }
        try await task.value
    }

    @Test func in_a_cancelled_task_operations_that_must_wait_throw_at_once() async throws {
        let channel = Chan<Int>()
        let task = Task {
            cancelCurrentTask()
            await #expect(throws: CancellationError.self) { try await channel.send(1) }
            await #expect(throws: CancellationError.self) { try await channel.receive() }
            await #expect(throws: CancellationError.self) {
                try await select {
                    channel.onReceive { _ in 1 }
                    after(.seconds(3_600)) { 2 }
                }
            }
            await #expect(throws: CancellationError.self) { try await sleep(for: .seconds(3_600)) }
        }
        await task.value
        expectNoWaiters(on: channel)
        #expect(channel.trySend(1) == .full)
    }

    @Test func for_await_ends_without_consuming_when_the_task_is_cancelled() async throws {
        // Given a task iterating an empty channel
        let channel = Chan<Int>()
        let iterating = Task {
            var seen: [Int] = []
            for await value in channel { seen.append(value) }
            return seen
        }
        try await waitUntil("the iterator parks") { channel.parkedReceivers == 1 }
        // When it is cancelled, Then the loop ends, having consumed nothing
        iterating.cancel()
        #expect(await iterating.value.isEmpty)
        expectNoWaiters(on: channel)
        #expect(channel.trySend(1) == .full)
    }

    // MARK: Cancellation racing a partner

    @Test func cancel_racing_a_sender_either_the_receive_completes_or_nothing_was_consumed() async throws {
        let rounds = Stress.size(2_000)
        let seed = Seeds.make(1)[0]
        let racer = Racer(seed: seed)
        defer { racer.stop() }
        for round in 0..<rounds {
            // Given a parked receiver
            let channel = Chan<Int>()
            let receiver = Task { try await channel.receive() }
            try await waitUntil("the receiver parks") { channel.parkedReceivers == 1 }
            // When a non-blocking send races its cancellation
            let sendResult = Shared<TrySendResult?>(nil)
            racer.race { sendResult.set(channel.trySend(round)) }
            receiver.cancel()
            await racer.waitForRound()
            // Then exactly one happened: the receive got the value and the send
            // succeeded, or the receive was cancelled and the send found nobody
            switch await receiver.result {
            case .success(let value):
                #expect(value == round, "seed \(seed)")
                #expect(sendResult.value == .sent, "seed \(seed)")
            case .failure(let error):
                #expect(error is CancellationError, "seed \(seed)")
                #expect(sendResult.value == .full, "seed \(seed)")
            }
            expectNoWaiters(on: channel)
        }
    }

    @Test func cancel_racing_a_receiver_either_the_send_completes_or_nothing_was_delivered() async throws {
        let rounds = Stress.size(2_000)
        let seed = Seeds.make(1)[0]
        let racer = Racer(seed: seed)
        defer { racer.stop() }
        for round in 0..<rounds {
            // Given a parked sender
            let channel = Chan<Int>()
            let sender = Task { try await channel.send(round) }
            try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
            // When a non-blocking receive races its cancellation
            let receiveResult = Shared<TryReceiveResult<Int>?>(nil)
            racer.race { receiveResult.set(channel.tryReceive()) }
            sender.cancel()
            await racer.waitForRound()
            // Then exactly one happened
            switch await sender.result {
            case .success:
                #expect(receiveResult.value == .value(round), "seed \(seed)")
            case .failure(let error):
                #expect(error is CancellationError, "seed \(seed)")
                #expect(receiveResult.value == .empty, "seed \(seed)")
            }
            expectNoWaiters(on: channel)
        }
    }

    @Test func cancel_racing_a_partner_of_a_parked_select_either_the_case_happened_or_nothing_did() async throws {
        let rounds = Stress.size(2_000)
        let seed = Seeds.make(1)[0]
        let racer = Racer(seed: seed)
        defer { racer.stop() }
        for round in 0..<rounds {
            let a = Chan<Int>(), b = Chan<Int>()
            let selecting = Task {
                try await select {
                    a.onReceive { $0 ?? -1 }
                    b.onSend(round) { -2 }
                }
            }
            try await waitUntil("the select parks") { a.parkedReceivers == 1 && b.parkedSenders == 1 }
            let sendResult = Shared<TrySendResult?>(nil)
            racer.race { sendResult.set(a.trySend(round)) }
            selecting.cancel()
            await racer.waitForRound()
            switch await selecting.result {
            case .success(let value):
                #expect(value == round, "seed \(seed)")
                #expect(sendResult.value == .sent, "seed \(seed)")
            case .failure(let error):
                #expect(error is CancellationError, "seed \(seed)")
                #expect(sendResult.value == .full, "seed \(seed)")
            }
            #expect(b.tryReceive() == .empty, "a cancelled or lost send case delivered its value (seed \(seed))")
            expectNoWaiters(on: a)
            expectNoWaiters(on: b)
        }
    }

    // MARK: Cancellation storm

    enum StormOutcome: Sendable, Equatable {
        case sent(Int)
        case received(Int)
        case receivedClosed
        case cancelled
        case sendOnClosed
    }

    @Test(arguments: [0, 4])
    func cancellation_storm_loses_nothing_duplicates_nothing_and_leaves_nothing_hanging(capacity: Int) async throws {
        // Given 10,000 operations on one channel — plain sends and receives,
        // and selects that send or receive on it besides a never-ready channel
        let operations = Stress.size(10_000)
        let seed = Seeds.make(1)[0]
        var random = SeededRandom(seed: seed)
        let channel = Chan<Int>(capacity: capacity)
        let quiet = Chan<Int>()

        @Sendable func send(_ value: Int, viaSelect: Bool) async -> StormOutcome {
            do {
                if viaSelect {
                    try await select {
                        channel.onSend(value) {}
                        quiet.onReceive { _ in Issue.record("the quiet channel was ready") }
                    }
                } else {
                    try await channel.send(value)
                }
                return .sent(value)
            } catch is CancellationError {
                return .cancelled
            } catch ChannelError.sendOnClosedChannel {
                return .sendOnClosed
            } catch {
                Issue.record("unexpected \(error)")
                return .cancelled
            }
        }
        @Sendable func receive(viaSelect: Bool) async -> StormOutcome {
            do {
                let value: Int?
                if viaSelect {
                    value = try await select {
                        channel.onReceive { $0 }
                        quiet.onReceive { _ in Issue.record("the quiet channel was ready"); return nil }
                    }
                } else {
                    value = try await channel.receive()
                }
                return value.map(StormOutcome.received) ?? .receivedClosed
            } catch is CancellationError {
                return .cancelled
            } catch {
                Issue.record("unexpected \(error)")
                return .cancelled
            }
        }

        // When they start in phases that alternately favour senders and
        // receivers (so that hundreds at a time are blocked), and tasks chosen
        // at random are cancelled while values flow
        var tasks: [Task<StormOutcome, Never>] = []
        tasks.reserveCapacity(operations)
        let phase = 500
        for index in 0..<operations {
            let favourSenders = (index / phase).isMultiple(of: 2)
            let isSender = Int(random.next() % 100) < (favourSenders ? 75 : 25)
            let viaSelect = random.next() % 2 == 0
            if isSender {
                tasks.append(Task { await send(index, viaSelect: viaSelect) })
            } else {
                tasks.append(Task { await receive(viaSelect: viaSelect) })
            }
            if index % 2 == 1 {
                tasks[Int(random.next() % UInt64(tasks.count))].cancel()
            }
            if index % 32 == 0 { await Task.yield() }
        }
        // And the channel is closed, releasing whoever still waits
        try channel.close()

        // Then every task finishes
        var outcomes: [StormOutcome] = []
        for task in tasks { outcomes.append(await task.value) }
        var drained: [Int] = []
        while let value = try await channel.receive() { drained.append(value) }

        // And every completed send was received exactly once, and no value of
        // a cancelled or refused send was received
        var sent: [Int] = []
        var received: [Int] = []
        for outcome in outcomes {
            switch outcome {
            case .sent(let value): sent.append(value)
            case .received(let value): received.append(value)
            default: break
            }
        }
        received += drained
        #expect(Set(received).count == received.count, "a value was received twice (seed \(seed))")
        #expect(Set(received) == Set(sent), "sent and received differ (seed \(seed)): \(Set(sent).symmetricDifference(received).sorted().prefix(10))")
        #expect(outcomes.count == operations)
        let cancelled = outcomes.count { $0 == .cancelled }
        #expect(cancelled > 0, "no operation was cancelled while blocked (seed \(seed))")
        expectNoWaiters(on: channel)
        expectNoWaiters(on: quiet)
    }
}
