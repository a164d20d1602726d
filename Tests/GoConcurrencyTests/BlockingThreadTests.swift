// blockingSend / blockingReceive from plain OS threads (C callbacks,
// synchronous code), working with tasks on the same channels: back-pressure,
// close, FIFO, pairing with select, exactly-once and happens-before.
//
// Assertions are made on the test's task, from what the threads return:
// threads only report.

import Synchronization
import Testing
import GoConcurrency

@Suite("Blocking operations on plain threads", .timeLimit(Stress.timeLimit))
struct BlockingThreadTests {

    @Test func thread_blocking_send_feeds_tasks_with_back_pressure() async throws {
        // Given a thread that sends 0..<total into a channel of capacity 2
        let channel = Chan<Int>(capacity: 2)
        let total = Stress.size(2_000)
        let completed = Counter()
        let producer = Task {
            await onThread { () -> String? in
                do {
                    for value in 0..<total {
                        try channel.blockingSend(value)
                        completed.increment()
                    }
                    try channel.close()
                    return nil
                } catch {
                    return "\(error)"
                }
            }
        }
        // When nobody receives yet, Then the thread blocks once the buffer is full
        try await waitUntil("the thread blocks in its third send") { channel.parkedSenders == 1 }
        #expect(completed.value == 2)
        #expect(channel.count == 2)
        // When a task consumes, Then everything arrives in order and the thread finishes
        var received: [Int] = []
        for await value in channel {
            received.append(value)
            #expect(channel.count <= 2)
        }
        #expect(received == Array(0..<total))
        #expect(await producer.value == nil)
    }

    @Test func unbuffered_blocking_send_completes_only_when_a_task_receives() async throws {
        let channel = Chan<String>()
        let returned = Flag()
        let sender = Task {
            await onThread { () -> Bool in
                let ok = (try? channel.blockingSend("from a thread")) != nil
                returned.set()
                return ok
            }
        }
        try await waitUntil("the thread parks") { channel.parkedSenders == 1 }
        #expect(!returned.isSet)
        #expect(try await channel.receive() == "from a thread")
        #expect(await sender.value)
        #expect(returned.isSet)
    }

    @Test func thread_blocking_receive_drains_what_tasks_send_in_per_sender_order() async throws {
        // Given a thread receiving until the channel is closed and drained
        let channel = Chan<Int>(capacity: 3)
        let consumer = Task {
            await onThread { () -> [Int] in
                var received: [Int] = []
                while let value = channel.blockingReceive() { received.append(value) }
                return received
            }
        }
        // When four tasks send 500 values each, and the channel is then closed
        let perSender = Stress.size(500)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for sender in 0..<4 {
                group.addTask {
                    for seq in 0..<perSender { try await channel.send(sender * perSender + seq) }
                }
            }
            try await group.waitForAll()
        }
        try channel.close()
        // Then the thread got every value once, each sender's in order
        let received = await consumer.value
        #expect(received.sorted() == Array(0..<(4 * perSender)))
        for sender in 0..<4 {
            let mine = received.filter { $0 / perSender == sender }
            #expect(mine == mine.sorted(), "sender \(sender)'s values out of order")
        }
    }

    @Test func close_wakes_a_thread_blocked_in_blocking_receive_with_closed() async throws {
        let channel = Chan<Int>()
        let consumer = Task { await onThread { channel.blockingReceive() } }
        try await waitUntil("the thread parks") { channel.parkedReceivers == 1 }
        try channel.close()
        #expect(await consumer.value == nil)
        expectNoWaiters(on: channel)
    }

    @Test func close_wakes_a_thread_blocked_in_blocking_send_which_throws_and_delivers_nothing() async throws {
        let channel = Chan<Int>(capacity: 1)
        try await channel.send(1)
        let producer = Task {
            await onThread { () -> ChannelError? in
                do {
                    try channel.blockingSend(2)
                    return nil
                } catch {
                    return error as? ChannelError
                }
            }
        }
        try await waitUntil("the thread parks") { channel.parkedSenders == 1 }
        try channel.close()
        #expect(await producer.value == .sendOnClosedChannel)
        #expect(try await channel.receive() == 1)
        #expect(try await channel.receive() == nil)
    }

    @Test func blocking_operations_on_a_closed_channel_return_at_once() async throws {
        let channel = Chan<Int>(capacity: 1)
        try await channel.send(4)
        try channel.close()
        let (sendError, first, second) = await onThread { () -> (ChannelError?, Int?, Int?) in
            var sendError: ChannelError?
            do { try channel.blockingSend(5) } catch { sendError = error as? ChannelError }
            return (sendError, channel.blockingReceive(), channel.blockingReceive())
        }
        #expect(sendError == .sendOnClosedChannel)
        #expect(first == 4)
        #expect(second == nil)
    }

    @Test func parked_threads_and_tasks_share_one_fifo() async throws {
        // Given a thread sender that parks first, then a task sender
        let channel = Chan<String>()
        let thread = Task { await onThread { (try? channel.blockingSend("thread")) != nil } }
        try await waitUntil("the thread parks") { channel.parkedSenders == 1 }
        let task = Task { try await channel.send("task") }
        try await waitUntil("the task parks") { channel.parkedSenders == 2 }
        // When two values are received, Then they come in the order the senders parked
        #expect(try await channel.receive() == "thread")
        #expect(try await channel.receive() == "task")
        #expect(await thread.value)
        try await task.value
    }

    @Test func a_select_in_a_task_pairs_with_blocking_threads() async throws {
        // Given a select parked on a receive from `input` and a send to `output`
        let input = Chan<Int>(), output = Chan<Int>()
        for round in 0..<50 {
            let selecting = Task {
                try await select {
                    input.onReceive { value in "received \(value ?? -1)" }
                    output.onSend(round) { "sent" }
                }
            }
            try await waitUntil("the select parks") { input.parkedReceivers == 1 && output.parkedSenders == 1 }
            // When a thread sends (even rounds) or receives (odd rounds)
            if round.isMultiple(of: 2) {
                #expect(await onThread { (try? input.blockingSend(round)) != nil })
                #expect(try await selecting.value == "received \(round)")
            } else {
                #expect(await onThread { output.blockingReceive() } == round)
                #expect(try await selecting.value == "sent")
            }
            // Then the other case left nothing behind
            expectNoWaiters(on: input)
            expectNoWaiters(on: output)
        }
    }

    @Test(arguments: [0, 4])
    func threads_and_tasks_exchange_every_value_exactly_once(capacity: Int) async throws {
        // Given two sending threads, two sending tasks, two receiving threads
        // and two receiving tasks on one channel
        let channel = Chan<Int>(capacity: capacity)
        let perSender = Stress.size(1_000)
        let senders = 4
        let threadSenders = (0..<2).map { sender in
            Task {
                await onThread { () -> Bool in
                    for seq in 0..<perSender {
                        guard (try? channel.blockingSend(sender * perSender + seq)) != nil else { return false }
                    }
                    return true
                }
            }
        }
        let taskSenders = (2..<4).map { sender in
            Task {
                for seq in 0..<perSender { try await channel.send(sender * perSender + seq) }
            }
        }
        let threadReceivers = (0..<2).map { _ in
            Task {
                await onThread { () -> [Int] in
                    var got: [Int] = []
                    while let value = channel.blockingReceive() { got.append(value) }
                    return got
                }
            }
        }
        let taskReceivers = (0..<2).map { _ in
            Task {
                var got: [Int] = []
                while let value = try await channel.receive() { got.append(value) }
                return got
            }
        }
        // When all sends complete and the channel is closed
        for sender in threadSenders { #expect(await sender.value) }
        for sender in taskSenders { try await sender.value }
        try channel.close()
        // Then every value arrived exactly once, and each receiver saw each
        // sender's values in order
        var all: [Int] = []
        var perReceiver: [[Int]] = []
        for receiver in threadReceivers { perReceiver.append(await receiver.value) }
        for receiver in taskReceivers { perReceiver.append(try await receiver.value) }
        for got in perReceiver {
            all += got
            for sender in 0..<senders {
                let mine = got.filter { $0 / perSender == sender }
                #expect(mine == mine.sorted(), "a receiver saw sender \(sender) out of order")
            }
        }
        #expect(all.count == senders * perSender)
        #expect(all.sorted() == Array(0..<(senders * perSender)))
    }

    @Test func thread_send_happens_before_the_task_receive_and_back() async throws {
        // Given boxes of unsynchronized data filled on a thread before sending
        let toTask = Chan<Unsynchronized<[Int]>>(capacity: 1)
        let toThread = Chan<Unsynchronized<[Int]>>()
        let rounds = 200
        let echo = Task {
            await onThread { () -> Bool in
                for round in 0..<rounds {
                    let box = Unsynchronized(Array(repeating: round, count: 32))
                    guard (try? toTask.blockingSend(box)) != nil else { return false }
                    // And the box the task writes comes back readable here
                    guard let back = toThread.blockingReceive(), back.value == Array(repeating: -round, count: 32) else {
                        return false
                    }
                }
                return true
            }
        }
        // When the task receives each, Then it sees the thread's writes, and
        // its own writes are seen by the thread after the hand-back
        for round in 0..<rounds {
            let box = try #require(try await toTask.receive())
            #expect(box.value == Array(repeating: round, count: 32))
            box.value = Array(repeating: -round, count: 32)
            try await toThread.send(box)
        }
        #expect(await echo.value)
    }
}
