// The channel rules 1–15 of the Guarantees article, one test (or a few) per rule,
// each named after the guarantee it checks.

import Synchronization
import Testing
import GoConcurrency

@Suite("Channel rules (Guarantees, rules 1–15)", .timeLimit(Stress.timeLimit))
struct ChannelRuleTests {

    // MARK: Rule 1 — unbuffered hand-over

    @Test func rule01_unbuffered_send_completes_only_when_a_receiver_took_the_value() async throws {
        // Given an unbuffered channel and a sender with no receiver
        let channel = Chan<Int>()
        let sendReturned = Flag()
        let sender = Task {
            try await channel.send(42)
            sendReturned.set()
        }
        // When the sender has parked
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        // Then its send has not completed and nothing is buffered
        #expect(!sendReturned.isSet)
        #expect(channel.count == 0)
        // When a receiver takes the value
        #expect(try await channel.receive() == 42)
        // Then the send completes
        try await sender.value
        #expect(sendReturned.isSet)
        expectNoWaiters(on: channel)
    }

    @Test func rule01_send_hands_the_value_straight_to_a_parked_receiver() async throws {
        // Given a receiver parked on an unbuffered channel
        let channel = Chan<String>()
        let receiver = Task { try await channel.receive() }
        try await waitUntil("the receiver parks") { channel.parkedReceivers == 1 }
        // When a non-blocking send arrives: on an unbuffered channel it can only
        // succeed by handing the value to a waiting receiver
        #expect(channel.trySend("hello") == .sent)
        // Then the parked receiver has it, and nothing was buffered
        #expect(try await receiver.value == "hello")
        #expect(channel.count == 0)
        #expect(channel.trySend("nobody") == .full)
    }

    @Test func rule01_unbuffered_try_operations_never_pair_without_a_counterpart() {
        let channel = Chan<Int>()
        #expect(channel.trySend(1) == .full)
        #expect(channel.tryReceive() == .empty)
        #expect(channel.count == 0)
    }

    // MARK: Rule 2 — blocking on empty and full

    @Test func rule02_receive_from_an_empty_channel_blocks_until_a_send() async throws {
        // Given a receiver on an empty buffered channel
        let channel = Chan<Int>(capacity: 2)
        let received = Flag()
        let receiver = Task {
            let value = try await channel.receive()
            received.set()
            return value
        }
        // When it has parked
        try await waitUntil("the receiver parks") { channel.parkedReceivers == 1 }
        // Then it has received nothing
        #expect(!received.isSet)
        #expect(channel.tryReceive() == .empty)
        // When a value is sent, Then the receiver gets it (handed over, not buffered)
        try await channel.send(5)
        #expect(try await receiver.value == 5)
        #expect(channel.count == 0)
    }

    @Test func rule02_send_to_a_full_channel_blocks_until_a_receive() async throws {
        // Given a full channel of capacity 1 and a second sender
        let channel = Chan<Int>(capacity: 1)
        try await channel.send(1)
        let sendReturned = Flag()
        let sender = Task {
            try await channel.send(2)
            sendReturned.set()
        }
        // When the sender has parked
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        // Then it has not completed and the buffer still holds one value
        #expect(!sendReturned.isSet)
        #expect(channel.count == 1)
        #expect(channel.trySend(3) == .full)
        // When a receive makes room, Then the sender completes, in order
        #expect(try await channel.receive() == 1)
        try await sender.value
        #expect(sendReturned.isSet)
        #expect(try await channel.receive() == 2)
        #expect(channel.tryReceive() == .empty)
    }

    // MARK: Rule 3 — FIFO, parked senders included

    @Test func rule03_buffered_fifo_includes_parked_senders() async throws {
        // Given cap 2 holding 0, 1 and a parked send of 2
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(0)
        try await channel.send(1)
        let sender = Task { try await channel.send(2) }
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        #expect(channel.count == 2)
        // When the head is received
        #expect(try await channel.receive() == 0)
        // Then the parked sender's value moved to the tail at once, and it completes
        #expect(channel.count == 2)
        #expect(channel.parkedSenders == 0)
        try await sender.value
        // And the receives continue in order
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == 2)
        #expect(channel.count == 0)
    }

    @Test func rule03_try_receive_also_moves_a_parked_sender_into_the_buffer() async throws {
        let channel = Chan<Int>(capacity: 1)
        #expect(channel.trySend(10) == .sent)
        let sender = Task { try await channel.send(11) }
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        #expect(channel.tryReceive() == .value(10))
        #expect(channel.count == 1)
        try await sender.value
        #expect(channel.tryReceive() == .value(11))
        #expect(channel.tryReceive() == .empty)
    }

    @Test func rule03_a_parked_select_send_case_also_moves_to_the_tail() async throws {
        // Given cap 2 holding 0, 1 and a select parked on sending 2
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(0)
        try await channel.send(1)
        let quiet = Chan<Int>()
        let selecting = Task {
            try await select {
                channel.onSend(2) { "sent" }
                quiet.onReceive { _ in "quiet" }
            }
        }
        try await waitUntil("the select parks") { channel.parkedSenders == 1 }
        // When the head is received, Then the select's value joins the tail
        #expect(try await channel.receive() == 0)
        #expect(channel.count == 2)
        #expect(try await selecting.value == "sent")
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == 2)
        expectNoWaiters(on: quiet)
    }

    // MARK: Rule 4 — parked senders and receivers are served FIFO

    @Test(arguments: [0, 2])
    func rule04_parked_senders_are_served_first_in_first_out(capacity: Int) async throws {
        // Given a full channel and five senders that park one after another
        let channel = Chan<Int>(capacity: capacity)
        for value in 0..<capacity { try await channel.send(100 + value) }
        var senders: [Task<Void, any Error>] = []
        for value in 0..<5 {
            senders.append(Task { try await channel.send(value) })
            try await waitUntil("sender \(value) parks") { channel.parkedSenders == value + 1 }
        }
        // When everything is received
        var received: [Int] = []
        for _ in 0..<(capacity + 5) {
            received.append(try #require(try await channel.receive()))
        }
        // Then the buffer comes first, then the senders in the order they parked
        #expect(received == (0..<capacity).map { 100 + $0 } + [0, 1, 2, 3, 4])
        for sender in senders { try await sender.value }
    }

    @Test(arguments: [0, 2])
    func rule04_parked_receivers_are_served_first_in_first_out(capacity: Int) async throws {
        // Given five receivers that park one after another on an empty channel
        let channel = Chan<Int>(capacity: capacity)
        var receivers: [Task<Int?, any Error>] = []
        for index in 0..<5 {
            receivers.append(Task { try await channel.receive() })
            try await waitUntil("receiver \(index) parks") { channel.parkedReceivers == index + 1 }
        }
        // When five values are sent
        for value in 0..<5 { try await channel.send(value) }
        // Then the i-th receiver to park gets the i-th value
        for (index, receiver) in receivers.enumerated() {
            #expect(try await receiver.value == index)
        }
        #expect(channel.count == 0)
    }

    @Test func rule04_plain_sends_select_cases_and_threads_share_one_fifo() async throws {
        // Given, parked in this order: a task's send, a select's send case,
        // a thread's blockingSend, and another task's send
        let channel = Chan<String>()
        let quiet = Chan<String>()
        let first = Task { try await channel.send("task 1") }
        try await waitUntil("task 1 parks") { channel.parkedSenders == 1 }
        let second = Task {
            try await select {
                channel.onSend("select") {}
                quiet.onReceive { _ in }
            }
        }
        try await waitUntil("the select parks") { channel.parkedSenders == 2 }
        let third = Task { await onThread { (try? channel.blockingSend("thread")) != nil } }
        try await waitUntil("the thread parks") { channel.parkedSenders == 3 }
        let fourth = Task { try await channel.send("task 2") }
        try await waitUntil("task 2 parks") { channel.parkedSenders == 4 }
        // When four values are received, Then they come in parking order
        var received: [String] = []
        for _ in 0..<4 { received.append(try #require(try await channel.receive())) }
        #expect(received == ["task 1", "select", "thread", "task 2"])
        try await first.value
        try await second.value
        #expect(await third.value)
        try await fourth.value
        expectNoWaiters(on: quiet)
    }

    // MARK: Rule 5 — count, capacity, negative capacity

    @Test func rule05_count_is_buffered_values_and_capacity_is_buffer_size() async throws {
        let channel = Chan<Int>(capacity: 3)
        #expect(channel.capacity == 3)
        #expect(channel.count == 0)
        try await channel.send(1)
        try await channel.send(2)
        #expect(channel.count == 2)
        #expect(channel.sendOnly.count == 2)
        #expect(channel.receiveOnly.count == 2)
        #expect(channel.sendOnly.capacity == 3)
        #expect(channel.receiveOnly.capacity == 3)
        _ = try await channel.receive()
        #expect(channel.count == 1)
        try channel.close()
        #expect(channel.count == 1)  // closing keeps what is buffered
        #expect(channel.capacity == 3)
    }

    @Test func rule05_unbuffered_channel_has_capacity_and_count_zero_even_with_a_parked_sender() async throws {
        let channel = Chan<Int>()
        #expect(channel.capacity == 0)
        let sender = Task { try await channel.send(1) }
        try await waitUntil("the sender parks") { channel.parkedSenders == 1 }
        #expect(channel.count == 0)
        #expect(try await channel.receive() == 1)
        try await sender.value
    }

    @Test func rule05_negative_capacity_traps_with_makechan_size_out_of_range() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Chan<Int>(capacity: -1)
        }
        #if DEBUG
        let standardError = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(standardError.contains("makechan: size out of range"))
        #endif
    }

    // MARK: Rule 6 — drain, then closed forever

    @Test func rule06_after_close_receivers_drain_then_see_closed_forever() async throws {
        // Given a buffered channel holding 1, 2
        let channel = Chan<Int>(capacity: 3)
        try await channel.send(1)
        try await channel.send(2)
        // When it is closed
        try channel.close()
        #expect(channel.isClosed)
        // Then the buffered values come first, in order
        #expect(try await channel.receive() == 1)
        #expect(channel.tryReceive() == .value(2))
        // And then every receive reports closed at once, forever
        for _ in 0..<100 {
            #expect(try await channel.receive() == nil)
            #expect(channel.tryReceive() == .closed)
        }
        #expect(channel.count == 0)
    }

    @Test func rule06_closed_unbuffered_channel_receives_closed_at_once() async throws {
        let channel = Chan<String>()
        try channel.close()
        #expect(try await channel.receive() == nil)
        #expect(channel.tryReceive() == .closed)
        #expect(channel.receiveOnly.tryReceive() == .closed)
    }

    // MARK: Rule 7 — close wakes every parked receiver and sender

    @Test func rule07_close_wakes_every_parked_receiver_with_closed() async throws {
        // Given eight receivers parked on an unbuffered channel
        let channel = Chan<Int>()
        let receivers = (0..<8).map { _ in Task { try await channel.receive() } }
        try await waitUntil("eight receivers park") { channel.parkedReceivers == 8 }
        // When the channel is closed
        try channel.close()
        // Then every one of them returns "closed"
        for receiver in receivers {
            #expect(try await receiver.value == nil)
        }
        expectNoWaiters(on: channel)
    }

    @Test(arguments: [0, 1])
    func rule07_close_wakes_every_parked_sender_with_closed_error_and_delivers_nothing(capacity: Int) async throws {
        // Given a full channel and eight parked senders
        let channel = Chan<Int>(capacity: capacity)
        for value in 0..<capacity { try await channel.send(value) }
        let senders = (1...8).map { value in Task { try await channel.send(100 + value) } }
        try await waitUntil("eight senders park") { channel.parkedSenders == 8 }
        // When the channel is closed
        try channel.close()
        // Then every parked sender throws send-on-closed
        for sender in senders {
            await #expect(throws: ChannelError.sendOnClosedChannel) { try await sender.value }
        }
        // And none of their values was delivered: only the buffer drains
        var drained: [Int] = []
        while let value = try await channel.receive() { drained.append(value) }
        #expect(drained == Array(0..<capacity))
        expectNoWaiters(on: channel)
    }

    // MARK: Rule 8 — send on closed throws

    @Test func rule08_send_on_a_closed_channel_throws_and_delivers_nothing() async throws {
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(1)
        try channel.close()
        await #expect(throws: ChannelError.sendOnClosedChannel) { try await channel.send(2) }
        await #expect(throws: ChannelError.sendOnClosedChannel) { try await channel.sendOnly.send(3) }
        #expect(channel.trySend(4) == .closed)
        #expect(channel.sendOnly.trySend(5) == .closed)
        #expect(channel.count == 1)
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == nil)
    }

    @Test func rule08_send_on_closed_unbuffered_channel_throws_even_in_a_cancelled_task() async throws {
        let channel = Chan<Int>()
        try channel.close()
        let task = Task {
            cancelCurrentTask()
            try await channel.send(1)
        }
        await #expect(throws: ChannelError.sendOnClosedChannel) { try await task.value }
    }

    // MARK: Rule 9 — close of closed

    @Test func rule09_close_of_a_closed_channel_throws_and_changes_nothing() async throws {
        // Given a closed channel still holding a value
        let channel = Chan<Int>(capacity: 2)
        try await channel.send(7)
        try channel.close()
        // When it is closed again, through the channel or its send-only view
        #expect(throws: ChannelError.closeOfClosedChannel) { try channel.close() }
        #expect(throws: ChannelError.closeOfClosedChannel) { try channel.sendOnly.close() }
        // Then it is still closed and still drains what it held
        #expect(channel.isClosed)
        #expect(channel.count == 1)
        #expect(try await channel.receive() == 7)
        #expect(try await channel.receive() == nil)
    }

    @Test func rule09_concurrent_closes_exactly_one_succeeds() async throws {
        for _ in 0..<200 {
            let channel = Chan<Int>()
            let successes = Counter()
            let failures = Counter()
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        do {
                            try channel.close()
                            successes.increment()
                        } catch ChannelError.closeOfClosedChannel {
                            failures.increment()
                        } catch {
                            Issue.record("unexpected \(error)")
                        }
                    }
                }
            }
            #expect(successes.value == 1)
            #expect(failures.value == 3)
        }
    }

    // MARK: Rule 10 — direction

    @Test func rule10_send_only_and_receive_only_views_are_the_same_channel() async throws {
        // Violations are compile errors and cannot be run: `channel.sendOnly.receive()`,
        // `channel.receiveOnly.send(1)` and `channel.receiveOnly.close()` do not
        // compile, because the views simply have no such members. What can be
        // checked at run time is that each view does its half on the same channel.
        let channel = Chan<Int>(capacity: 1)
        let sendSide: SendOnlyChan<Int> = channel.sendOnly
        let receiveSide: ReceiveOnlyChan<Int> = channel.receiveOnly
        #expect(sendSide == channel.sendOnly)
        #expect(receiveSide == channel.receiveOnly)
        #expect(sendSide.trySend(1) == .sent)
        #expect(receiveSide.count == 1)
        #expect(receiveSide.tryReceive() == .value(1))
        let receiver = Task { try await receiveSide.receive() }
        try await sendSide.send(2)
        #expect(try await receiver.value == 2)
        try sendSide.close()
        #expect(receiveSide.isClosed)
        #expect(channel.isClosed)
        #expect(try await receiveSide.receive() == nil)
        // A send-only view is not a sequence to iterate; a receive-only one is.
        #expect(!isAsyncSequence(SendOnlyChan<Int>.self))
        #expect(isAsyncSequence(ReceiveOnlyChan<Int>.self))
        #expect(isAsyncSequence(Chan<Int>.self))
    }

    @Test func rule10_channel_copies_are_the_same_channel() {
        let channel = Chan<Int>(capacity: 1)
        let copy = channel
        #expect(copy == channel)
        #expect(Set([channel, copy]).count == 1)
        #expect(Chan<Int>(capacity: 1) != channel)
        #expect(copy.trySend(1) == .sent)
        #expect(channel.tryReceive() == .value(1))
    }

    private func isAsyncSequence<T>(_ type: T.Type) -> Bool {
        type is any AsyncSequence.Type
    }

    // MARK: Rule 11 — nil channel: a disabled select case

    @Test func rule11_nil_channel_case_in_select_is_never_chosen() async throws {
        // Given a ready channel and a nil (optional) channel in the same select
        let none: Chan<Int>? = nil
        let ready = Chan<Int>(capacity: 1)
        for round in 0..<1_000 {
            try await ready.send(round)
            // When selecting, Then the nil case is never the one chosen
            let chosen = try await select {
                none?.onReceive { _ in "nil" }
                ready.onReceive { value in value == round ? "ready" : "wrong value" }
            }
            #expect(chosen == "ready")
        }
    }

    @Test func rule11_select_on_nil_channels_only_never_completes_a_case() async throws {
        let noneReceive: Chan<Int>? = nil
        let noneSend: Chan<Int>? = nil
        let chosen = try await select {
            noneReceive?.onReceive { _ in "receive" }
            noneSend?.onSend(1) { "send" }
            after(.milliseconds(5)) { "timeout" }
        }
        #expect(chosen == "timeout")
    }

    // MARK: Rule 12 — iteration ends after close and drain

    @Test func rule12_for_await_ends_after_close_and_drain() async throws {
        let channel = Chan<Int>(capacity: 4)
        for value in 1...3 { try await channel.send(value) }
        try channel.close()
        var seen: [Int] = []
        for await value in channel { seen.append(value) }
        #expect(seen == [1, 2, 3])
        var again: [Int] = []
        for await value in channel { again.append(value) }
        #expect(again.isEmpty)
    }

    @Test func rule12_for_await_in_an_actor_stays_on_the_actor_and_through_generic_code() async throws {
        // Given a producer that parks the iterating side between values
        let channel = Chan<Int>()
        let producer = Task {
            for value in 0..<100 { try await channel.send(value) }
            try channel.close()
        }
        // When an actor iterates it directly, and through generic code
        let counter = IteratingActor()
        let direct = await counter.sumDirectly(channel)
        try await producer.value
        let other = Chan<Int>(capacity: 8)
        for value in 1...5 { try await other.send(value) }
        try other.close()
        let generic = await counter.sumGenerically(other)
        // Then every value arrives, and every loop body ran on the actor
        #expect(direct == (0..<100).reduce(0, +))
        #expect(generic == 15)
        #expect(await counter.bodies == 105)
    }

    @Test func goroutines_parked_in_an_actors_methods_come_back_to_the_actor() async throws {
        // Given two goroutines, each running an actor's method that parks in
        // send, receive and for await (a goroutine's park takes the path
        // with no async frame of its own)
        let runtime = GoRuntime(processors: 2)
        let receiver = IteratingActor(), sender = IteratingActor()
        let first = Chan<Int>(), second = Chan<Int>()
        let sums = Chan<Int>(capacity: 2)
        go(on: runtime) { try await sums.send(try await receiver.receiveEverything(first, then: second)) }
        go(on: runtime) {
            try await sender.sendEverything(1_000, to: [first, second])
            try await sums.send(-1)
        }
        // Then every value arrives, and every step after a park ran on the
        // actor (preconditionIsolated traps otherwise)
        var results: Set<Int> = []
        for _ in 0..<2 { results.insert(try await sums.receive()!) }
        #expect(results == [-1, 2 * (0..<1_000).reduce(0, +)])
        #expect(await receiver.bodies == 2_000)
    }

    @Test func rule12_for_await_receives_everything_a_concurrent_producer_sends() async throws {
        let channel = Chan<Int>()
        let producer = Task {
            for value in 0..<200 { try await channel.send(value) }
            try channel.close()
        }
        var seen: [Int] = []
        for await value in channel.receiveOnly { seen.append(value) }
        #expect(seen == Array(0..<200))
        try await producer.value
    }

    // MARK: Rule 13 — channels of empty types

    @Test func rule13_void_channel_works() async throws {
        let channel = Chan<Void>()
        let sender = Task { try await channel.send(()) }
        #expect(try await channel.receive() != nil)
        try await sender.value
        try channel.close()
        #expect(try await channel.receive() == nil)
    }

    @Test func rule13_empty_struct_buffered_channel_counts_and_iterates() async throws {
        let channel = Chan<Empty>(capacity: 3)
        for _ in 0..<3 { try await channel.send(Empty()) }
        #expect(channel.count == 3)
        #expect(channel.trySend(Empty()) == .full)
        try channel.close()
        var seen = 0
        for await value in channel {
            #expect(value == Empty())
            seen += 1
        }
        #expect(seen == 3)
    }

    // MARK: Rule 14 — happens-before (meaningful under the thread sanitizer)

    @Test(arguments: [0, 1, 8])
    func rule14_send_happens_before_the_matching_receive_completes(capacity: Int) async throws {
        // Given boxes of unsynchronized data, each filled before it is sent
        let channel = Chan<Unsynchronized<[Int]>>(capacity: capacity)
        let rounds = 300
        let producer = Task {
            for round in 0..<rounds {
                let box = Unsynchronized([Int]())
                box.value = Array(round..<(round + 64))
                try await channel.send(box)
            }
            try channel.close()
        }
        // When each is received, Then the receiver sees the writes made before the send
        var round = 0
        for await box in channel {
            #expect(box.value == Array(round..<(round + 64)))
            box.value.removeAll()  // and may write it without a race
            round += 1
        }
        #expect(round == rounds)
        try await producer.value
    }

    @Test func rule14_close_happens_before_a_receive_that_observes_it() async throws {
        for _ in 0..<200 {
            let shared = Unsynchronized(0)
            let channel = Chan<Int>()
            let closer = Task {
                shared.value = 42
                try channel.close()
            }
            #expect(try await channel.receive() == nil)
            #expect(shared.value == 42)
            try await closer.value
        }
    }

    @Test func rule14_unbuffered_receive_happens_before_the_send_completes() async throws {
        for round in 0..<200 {
            // Given data the receiver writes before it receives
            let shared = Unsynchronized(-1)
            let channel = Chan<Int>()
            let receiver = Task {
                shared.value = round
                _ = try await channel.receive()
            }
            // When the send completes, Then the sender sees that write
            try await channel.send(0)
            #expect(shared.value == round)
            try await receiver.value
        }
    }

    @Test func rule14_kth_receive_happens_before_the_k_plus_capacity_th_send_completes() async throws {
        // Given a channel of capacity C used as a semaphore: the receiver marks
        // slot k (unsynchronized) just before its k-th receive
        let capacity = 2
        let total = 300
        let marks = Unsynchronized([Bool](repeating: false, count: total + 1))
        let channel = Chan<Int>(capacity: capacity)
        let receiver = Task {
            for k in 1...total {
                marks.value[k] = true
                _ = try await channel.receive()
            }
        }
        // When the (k+C)-th send completes, Then the k-th mark is visible
        for send in 1...(total + capacity) {
            try await channel.send(send)
            let k = send - capacity
            if k >= 1 {
                #expect(marks.value[k], "mark \(k) not visible after send \(send)")
            }
        }
        try await receiver.value
    }

    // MARK: Rule 15 — program ends when main returns

    @Test func rule15_program_ends_when_main_returns_without_waiting_for_goroutines() async {
        // Given goroutines that will never finish, one parked for good and
        // one always runnable, in a process of its own,
        // When its main returns,
        // Then the process exits at once, successfully.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .success) {
            let never = Chan<Int>()
            go { _ = try await never.receive() }
            go {
                while true { await Task.yield() }
            }
        }
    }
}

/// Iterates channels in its own isolation, checking that each loop body runs
/// on the actor whether the loop is concrete or generic.
private actor IteratingActor {
    var bodies = 0

    func sumDirectly(_ channel: Chan<Int>) async -> Int {
        var sum = 0
        for await value in channel {
            assertIsolated()
            bodies += 1
            sum += value
        }
        return sum
    }

    /// Receives until `channel` closes, first with `receive`, then (on a
    /// second channel) with `for await`, checking the actor after each park.
    func receiveEverything(_ channel: Chan<Int>, then rest: Chan<Int>) async throws -> Int {
        var sum = 0
        while let value = try await channel.receive() {
            preconditionIsolated()
            bodies += 1
            sum += value
        }
        for await value in rest {
            preconditionIsolated()
            bodies += 1
            sum += value
        }
        return sum
    }

    /// Sends 0..<count on each channel and closes it, checking the actor after
    /// each park.
    func sendEverything(_ count: Int, to channels: [Chan<Int>]) async throws {
        for channel in channels {
            for value in 0..<count {
                try await channel.send(value)
                preconditionIsolated()
            }
            try channel.close()
        }
    }

    func sumGenerically<S: AsyncSequence<Int, Never>>(_ sequence: S) async -> Int {
        var sum = 0
        for await value in sequence {
            assertIsolated()
            bodies += 1
            sum += value
        }
        return sum
    }
}
