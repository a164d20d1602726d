// Model tests (after Kotlin's Lincheck): random operation sequences — send,
// receive, trySend, tryReceive, close, select — checked against a reference.
//
// - One task: every result must equal that of a sequential reference channel.
// - Several tasks: the results must be explainable by some interleaving;
//   checked through conservation (every value that was sent is received
//   exactly once, nothing else is), per-sender FIFO order, and closed-channel
//   results only once the close had begun.
//
// Seeds are random per run and printed in every failure; set
// GOCONCURRENCY_SEED to replay one.

import Synchronization
import Testing
import GoConcurrency

/// The sequential reference: a FIFO with a capacity and a closed flag. A
/// single task has no partner, so an unbuffered channel never pairs.
struct ReferenceChannel {
    let capacity: Int
    var buffer: [Int] = []
    var closed = false

    var sendReady: Bool { closed || buffer.count < capacity }
    var receiveReady: Bool { closed || !buffer.isEmpty }

    mutating func trySend(_ value: Int) -> TrySendResult {
        if closed { return .closed }
        guard buffer.count < capacity else { return .full }
        buffer.append(value)
        return .sent
    }

    mutating func tryReceive() -> TryReceiveResult<Int> {
        if !buffer.isEmpty { return .value(buffer.removeFirst()) }
        return closed ? .closed : .empty
    }

    /// True if this close succeeds.
    mutating func close() -> Bool {
        defer { closed = true }
        return !closed
    }
}

@Suite("Model", .timeLimit(Stress.timeLimit))
struct ModelTests {

    // MARK: One task against the sequential reference

    enum ModelCase { case send(channel: Int, value: Int), receive(channel: Int) }

    @Test func single_task_random_operations_match_the_reference_channel_exactly() async throws {
        for seed in Seeds.make(20) {
            try await runSingleTaskModel(seed: seed, steps: Stress.size(1_500))
        }
    }

    private func runSingleTaskModel(seed: UInt64, steps: Int) async throws {
        var random = SeededRandom(seed: seed)
        let capacities = [0, 1, 2, 5]
        let channels = capacities.map { Chan<Int>(capacity: $0) }
        var models = capacities.map { ReferenceChannel(capacity: $0) }
        var nextValue = 0
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }

        for step in 0..<steps {
            let c = pick(channels.count)
            let channel = channels[c]
            let where_ = "seed \(seed), step \(step), channel \(c) (capacity \(capacities[c]))"
            let roll = pick(100)
            switch roll {
            case 0..<22:  // trySend, through the channel or its send-only view
                nextValue += 1
                let result = random.next() % 2 == 0 ? channel.trySend(nextValue) : channel.sendOnly.trySend(nextValue)
                #expect(result == models[c].trySend(nextValue), "trySend: \(where_)")
            case 22..<44:  // tryReceive, through the channel or its receive-only view
                let result = random.next() % 2 == 0 ? channel.tryReceive() : channel.receiveOnly.tryReceive()
                #expect(result == models[c].tryReceive(), "tryReceive: \(where_)")
            case 44..<56:  // a blocking send, only when the reference says it cannot block
                guard models[c].sendReady else { continue }
                nextValue += 1
                let value = nextValue
                if models[c].closed {
                    await #expect(throws: ChannelError.sendOnClosedChannel, "send: \(where_)") {
                        try await channel.send(value)
                    }
                } else {
                    try await channel.send(value)
                    models[c].buffer.append(value)
                }
            case 56..<68:  // a blocking receive, only when it cannot block
                guard models[c].receiveReady else { continue }
                let expected = models[c].tryReceive().value
                #expect(try await channel.receive() == expected, "receive: \(where_)")
            case 68..<70:  // close (rare, so that most of the run is on open channels)
                if models[c].close() {
                    try channel.close()
                } else {
                    #expect(throws: ChannelError.closeOfClosedChannel, "close: \(where_)") { try channel.close() }
                }
            default:  // select over 1–4 random cases, with default or an expired timeout if none is ready
                var cases: [ModelCase] = []
                for _ in 0..<(1 + pick(4)) {
                    let target = pick(channels.count)
                    if random.next() % 2 == 0 {
                        nextValue += 1
                        cases.append(.send(channel: target, value: nextValue))
                    } else {
                        cases.append(.receive(channel: target))
                    }
                }
                let readyIndices = cases.indices.filter { index in
                    switch cases[index] {
                    case .send(let target, _): models[target].sendReady
                    case .receive(let target): models[target].receiveReady
                    }
                }
                let fallback = pick(3)  // 0: default, 1: after(.zero), 2: none (only if a case is ready)
                let useDefault = fallback == 0 || (fallback == 2 && readyIndices.isEmpty)
                let useTimeout = fallback == 1
                do {
                    let chosen: (index: Int, value: Int?) = try await select {
                        for (index, modelCase) in cases.enumerated() {
                            switch modelCase {
                            case .send(let target, let value):
                                channels[target].onSend(value) { (index, nil) }
                            case .receive(let target):
                                channels[target].onReceive { (index, $0) }
                            }
                        }
                        if useDefault { otherwise { (-1, nil) } }
                        if useTimeout { after(.zero) { (-2, nil) } }
                    }
                    if chosen.index < 0 {
                        #expect(readyIndices.isEmpty, "select took its \(chosen.index == -1 ? "default" : "timeout") with cases \(readyIndices) ready: \(where_)")
                        continue
                    }
                    #expect(readyIndices.contains(chosen.index), "select chose case \(chosen.index), not ready: \(where_)")
                    switch cases[chosen.index] {
                    case .send(let target, let value):
                        #expect(!models[target].closed, "select sent on a closed channel: \(where_)")
                        models[target].buffer.append(value)
                    case .receive(let target):
                        #expect(chosen.value == models[target].tryReceive().value, "select receive: \(where_)")
                    }
                } catch ChannelError.sendOnClosedChannel {
                    // A send case on a closed channel was chosen: it must exist
                    // and be ready; nothing else happened.
                    let closedSend = readyIndices.contains { index in
                        if case .send(let target, _) = cases[index] { return models[target].closed }
                        return false
                    }
                    #expect(closedSend, "select threw send-on-closed without a closed send case: \(where_)")
                }
            }
            for index in channels.indices {
                #expect(channels[index].count == models[index].buffer.count, "count: seed \(seed), step \(step), channel \(index)")
                #expect(channels[index].isClosed == models[index].closed, "isClosed: seed \(seed), step \(step), channel \(index)")
            }
        }
        // Finally, closing and draining yields exactly what the reference holds
        for index in channels.indices {
            if models[index].close() { try channels[index].close() }
            var drained: [Int] = []
            for await value in channels[index] { drained.append(value) }
            #expect(drained == models[index].buffer, "drain: seed \(seed), channel \(index)")
        }
    }

    // MARK: Several tasks: conservation, per-sender FIFO, closed only after close

    /// What the tasks share: the channels, and for each whether a close has
    /// begun or completed.
    struct World: Sendable {
        let channels: [Chan<Int>]
        let closeStarted: [Flag]
        let closeCompleted: [Flag]
        let progress = Counter()

        init(capacities: [Int]) {
            channels = capacities.map { Chan<Int>(capacity: $0) }
            closeStarted = capacities.map { _ in Flag() }
            closeCompleted = capacities.map { _ in Flag() }
        }

        /// Closes `channel`, marking the close as begun and done around it.
        func close(_ channel: Int) -> Bool {
            closeStarted[channel].set()
            do {
                try channels[channel].close()
                closeCompleted[channel].set()
                return true
            } catch {
                return false
            }
        }
    }

    /// Values are tagged sender × channel × sequence, so that any value says
    /// who sent it where, and in which order.
    enum Tag {
        static func make(sender: Int, channel: Int, seq: Int) -> Int { (sender * 16 + channel) * 1_000_000 + seq }
        static func sender(_ value: Int) -> Int { value / 1_000_000 / 16 }
        static func channel(_ value: Int) -> Int { value / 1_000_000 % 16 }
        static func seq(_ value: Int) -> Int { value % 1_000_000 }
    }

    /// One participant's record.
    struct Log: Sendable {
        var sent: [Int] = []
        var received: [Int] = []
        var successfulCloses: [Int] = []
        var violations: [String] = []

        /// Receives must see each sender's values on one channel in increasing order.
        mutating func noteReceived(_ value: Int, last: inout [Int: Int]) {
            let key = Tag.sender(value) * 16 + Tag.channel(value)
            if let previous = last[key], previous >= Tag.seq(value) {
                violations.append("out of order: \(value) after seq \(previous)")
            }
            last[key] = Tag.seq(value)
            received.append(value)
        }
    }

    enum Picked: Sendable {
        case sent(Int)
        case received(channel: Int, value: Int?)
        case fallback
    }

    @Test func concurrent_random_operations_conserve_values_keep_sender_order_and_close_consistently() async throws {
        for seed in Seeds.make(6) {
            try await runConcurrentModel(seed: seed, tasks: 4, steps: Stress.size(600))
        }
    }

    private func runConcurrentModel(seed: UInt64, tasks: Int, steps: Int) async throws {
        let capacities = [0, 1, 3]
        let world = World(capacities: capacities)

        let participants = (0..<tasks).map { sender in
            Task { await Self.participant(sender: sender, seed: seed &+ UInt64(sender) &* 0x9E37_79B9, steps: steps, world: world) }
        }
        let finished = Counter()
        let watchers = participants.map { task in Task { _ = await task.value; finished.increment() } }

        // The harness: whenever the tasks stop making progress (all blocked),
        // it unsticks them as one more participant — taking what is offered and
        // offering values until full — and after many stalls closes everything.
        var harness = Log()
        var harnessLast: [Int: Int] = [:]
        let harnessSender = tasks
        var harnessSeq = Array(repeating: 0, count: capacities.count)
        var stalls = 0
        while finished.value < tasks {
            let before = world.progress.value
            var quiet = 0
            while quiet < 3 && finished.value < tasks {
                for _ in 0..<8 { await Task.yield() }
                try await Task.sleep(for: .milliseconds(1))
                quiet = world.progress.value == before ? quiet + 1 : 99
            }
            guard quiet == 3 else { continue }
            stalls += 1
            for c in capacities.indices {
                if stalls > 40 {
                    if world.close(c) { harness.successfulCloses.append(c) }
                    continue
                }
                while case .value(let value) = world.channels[c].tryReceive() {
                    harness.noteReceived(value, last: &harnessLast)
                }
                while true {
                    let value = Tag.make(sender: harnessSender, channel: c, seq: harnessSeq[c])
                    harnessSeq[c] += 1
                    guard world.channels[c].trySend(value) == .sent else { break }
                    harness.sent.append(value)
                }
            }
        }
        for watcher in watchers { await watcher.value }
        var logs: [Log] = []
        for participant in participants { logs.append(await participant.value) }

        // Drain what is left, as the last receiver
        for c in capacities.indices {
            if world.close(c) { harness.successfulCloses.append(c) }
            for await value in world.channels[c] { harness.noteReceived(value, last: &harnessLast) }
        }
        logs.append(harness)

        let sent = logs.flatMap(\.sent)
        let received = logs.flatMap(\.received)
        #expect(Set(received).count == received.count, "a value was received twice (seed \(seed))")
        #expect(Set(sent) == Set(received), "lost or invented values (seed \(seed)): \(Set(sent).symmetricDifference(received).sorted().prefix(8))")
        for c in capacities.indices {
            #expect(logs.flatMap(\.successfulCloses).count { $0 == c } == 1, "channel \(c) was closed successfully other than once (seed \(seed))")
            expectNoWaiters(on: world.channels[c], "seed \(seed)")
        }
        let violations = logs.flatMap(\.violations)
        #expect(violations.isEmpty, "seed \(seed): \(violations.prefix(5))")
    }

    /// One task's random run. Each result is checked against what can be
    /// known locally: closed results only after a close began, sends after a
    /// completed close always refused.
    private static func participant(sender: Int, seed: UInt64, steps: Int, world: World) async -> Log {
        var random = SeededRandom(seed: seed)
        var log = Log()
        var last: [Int: Int] = [:]
        var seq = Array(repeating: 0, count: world.channels.count)
        func pick(_ n: Int) -> Int { Int(random.next() % UInt64(n)) }
        func nextValue(_ c: Int) -> Int {
            defer { seq[c] += 1 }
            return Tag.make(sender: sender, channel: c, seq: seq[c])
        }
        func checkClosedAllowed(_ c: Int, _ what: String) -> String? {
            world.closeStarted[c].isSet ? nil : "\(what) on channel \(c) before any close began"
        }

        for step in 0..<steps {
            defer { world.progress.increment() }
            let c = pick(world.channels.count)
            let channel = world.channels[c]
            let closedBeforeStart = world.closeCompleted[c].isSet
            let roll = pick(1_000)
            switch roll {
            case 0..<200:
                let value = nextValue(c)
                switch channel.trySend(value) {
                case .sent:
                    log.sent.append(value)
                    if closedBeforeStart { log.violations.append("trySend succeeded after close, step \(step)") }
                case .closed:
                    if let error = checkClosedAllowed(c, "trySend .closed") { log.violations.append(error) }
                case .full:
                    if closedBeforeStart { log.violations.append("trySend .full after close, step \(step)") }
                }
            case 200..<400:
                switch channel.tryReceive() {
                case .value(let value): log.noteReceived(value, last: &last)
                case .closed:
                    if let error = checkClosedAllowed(c, "tryReceive .closed") { log.violations.append(error) }
                case .empty: break
                }
            case 400..<520:
                let value = nextValue(c)
                do {
                    try await channel.send(value)
                    log.sent.append(value)
                    if closedBeforeStart { log.violations.append("send succeeded after close, step \(step)") }
                } catch ChannelError.sendOnClosedChannel {
                    if let error = checkClosedAllowed(c, "send threw closed") { log.violations.append(error) }
                } catch {
                    log.violations.append("send threw \(error)")
                }
            case 520..<640:
                do {
                    if let value = try await channel.receive() {
                        log.noteReceived(value, last: &last)
                    } else if let error = checkClosedAllowed(c, "receive got closed") {
                        log.violations.append(error)
                    }
                } catch {
                    log.violations.append("receive threw \(error)")
                }
            case 640..<643 where step >= steps / 2:  // closes only late, so most of the run is on open channels
                if world.close(c) { log.successfulCloses.append(c) }
            default:
                // A select over 1–3 random cases (the same channel may repeat),
                // sometimes with a default or a short timeout.
                var sends: [(channel: Int, value: Int)] = []
                var receives: [Int] = []
                for _ in 0..<(1 + pick(3)) {
                    let target = pick(world.channels.count)
                    if random.next() % 2 == 0 {
                        sends.append((target, nextValue(target)))
                    } else {
                        receives.append(target)
                    }
                }
                let fallback = pick(4)  // 0: default, 1: timeout, else: none
                do {
                    let picked: Picked = try await select {
                        for (target, value) in sends {
                            world.channels[target].onSend(value) { .sent(value) }
                        }
                        for target in receives {
                            world.channels[target].onReceive { .received(channel: target, value: $0) }
                        }
                        if fallback == 0 { otherwise { .fallback } }
                        if fallback == 1 { after(.microseconds(200)) { .fallback } }
                    }
                    switch picked {
                    case .sent(let value):
                        log.sent.append(value)
                    case .received(let target, let value?):
                        if Tag.channel(value) != target { log.violations.append("value \(value) came out of channel \(target)") }
                        log.noteReceived(value, last: &last)
                    case .received(let target, nil):
                        if let error = checkClosedAllowed(target, "select receive got closed") { log.violations.append(error) }
                    case .fallback:
                        break
                    }
                } catch ChannelError.sendOnClosedChannel {
                    if !sends.contains(where: { world.closeStarted[$0.channel].isSet }) {
                        log.violations.append("select threw send-on-closed with no send case on a closing channel")
                    }
                } catch {
                    log.violations.append("select threw \(error)")
                }
            }
        }
        return log
    }
}
