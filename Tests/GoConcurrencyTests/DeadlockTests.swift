// Deadlock detection (Guarantees, rules 35-36): what the runtime reports, and the
// boundary of what it can prove — work that can come from outside the runtime
// (plain tasks, threads, timers, blocking calls) is never reported.

import Foundation
import Testing
import Synchronization
@_spi(Testing) @testable import GoConcurrency

@Suite("Deadlock detection", .timeLimit(Stress.timeLimit))
struct DeadlockTests {
    @Test("A runtime's deadlock check walks its own goroutines only, however many the process has")
    func deadlockCheckWalksItsOwnGoroutines() async throws {
        // Given 1,000 goroutines parked on another runtime of the process
        // (the check once walked every goroutine of every runtime: thousands
        // of checked runs that left goroutines parked made each later check
        // slower, minutes per thousand runs)
        let other = GoRuntime(processors: 1)
        let never = Chan<Int>()
        for _ in 0..<1_000 { go(on: other) { _ = try? await never.receive() } }
        try await waitUntil("the 1,000 goroutines park") { never.parkedReceivers == 1_000 }
        // When a runtime of two goroutines deadlocks
        let runtime = GoRuntime(processors: 1)
        let reported = Chan<Deadlock>(capacity: 1)
        runtime.deadlockHandler = { deadlock in _ = reported.trySend(deadlock) }
        go(on: runtime) {
            let c = Chan<Int>()
            go { try await c.send(1); try await c.send(2) }
            _ = try await c.receive()
            _ = try await Chan<Int>().receive()
        }
        let deadlock = try #require(try await reported.receive())
        // Then it is reported with its own two goroutines, and the records its
        // check walks are those two, not the other runtime's thousand
        #expect(deadlock.dump.goroutines.count == 2)
        var walked = 0
        runtime.goroutines.forEach { _ in walked += 1 }
        #expect(walked == 2)
        var others = 0
        other.goroutines.forEach { _ in others += 1 }
        #expect(others == 1_000)
        try never.close()
    }

    // MARK: Reported (Guarantees, rule 35)

    /// Runs `body` as a checked program and returns the deadlock it must end in.
    func expectDeadlock(
        processors: Int = 1,
        _ body: @escaping @Sendable () async throws -> Void,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> Deadlock {
        do {
            try await GoRuntime.run(processors: processors, body)
        } catch let deadlock as Deadlock {
            return deadlock
        }
        Issue.record("the program returned instead of deadlocking", sourceLocation: sourceLocation)
        throw CancellationError()
    }

    func reasons(_ deadlock: Deadlock) -> [WaitReason] {
        deadlock.dump.goroutines.compactMap {
            if case .waiting(let reason, _) = $0.state { reason } else { nil }
        }
    }

    @Test("Rule 35: a deadlock is found once a plain task that outlived its goroutine ends, though the next goroutine ran on the same task")
    func deadlockAfterAnOutlivingPlainTaskEnds() async throws {
        let handle = Mutex(WeakHandle(nil))
        let deadlock = try await expectDeadlock {
            let never = Chan<Int>()
            // Given a goroutine that starts a plain task (on Swift's own
            // executor) which outlives it, the goroutine queued after it,
            // run next by the same task, parked for ever
            go {
                handle.withLock { $0 = WeakHandle(Goroutine.current?.handle) }
                Task(executorPreference: globalConcurrentExecutor) {
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            go { _ = try await never.receive() }
            // And one that waits, on the runtime's timers, until the plain
            // task has ended and given up the first goroutine's handle
            go {
                repeat {
                    try await sleep(for: .milliseconds(5))
                } while handle.withLock({ $0.handle != nil })
                _ = try await never.receive()
            }
            _ = try await never.receive()
        }
        // Then the three goroutines still parked are reported
        #expect(reasons(deadlock) == [.channelReceive, .channelReceive, .channelReceive])
    }

    enum Binding {
        @TaskLocal static var label: Int = 0
    }

    @Test("Rule 35: goroutines parked inside task-local bindings of their own are reported with their waits and lines")
    func deadlockInsideTaskLocalBindingsOfTheGoroutines() async throws {
        // A goroutine's binding is then no longer its task's innermost one:
        // its parks find it by the runtime's lookup, and are still recorded.
        let lines = Mutex<[WaitReason: UInt]>([:])
        let deadlock = try await expectDeadlock {
            let never = Chan<Int>(), full = Chan<Int>(capacity: 1)
            _ = full.trySend(0)
            // Given goroutines, run one after another by one task, each
            // parking for ever inside a binding of its own: a receive, a
            // send, a select
            go {
                try await Binding.$label.withValue(1) {
                    lines.withLock { $0[.channelReceive] = #line + 1 }
                    _ = try await never.receive()
                }
            }
            go {
                try await Binding.$label.withValue(2) {
                    lines.withLock { $0[.channelSend] = #line + 1 }
                    try await full.send(1)
                }
            }
            go {
                try await Binding.$label.withValue(3) {
                    lines.withLock { $0[.select] = #line + 1 }
                    try await select {
                        never.onReceive { _ in }
                        full.onSend(2) {}
                    }
                }
            }
            _ = try await never.receive()
        }
        // Then each is reported with its wait and the line it waits at
        var waits: [(reason: WaitReason, line: UInt)] = []
        for goroutine in deadlock.dump.goroutines {
            if case .waiting(let reason, let location) = goroutine.state { waits.append((reason, location.line)) }
        }
        #expect(waits.count == 4)
        for (reason, line) in lines.withLock({ $0 }) {
            #expect(waits.contains { $0.reason == reason && $0.line == line }, "\(reason) at line \(line)")
        }
    }

    @Test("Rule 35: a send nobody receives is reported with the goroutine's wait and where it waits")
    func unreceivedSend() async throws {
        let deadlock = try await expectDeadlock {
            let messages = Chan<String>()
            try await messages.send("ping")
        }
        #expect(reasons(deadlock) == [.channelSend])
        let only = try #require(deadlock.dump.goroutines.first)
        guard case .waiting(_, let location) = only.state else { Issue.record("not waiting"); return }
        #expect(location.fileID == "GoConcurrencyTests/DeadlockTests.swift")
        #expect(only.createdAt.fileID == "GoConcurrencyTests/DeadlockTests.swift")
        #expect(withoutWaitLength("\(deadlock)").hasPrefix("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine \(only.id) [chan send]:\n"))
    }

    @Test("Rule 35: one receive too many on a buffered channel, and a range over a channel never closed")
    func receiveTooMany() async throws {
        let tooMany = try await expectDeadlock {
            let messages = Chan<String>(capacity: 2)
            try await messages.send("buffered")
            try await messages.send("channel")
            _ = try await messages.receive()
            _ = try await messages.receive()
            _ = try await messages.receive()
        }
        #expect(reasons(tooMany) == [.channelReceive])
        let range = try await expectDeadlock {
            let queue = Chan<String>(capacity: 2)
            for await _ in queue {}
        }
        #expect(reasons(range) == [.channelReceive])
    }

    @Test("Rule 35: every goroutine is listed, with its own reason (select, select (no cases), sync)", arguments: [1, 2])
    func everyGoroutineListed(processors: Int) async throws {
        let deadlock = try await expectDeadlock(processors: processors) {
            let a = Chan<Int>(), b = Chan<Int>(), c = Chan<Int>()
            let mutex = Sync.Mutex()
            let group = Sync.WaitGroup()
            try await mutex.lock()
            group.add(1)
            go { try await mutex.lock() }                      // sync.Mutex.Lock
            go { _ = try await c.receive() }                   // chan receive
            go {
                try await select {                             // select
                    b.onReceive { _ in }
                    a.onSend(1) {}
                }
            }
            go { try await select { Chan<Int>?.none?.onReceive { _ in } } }  // select (no cases)
            try await group.wait()                             // semacquire
        }
        #expect(Set(reasons(deadlock)) == [.semacquire, .mutexLock, .channelReceive, .select, .selectNoCases])
        #expect(deadlock.dump.goroutines.count == 5)
        #expect(deadlock.dump.goroutines.map(\.id) == deadlock.dump.goroutines.map(\.id).sorted())
    }

    @Test("Rule 35: after GOMAXPROCS goes down, a deadlock is still found (a retired processor counts as quiet once asleep)")
    func deadlockAfterProcessorCountGoesDown() async throws {
        // A processor beyond GOMAXPROCS may carry a job it stole just before
        // the count went down, in no queue, so the check waits until it sleeps
        // retired; it must not wait for ever: the retiring processor wakes an
        // idle one, which looks again.
        let runtime = GoRuntime(processors: 3)
        let deadlock: Deadlock = await withCheckedContinuation { continuation in
            let reported = Shared(false)
            runtime.deadlockHandler = { deadlock in
                if !reported.withLock({ let first = !$0; $0 = true; return first }) { return }
                continuation.resume(returning: deadlock)
            }
            go(on: runtime) {
                let ready = Chan<Int>()
                for index in 0..<8 {
                    go(on: runtime) { try await ready.send(index) }
                }
                await runtime.setProcessorCount(1)
                _ = try await ready.receive()
                try await Chan<Int>().send(0)  // nobody receives: the program is stuck
            }
        }
        #expect(Set(reasons(deadlock)) == [.channelSend])
        #expect(deadlock.dump.goroutines.count == 8)  // main and the seven senders left
        #expect(runtime.processorCount == 1)
    }

    @Test("Rule 35: waits on RWMutex, Semaphore and Once are listed with their reasons and counted as stuck")
    func otherSyncWaitsListed() async throws {
        let deadlock = try await expectDeadlock(processors: 2) {
            let rw = Sync.RWMutex(), semaphore = Sync.Semaphore(capacity: 1), once = Sync.Once()
            let never = Chan<Int>(), inside = Chan<Void>(), writerWaits = Sync.WaitGroup()
            try await rw.readLock()
            try await semaphore.acquire()
            go { try await rw.lock() }                              // sync.RWMutex.Lock
            // A reader that comes after a queued writer waits too (Go's rule).
            while rw.waitingCount == 0 {
                await Task.yield()
            }
            go { try await rw.readLock() }                          // sync.RWMutex.RLock
            go { try await semaphore.acquire() }                    // semacquire
            go { try await once.run { try await inside.send(()); _ = try await never.receive() } }
            _ = try await inside.receive()
            go { try await once.run {} }                            // semacquire (Once)
            writerWaits.add(1)
            try await writerWaits.wait()                            // semacquire
        }
        let counts = Dictionary(reasons(deadlock).map { ($0, 1) }, uniquingKeysWith: +)
        #expect(counts == [.rwMutexLock: 1, .rwMutexReadLock: 1, .semacquire: 3, .channelReceive: 1])
    }

    @Test("Rule 35: a cycle of goroutines each waiting for the next is reported when the last one parks")
    func chainOfWaits() async throws {
        let deadlock = try await expectDeadlock(processors: 2) {
            let links = (0..<10).map { _ in Chan<Int>() }
            for index in 0..<9 {
                go { try await links[index + 1].send(try await links[index].receive() ?? 0) }
            }
            try await links[0].send(try await links[9].receive() ?? 0)
        }
        #expect(deadlock.dump.goroutines.count == 10)
        #expect(reasons(deadlock).allSatisfy { $0 == .channelReceive })
    }

    @Test("Rule 35: the seed's three deadlock programs end as Go's do, in a child process", arguments: [
        ("unreceived-send", "", "chan send"),
        ("buffering-one-too-many", "buffered\nchannel\n", "chan receive"),
        ("range-deadlock", "", "chan receive"),
    ])
    func seedPrograms(name: String, output: String, reason: String) async throws {
        let run = try await runTour(["--program", name])
        #expect(run.status == 2)
        #expect(run.output == output)
        let report = run.errors
        #expect(withoutWaitLength(report).hasPrefix("fatal error: all goroutines are asleep - deadlock!\n\ngoroutine 1 [\(reason)]:\n\twaiting at "), "\(report)")
    }

    // MARK: Not reported (Guarantees, rule 36, and the outside)

    /// One live program of the kind `kind`: a goroutine waits on a channel
    /// while the value it needs comes, after `delay`, from something that is
    /// not a goroutine parked on the runtime's channels. None may be reported.
    func liveProgram(_ kind: Int, delay: Duration) async throws -> Int {
        try await GoRuntime.run(processors: 1 + kind % 2) { () async throws -> Int in
            switch kind {
            case 0:  // a timer: Guarantees, rule 36
                let c = Chan<Int>()
                go {
                    try await sleep(for: delay)
                    try await c.send(1)
                }
                return try await c.receive()!
            case 1:  // a blocking call in flight: Guarantees, rule 36
                let c = Chan<Int>(capacity: 1)
                go {
                    try blocking { usleep(UInt32(delay.components.attoseconds / 1_000_000_000_000)) }
                    try await c.send(2)
                }
                return try await c.receive()!
            case 2:  // a plain task started by a goroutine, sleeping on Swift's own clock
                let c = Chan<Int>()
                go {
                    Task {
                        try await Task.sleep(for: delay)
                        try await c.send(3)
                    }
                }
                return try await c.receive()!
            case 3:  // a plain thread that sleeps first, then feeds the channel
                     // with blockingSend (the channel handed to it is marked,
                     // as the article asks)
                let c = Chan<Int>()
                c.markUsedOutsideGoroutines()
                Thread {
                    usleep(UInt32(delay.components.attoseconds / 1_000_000_000_000))
                    try? c.blockingSend(4)
                }.start()
                return try await c.receive()!
            case 4:  // a continuation resumed by a Dispatch thread
                let value = await withCheckedContinuation { continuation in
                    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(delay.components.attoseconds / 1_000_000_000_000_000))) {
                        continuation.resume(returning: 5)
                    }
                }
                return value
            case 5:  // a plain task that outlives the goroutine that started it
                let c = Chan<Int>()
                go {
                    Task {
                        try await Task.sleep(for: delay)
                        try await c.send(6)
                    }
                }
                try await sleep(for: .milliseconds(1))
                return try await c.receive()!
            case 6:  // a select whose timeout is pending (a timer of this runtime)
                let never = Chan<Int>()
                return try await select {
                    never.onReceive { _ in 0 }
                    after(delay) { 7 }
                }
            case 7:  // a Timer's channel
                let timer = Timer(after: delay)
                _ = try await timer.channel.receive()
                return 8
            case 8:  // the waiting goroutine itself started the plain task
                let c = Chan<Int>()
                Task {
                    try await Task.sleep(for: delay)
                    try await c.send(9)
                }
                return try await c.receive()!
            case 9:  // a goroutine of another runtime (GoRuntime.shared) feeds it
                let c = Chan<Int>()
                go(on: .shared) {
                    try await sleep(for: delay)
                    try await c.send(10)
                }
                return try await c.receive()!
            case 11:  // the goroutine's own child tasks (async let): one relays, one
                      // sleeps on Swift's clock first, while the goroutine waits
                let c = Chan<Int>(), relayed = Chan<Int>()
                async let relay: Void = { try await c.send(try await relayed.receive()!) }()
                async let late: Void = {
                    try await Task.sleep(for: delay)
                    try await relayed.send(12)
                }()
                let value = try await c.receive()!
                _ = try await (relay, late)
                return value
            case 12:  // afterFunc's function, a goroutine of the same runtime
                let c = Chan<Int>()
                afterFunc(delay) { go { try await c.send(13) } }
                return try await c.receive()!
            default:  // a thread parked in blockingSend on a goroutine's channel,
                      // until a task outside receives
                let relay = Chan<Int>(), d = Chan<Int>()
                Thread {
                    try? relay.blockingSend(11)            // parks: nobody receives yet
                    try? d.blockingSend(11)
                }.start()
                // Until the thread has used the channel, nothing tells the
                // runtime that anyone outside holds it (Deadlock.swift's
                // blind spot): wait runnable, so the check has nothing to see.
                while relay.parkedSenders == 0 { await Task.yield() }
                Task.detached {
                    try await Task.sleep(for: delay)
                    _ = try await relay.receive()          // outside, not started by a goroutine
                }
                return try await d.receive()!
            }
        }
    }

    @Test("Rule 36: 50 live programs (timers, blocking calls, plain tasks and threads outside the runtime) are never reported")
    func liveProgramsNotReported() async throws {
        let results = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for index in 0..<50 {
                group.addTask {
                    let kind = index % 13
                    return (kind, try await liveProgram(kind, delay: .milliseconds(5 + index % 4 * 5)))
                }
            }
            var results: [(Int, Int)] = []
            for try await result in group { results.append(result) }
            return results
        }
        #expect(results.count == 50)
        for (kind, value) in results {
            #expect(value == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13][kind], "program kind \(kind)")
        }
    }

    @Test("A channel made outside goroutines may be fed from outside: a wait on it is not stuck")
    func channelFromOutside() async throws {
        let c = Chan<Int>()  // made by the test's plain task
        let program = Task {
            try await GoRuntime.run { try await c.receive() }
        }
        try await waitUntil("the run's goroutine waits on the channel") { c.parkedReceivers == 1 }
        try await c.send(7)
        #expect(try await program.value == 7)
    }

    @Test("A goroutine's wait on an object shared with the outside is marked so in the dump")
    func outsideMark() async throws {
        let madeOutside = Chan<Int>()
        let local = Shared<Chan<Int>?>(nil)
        let lines = Shared<[UInt]>([])
        go {
            let inside = Chan<Int>()
            local.set(inside)
            let insideLine = #line; go { _ = try await inside.receive() }
            let outsideLine = #line; go { _ = try await madeOutside.receive() }
            lines.set([UInt(insideLine), UInt(outsideLine)])
        }
        var marks: [UInt: Bool] = [:]
        try await waitUntil("both goroutines parked") {
            let wanted = lines.value
            marks = [:]
            for info in GoRuntime.goroutines() where wanted.contains(info.createdAt.line) && info.createdAt.fileID.hasSuffix("DeadlockTests.swift") {
                if case .waiting(.channelReceive, _) = info.state { marks[info.createdAt.line] = info.mayBeWokenFromOutside }
            }
            return marks.count == 2
        }
        #expect(marks[lines.value[0]] == false)
        #expect(marks[lines.value[1]] == true)
        try local.value?.close()
        try madeOutside.close()
    }
}
