// The seed's idioms as a library: generator, merge (multiplexing), future,
// pipeline stages (chain filter) and the shared variable.

import Foundation
import Testing
@testable import GoConcurrency

@Suite("Patterns: the seed's idioms", .timeLimit(Stress.timeLimit))
struct PatternTests {
    /// Whether a goroutine with this id is still alive.
    func isAlive(_ id: Int) -> Bool {
        GoRuntime.goroutines().contains { $0.id == id }
    }

    @Test func a_generator_produces_on_demand_in_order() async throws {
        let numbers = Generator<Int> { yield in
            var next = 0
            while try await yield(next) { next += 1 }
        }
        var got: [Int] = []
        for _ in 0..<5 { got.append(try await numbers.next()!) }
        #expect(got == [0, 1, 2, 3, 4])
    }

    @Test func a_released_generator_stops_its_goroutine_and_closes() async throws {
        let ids = Chan<Int>(capacity: 1)
        var channel: ReceiveOnlyChan<Int>?
        do {
            let numbers = Generator<Int> { yield in
                try await ids.send(GoRuntime.currentGoroutineID!)
                var next = 0
                while try await yield(next) { next += 1 }
            }
            channel = numbers.channel
            #expect(try await numbers.next() == 0)
        }
        // The consumer let go of the generator (it kept only the channel).
        let producer = try await ids.receive()!
        try await waitUntil("the producer ends") { !isAlive(producer) }
        // What was produced but not taken is gone with it; the channel is closed.
        #expect(try await channel!.receive() == nil)
    }

    @Test func a_generator_whose_body_returns_closes_its_channel() async throws {
        let letters = Generator<String> { yield in
            for letter in ["a", "b", "c"] { _ = try await yield(letter) }
        }
        var got: [String] = []
        for await letter in letters { got.append(letter) }
        #expect(got == ["a", "b", "c"])
    }

    @Test func merge_delivers_every_value_in_each_inputs_order_and_closes() async throws {
        let inputs = (0..<4).map { input in
            Generator<Int>(bufferSize: 3) { yield in
                for index in 0..<Stress.size(100) { _ = try await yield(input * 1_000_000 + index) }
            }
        }
        var perInput: [[Int]] = Array(repeating: [], count: 4)
        for await value in merge(inputs.map(\.channel)) {
            perInput[value / 1_000_000].append(value % 1_000_000)
        }
        for values in perInput {
            #expect(values == Array(0..<Stress.size(100)))
        }
    }

    @Test func a_future_computes_once_and_every_reader_gets_the_value() async throws {
        let runs = Counter()
        let answer = Future<Int> {
            runs.increment()
            try await sleep(for: .milliseconds(1))
            return 42
        }
        let readers = Sync.WaitGroup()
        let seen = Shared<[Int]>([])
        for _ in 0..<10 {
            readers.go { seen.append(try await answer.value) }
        }
        try await readers.wait()
        #expect(seen.value == Array(repeating: 42, count: 10))
        #expect(runs.value == 1)
        #expect(answer.isReady)
    }

    @Test func a_future_passes_its_error_to_every_reader() async throws {
        struct Failed: Error, Equatable {}
        let broken = Future<Int> { throw Failed() }
        await #expect(throws: Failed()) { try await broken.value }
        await #expect(throws: Failed()) { try await broken.value }
    }

    @Test func a_future_waits_in_a_select_beside_a_timeout() async throws {
        let gate = Chan<Void>()
        let slow = Future<String> {
            _ = try await gate.receive()
            return "done"
        }
        let first = try await select {
            slow.onReady { result in try result.get() }
            after(.milliseconds(5)) { "timeout" }
        }
        #expect(first == "timeout")
        try gate.close()
        // The timeout is only a hang guard here: under the thread sanitizer on
        // a loaded machine, the future's goroutine once took over a minute to
        // run after the gate opened.
        let second = try await select {
            slow.onReady { result in try result.get() }
            after(.seconds(3600)) { "timeout" }
        }
        #expect(second == "done")
    }

    @Test func stages_chain_into_the_seeds_prime_sieve() async throws {
        let naturals = Generator<Int> { yield in
            var next = 2
            while try await yield(next) { next += 1 }
        }
        var numbers = naturals.channel
        var primes: [Int] = []
        for _ in 0..<10 {
            let prime = try await numbers.receive()!
            primes.append(prime)
            numbers = stage(numbers) { $0 % prime == 0 ? nil : $0 }
        }
        #expect(primes == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29])
        naturals.stop()
    }

    @Test func a_stage_closes_its_output_when_its_input_closes() async throws {
        let input = Chan<Int>(capacity: 5)
        for value in 1...5 { try await input.send(value) }
        try input.close()
        var doubled: [String] = []
        for await value in stage(input.receiveOnly, { String($0 * 2) }) {
            doubled.append(value)
        }
        #expect(doubled == ["2", "4", "6", "8", "10"])
    }

    @Test func a_shared_variable_serialises_reads_and_writes_through_its_owner() async throws {
        let variable = SharedVariable(0)
        #expect(try await variable.get() == 0)
        try await variable.set(1)
        #expect(try await variable.get() == 1)
        // One writer counts up; concurrent readers never see it go back.
        let readers = Sync.WaitGroup()
        for _ in 0..<4 {
            readers.go {
                var last = 0
                for _ in 0..<50 {
                    let now = try await variable.get()
                    #expect(now >= last)
                    last = now
                }
            }
        }
        for value in 2...100 { try await variable.set(value) }
        try await readers.wait()
        #expect(try await variable.get() == 100)
    }

    // MARK: WorkPool

    @Test func a_work_pool_runs_every_task_on_its_fixed_workers() async throws {
        let pool = WorkPool(workers: 2)
        let tasks = 1_000
        let done = Counter()
        let peak = Shared(0)
        let submitters = Sync.WaitGroup()
        // A thousand goroutines submit at once to a pool of two.
        for _ in 0..<tasks {
            submitters.go {
                try await pool.run {
                    let now = pool.busyWorkers
                    peak.withLock { $0 = max($0, now) }
                    await GoRuntime.yield()
                    done.increment()
                }
            }
        }
        try await submitters.wait()
        await pool.shutdown()
        #expect(done.value == tasks, "shutdown waited for every task taken")
        #expect(peak.value <= 2)
        await #expect(throws: WorkPool.ShutDown.self) { try await pool.run {} }
    }

    @Test func run_returns_once_a_worker_has_taken_the_task() async throws {
        let pool = WorkPool(workers: 1)
        let gate = Chan<Void>()
        let started = Flag()
        try await pool.run {
            started.set()
            _ = try? await gate.receive()
        }
        // The only worker took it (run returned) and is busy with it now.
        try await waitUntil("the worker runs it") { started.isSet }
        #expect(pool.busyWorkers == 1)
        let second = Flag()
        go {
            try await pool.run {}
            second.set()
        }
        try await letOthersRun()
        #expect(!second.isSet, "nobody could take the second task yet")
        try gate.close()
        try await waitUntil("the second is taken") { second.isSet }
        await pool.shutdown()
    }

    // MARK: ResourcePool

    final class Connection: Sendable {
        let id: Int
        let closed = Flag()
        init(id: Int) { self.id = id }
    }

    @Test func a_resource_pool_reuses_keeps_at_most_its_capacity_and_closes_the_rest() async throws {
        let made = Counter()
        let pool = ResourcePool<Connection>(capacity: 2) {
            Connection(id: made.increment())
        } close: { connection in
            connection.closed.set()
        }
        let a = try await pool.acquire(), b = try await pool.acquire(), c = try await pool.acquire()
        #expect(made.value == 3)
        await pool.release(a)
        await pool.release(b)
        await pool.release(c)  // no room: closed
        #expect(pool.idleCount == 2)
        #expect(c.closed.isSet && !a.closed.isSet && !b.closed.isSet)
        let again = try await pool.acquire()
        #expect(again === a, "an idle one is reused, oldest first")
        #expect(made.value == 3)
        await pool.release(again)
        await pool.close()
        #expect(a.closed.isSet && b.closed.isSet)
        await #expect(throws: ResourcePool<Connection>.Closed.self) { _ = try await pool.acquire() }
        await pool.close()  // once only: harmless
    }

    @Test func a_resource_pool_under_a_thousand_goroutines_and_a_racing_close_loses_nothing() async throws {
        let made = Counter(), closedCount = Counter()
        let pool = ResourcePool<Connection>(capacity: 2) {
            Connection(id: made.increment())
        } close: { connection in
            if connection.closed.isSet { Issue.record("closed twice") }
            connection.closed.set()
            closedCount.increment()
        }
        let users = Sync.WaitGroup()
        let inUse = Shared<Set<Int>>([])
        for index in 0..<1_000 {
            users.go {
                guard let connection = try? await pool.acquire() else { return }
                let fresh = inUse.withLock { $0.insert(connection.id).inserted }
                #expect(fresh, "one connection handed to two users")
                await GoRuntime.yield()
                inUse.withLock { _ = $0.remove(connection.id) }
                await pool.release(connection)
                if index == 500 { await pool.close() }
            }
        }
        try await users.wait()
        await pool.close()
        // Every connection made was closed exactly once: by release (no room, or
        // the pool closed) or by close.
        #expect(closedCount.value == made.value)
    }

    @Test func overlapping_closes_both_return_after_every_idle_resource_is_closed_and_acquire_then_throws() async throws {
        // Repeated: the window between one close and the other is narrow.
        for round in 0..<Stress.size(50) {
            // Given a pool holding four idle resources, whose close takes a while
            let closedCount = Counter()
            let pool = ResourcePool<Connection>(capacity: 4) {
                Connection(id: 0)
            } close: { connection in
                await Task.yield()
                connection.closed.set()
                closedCount.increment()
            }
            var idle: [Connection] = []
            for _ in 0..<4 { idle.append(try await pool.acquire()) }
            for connection in idle { await pool.release(connection) }
            // When two callers close it at once
            let problems = Shared<[String]>([])
            await withTaskGroup(of: Void.self) { group in
                for caller in 0..<2 {
                    group.addTask {
                        await pool.close()
                        // Then each returns only once every idle resource is
                        // closed, and an acquire afterwards throws
                        if closedCount.value != 4 {
                            problems.append("round \(round): close \(caller) returned with \(closedCount.value) of 4 closed")
                        }
                        if (try? await pool.acquire()) != nil {
                            problems.append("round \(round): acquire after close \(caller) succeeded")
                        }
                    }
                }
            }
            #expect(problems.value.isEmpty, "\(problems.value.prefix(4))")
            #expect(closedCount.value == 4)
        }
    }

    // MARK: Runner

    @Test func a_runner_runs_its_tasks_in_order_with_their_ids() async throws {
        let runner = Runner(timeout: .seconds(60))
        let ids = Shared<[Int]>([])
        runner.add({ ids.append($0) }, { ids.append($0) })
        runner.add { ids.append($0) }
        try await runner.start()
        #expect(ids.value == [0, 1, 2])
    }

    @Test func a_runner_that_runs_out_of_time_reports_the_timeout() async throws {
        let runner = Runner(timeout: .milliseconds(20))
        let gate = Chan<Void>()
        runner.add { _ in _ = try? await gate.receive() }
        await #expect(throws: Runner.Failure.timeout) { try await runner.start() }
        try gate.close()  // let the abandoned task finish
    }

    @Test func a_runner_passes_on_a_tasks_error() async throws {
        struct Broken: Error, Equatable {}
        let runner = Runner(timeout: .seconds(60))
        let after = Flag()
        runner.add({ _ in throw Broken() }, { _ in after.set() })
        await #expect(throws: Broken()) { try await runner.start() }
        #expect(!after.isSet)
    }

    @Test func a_runner_stops_at_the_next_task_on_a_real_sigint_and_restores_it() async {
        // In a child process: the signal is real, sent to the process itself,
        // twice (they coalesce), while the first task runs.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let runner = Runner(timeout: .seconds(60))
            let ran = Shared<[Int]>([])
            runner.add({ id in
                ran.append(id)
                let before = InterruptSignal.count
                kill(getpid(), SIGINT)
                kill(getpid(), SIGINT)
                try await untilCounted(after: before)  // the task ends once the signals arrived
            }, { id in ran.append(id) })
            do {
                try await runner.start()
                exit(0)
            } catch Runner.Failure.interrupted {
                // Only the first task ran, and SIGINT's default action is back.
                var now = sigaction()
                sigaction(SIGINT, nil, &now)
                let restored = unsafeBitCast(now.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self)
                exit(ran.value == [0] && restored ? 2 : 3)
            } catch {
                exit(4)
            }
        }
    }

    @Test func runner_after_runner_in_one_process_each_catch_a_real_sigint() async {
        // The Dispatch source behind the runners is made once per process;
        // the handling it needs must come back for every later runner, and the
        // default action must be back between them.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            func isDefault() -> Bool {
                var now = sigaction()
                sigaction(SIGINT, nil, &now)
                return unsafeBitCast(now.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_DFL, to: Int.self)
            }
            for round in 0..<3 {
                let runner = Runner(timeout: .seconds(60))
                let ran = Shared<[Int]>([])
                runner.add({ id in
                    ran.append(id)
                    let before = InterruptSignal.count
                    kill(getpid(), SIGINT)
                    try await untilCounted(after: before)
                }, { id in ran.append(id) })
                do {
                    try await runner.start()
                    exit(Int32(10 + round))  // not interrupted
                } catch Runner.Failure.interrupted {
                    guard ran.value == [0], isDefault() else { exit(Int32(20 + round)) }
                } catch {
                    exit(4)
                }
            }
            exit(2)
        }
    }

    @Test func a_sigint_sent_while_a_runner_listened_never_ends_the_process_after_it_stopped() async {
        // A Ctrl-C sent while a runner listens is the runner's, even when the
        // kernel hands it to a thread only after the runner stopped listening
        // (under load a woken thread can wait milliseconds for a core). Busy
        // threads that never take SIGINT make those waits likely; every round
        // sends two signals, the second often still undelivered when the run
        // notices the first and puts the default action back.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            for _ in 0..<4 {
                startThread {
                    var mask = sigset_t()
                    sigemptyset(&mask)
                    sigaddset(&mask, SIGINT)
                    pthread_sigmask(SIG_BLOCK, &mask, nil)
                    var spin = 0
                    while true { spin &+= 1 }
                }
            }
            for round in 0..<Stress.size(200) {
                let runner = Runner(timeout: .seconds(60))
                runner.add({ _ in
                    let before = InterruptSignal.count
                    kill(getpid(), SIGINT)
                    kill(getpid(), SIGINT)
                    try await untilCounted(after: before)
                }, { _ in exit(Int32(5)) })
                do {
                    try await runner.start()
                    exit(3)
                } catch Runner.Failure.interrupted {
                    _ = round
                } catch {
                    exit(4)
                }
            }
            exit(2)
        }
    }

    @Test func a_runner_that_timed_out_takes_no_interrupt_from_the_next_one() async {
        // A's goroutine runs on after A timed out and checks for interrupts
        // before its next task; B's Ctrl-C must still stop B. Each step waits
        // for the one before: A's first task until A has timed out and B's
        // signal is counted, B's task until A's goroutine has looked (its
        // second task ran; had it taken B's interrupt, it would never run).
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let releaseA = Chan<Void>(), aLooked = Flag()
            let a = Runner(timeout: .milliseconds(50))
            a.add({ _ in _ = try await releaseA.receive() }, { _ in aLooked.set() })
            do { try await a.start(); exit(30) } catch Runner.Failure.timeout {} catch { exit(31) }
            let b = Runner(timeout: .seconds(60))
            b.add({ _ in
                let before = InterruptSignal.count
                kill(getpid(), SIGINT)
                try await untilCounted(after: before)
                try releaseA.close()
                try await waitUntil("A's goroutine looked for an interrupt") { aLooked.isSet }
            }, { _ in })
            do {
                try await b.start()
                exit(3)
            } catch Runner.Failure.interrupted {
                exit(2)
            } catch { exit(4) }
        }
    }

    @Test func runners_listening_at_once_each_stop_on_one_sigint() async {
        // Go: every signal.Notify channel gets the signal.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let sent = Chan<Void>(), firstListens = Flag()
            let first = Runner(timeout: .seconds(60)), second = Runner(timeout: .seconds(60))
            // The first runner's first task runs once it listens; the
            // signal waits for it (the two starts run concurrently, in no
            // set order: a signal before the first listened is not its).
            first.add({ _ in firstListens.set(); _ = try await sent.receive() }, { _ in exit(5) })
            second.add({ _ in
                try await waitUntil("the first runner listens") { firstListens.isSet }
                let before = InterruptSignal.count
                kill(getpid(), SIGINT)
                try await untilCounted(after: before)
                try sent.close()
            }, { _ in exit(6) })
            async let one: Void = first.start()
            async let two: Void = second.start()
            do { try await one; exit(7) } catch Runner.Failure.interrupted {} catch { exit(8) }
            do { try await two; exit(9) } catch Runner.Failure.interrupted { exit(2) } catch { exit(10) }
        }
    }

    @Test func a_runner_stops_on_sigint_when_the_process_already_has_a_sigint_source() async {
        // libdispatch then installs no handler of its own again: the runner's
        // source must still be ready when start has begun.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let other = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            other.setEventHandler {}
            other.resume()
            let registered = DispatchSemaphore(value: 0)
            other.setRegistrationHandler { registered.signal() }
            registered.wait()
            let runner = Runner(timeout: .seconds(60))
            runner.add({ _ in
                let before = InterruptSignal.count
                kill(getpid(), SIGINT)
                try await untilCounted(after: before)
            }, { _ in })
            do { try await runner.start(); exit(3) } catch Runner.Failure.interrupted { exit(2) } catch { exit(4) }
        }
    }

    // MARK: Dispatcher

    @Test func a_dispatchers_queue_depth_and_busy_workers_count_every_job_not_yet_done() async throws {
        // Two workers held on a gate, a queue of four: two jobs run, one waits
        // in the dispatcher's hands for a free worker, four wait in the queue.
        let gate = Chan<Void>()
        let ran = Counter()
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 4)) { _ in
            _ = try? await gate.receive()
            ran.increment()
        }
        dispatcher.start()
        for job in 0..<7 { try await dispatcher.submit(job) }
        try await waitUntil("two busy, five waiting") {
            dispatcher.busyWorkers == 2 && dispatcher.queueDepth == 5
        }
        try gate.close()
        try await waitUntil("all ran") { ran.value == 7 }
        await dispatcher.stop(.drain)
        #expect(dispatcher.busyWorkers == 0 && dispatcher.queueDepth == 0)
    }

    @Test func trySubmit_queues_while_there_is_room_and_refuses_a_full_queue_without_waiting() async throws {
        // Given one worker held on a gate and a queue of two, filled: one job
        // runs, one waits in the dispatcher's hands, two in the queue.
        let gate = Chan<Void>()
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 1, maxQueue: 2)) { job in
            _ = try? await gate.receive()
            ran.append(job)
        }
        dispatcher.start()
        #expect(try dispatcher.trySubmit(0))
        for job in 1...3 { try await dispatcher.submit(job) }
        try await waitUntil("one busy, three waiting") {
            dispatcher.busyWorkers == 1 && dispatcher.queueDepth == 3
        }
        // When a job is offered to the full queue, then it is refused at once.
        #expect(try !dispatcher.trySubmit(4))
        // When the jobs have run, then there is room again.
        try gate.close()
        try await waitUntil("the four queued jobs ran") { ran.value.count == 4 }
        #expect(try dispatcher.trySubmit(5))
        // Then the refused job never runs, every queued one runs once, and a
        // stopped dispatcher refuses with Stopped.
        #expect(await dispatcher.stop(.drain).isEmpty)
        #expect(ran.value.sorted() == [0, 1, 2, 3, 5])
        #expect(throws: Dispatcher<Int>.Stopped.self) { try dispatcher.trySubmit(6) }
    }

    @Test func a_dispatcher_runs_every_job_once_with_drain() async throws {
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 4, maxQueue: 16)) { job in
            ran.append(job)
        }
        dispatcher.start()
        let jobs = Stress.size(2_000)
        for job in 0..<jobs { try await dispatcher.submit(job) }
        let returned = await dispatcher.stop(.drain)
        #expect(returned.isEmpty)
        #expect(ran.value.sorted() == Array(0..<jobs))
        await #expect(throws: Dispatcher<Int>.Stopped.self) { try await dispatcher.submit(-1) }
    }

    @Test func a_dispatcher_stopped_midway_loses_no_job_and_runs_none_twice() async throws {
        // 100,000 jobs at GOCONCURRENCY_STRESS=full.
        let jobs = Stress.size(2_000)
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 8, maxQueue: 64)) { job in
            ran.append(job)
            if job % 7 == 0 { await GoRuntime.yield() }
        }
        dispatcher.start()
        let submitted = Counter()
        let producer = Chan<Void>(capacity: 1)
        go {
            for job in 0..<jobs {
                do { try await dispatcher.submit(job) } catch { break }
                submitted.increment()
            }
            try await producer.send(())
        }
        try await waitUntil("some jobs ran") { ran.value.count >= jobs / 4 }
        let returned = await dispatcher.stop(.returnQueued)
        _ = try await producer.receive()
        let all = (ran.value + returned).sorted()
        #expect(all == Array(0..<submitted.value), "every submitted job ran or came back, once")
        #expect(dispatcher.busyWorkers == 0)
        #expect(dispatcher.queueDepth == 0)
    }

    @Test func a_return_stop_wakes_a_dispatcher_waiting_for_a_busy_worker_and_hands_its_job_back() async throws {
        // One worker, busy until `gate` opens; the dispatcher holds job 2
        // while it waits for that worker, and jobs 3 and 4 are queued. A
        // `.returnQueued` stop must wake the dispatcher (the nil it puts in
        // the worker pool) so job 2 comes back instead of running once the
        // worker is free.
        let gate = Chan<Void>()
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 1, maxQueue: 8)) { job in
            ran.append(job)
            if job == 1 { _ = try? await gate.receive() }
        }
        dispatcher.start()
        for job in 1...4 { try await dispatcher.submit(job) }
        try await waitUntil("job 1 runs, job 2 is held, 3 and 4 are queued") {
            ran.value == [1] && dispatcher.queueDepth == 3
        }
        let stop = Task { await dispatcher.stop(.returnQueued) }
        // Held and queued jobs are set aside while the worker is still busy.
        try await waitUntil("the dispatcher set every job aside") { dispatcher.queueDepth == 0 }
        try gate.close()
        let returned = await stop.value
        #expect(returned == [2, 3, 4])
        #expect(ran.value == [1])
    }

    @Test func a_return_stop_of_a_never_started_dispatcher_hands_back_its_queue_and_ends_every_worker() async throws {
        // Given a dispatcher never started, three jobs queued: the stop's nil
        // reaches the worker pool before any worker, which then all register
        // (the pool's room for every worker and the nil).
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 3, maxQueue: 4)) { job in
            ran.append(job)
        }
        for job in 0..<3 { try await dispatcher.submit(job) }
        // When it is stopped handing back the queue, then every job comes
        // back, none ran, and the stop returns: its final loop skipped the nil
        // and closed all three workers.
        #expect(await dispatcher.stop(.returnQueued) == [0, 1, 2])
        #expect(ran.value.isEmpty)
        #expect(dispatcher.busyWorkers == 0 && dispatcher.queueDepth == 0)
    }

    @Test func a_return_stop_of_an_idle_dispatcher_ends_every_worker() async throws {
        // Given a started dispatcher that ran its jobs and waits for more,
        // every worker free in the pool.
        let ran = Counter()
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 2)) { _ in
            ran.increment()
        }
        dispatcher.start()
        for job in 0..<4 { try await dispatcher.submit(job) }
        try await waitUntil("all ran") { ran.value == 4 }
        // When it is stopped handing back the queue, then nothing comes back
        // and the stop returns (the nil it put behind the free workers is
        // skipped, not counted as a worker).
        #expect(await dispatcher.stop(.returnQueued).isEmpty)
        #expect(ran.value == 4)
    }

    @Test(arguments: [Dispatcher<Int>.StopMode.returnQueued, .drain])
    func overlapping_stops_hand_each_queued_job_to_one_place_only(other: Dispatcher<Int>.StopMode) async throws {
        // Repeated: the stops must overlap while jobs are still queued.
        for round in 0..<Stress.size(20) {
            // Given a dispatcher whose two workers wait on a gate, with a full queue
            let gate = Chan<Void>()
            let ran = Shared<[Int]>([])
            let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 32)) { job in
                _ = try? await gate.receive()
                ran.append(job)
            }
            dispatcher.start()
            let jobs = 2 + 1 + 32  // two running, one in the dispatcher's hands, a full queue
            for job in 0..<jobs { try await dispatcher.submit(job) }
            try await waitUntil("the workers are busy and the queue full") {
                dispatcher.busyWorkers == 2 && dispatcher.queueDepth == jobs - 2
            }
            // When a `.returnQueued` stop and another stop overlap
            let returned = Shared<[[Int]]>([])
            let drainReturned = Shared<[Int]>([])
            await withTaskGroup(of: Void.self) { group in
                group.addTask { returned.append(await dispatcher.stop(.returnQueued)) }
                group.addTask {
                    let jobs = await dispatcher.stop(other)
                    if other == .drain { drainReturned.withLock { $0.append(contentsOf: jobs) } } else { returned.append(jobs) }
                }
                group.addTask {
                    for _ in 0..<10 { await Task.yield() }  // most often after both stops began
                    try? gate.close()
                }
            }
            // Then every job ran or was handed back, exactly once, and a drain
            // handed back none
            let all = (ran.value + returned.value.flatMap { $0 } + drainReturned.value).sorted()
            #expect(all == Array(0..<jobs), "round \(round): \(all.count) jobs accounted for, \(jobs) submitted")
            #expect(drainReturned.value.isEmpty, "round \(round)")
            #expect(dispatcher.busyWorkers == 0 && dispatcher.queueDepth == 0)
            if all != Array(0..<jobs) { break }
        }
    }

    @Test func a_cancelled_stop_still_returns_only_once_every_job_has_run() async throws {
        // Given a dispatcher whose two workers wait on a gate, with jobs queued
        let gate = Chan<Void>()
        let ran = Shared<[Int]>([])
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 8)) { job in
            _ = try? await gate.receive()
            ran.append(job)
        }
        dispatcher.start()
        let jobs = 2 + 1 + 8
        for job in 0..<jobs { try await dispatcher.submit(job) }
        try await waitUntil("the workers are busy and the queue full") {
            dispatcher.busyWorkers == 2 && dispatcher.queueDepth == jobs - 2
        }
        // When a draining stop is cancelled while the workers still wait, and
        // a second stop comes after it
        let seenByFirst = Shared<Int?>(nil), seenBySecond = Shared<Int?>(nil)
        let first = Task {
            _ = await dispatcher.stop(.drain)
            seenByFirst.set(ran.value.count)
        }
        first.cancel()
        let second = Task {
            _ = await dispatcher.stop(.returnQueued)
            seenBySecond.set(ran.value.count)
        }
        // Then neither returns before the gate opens, and both see every job
        // run. (A stop cut short by its cancellation returned at once, before
        // the gate opened: give it that chance, a bounded number of turns.)
        for _ in 0..<2_000 where seenByFirst.value == nil { await Task.yield() }
        #expect(seenByFirst.value == nil && seenBySecond.value == nil)
        try gate.close()
        await first.value
        await second.value
        #expect(seenByFirst.value == jobs)
        #expect(seenBySecond.value == jobs)
    }

    @Test func dispatcher_configuration_comes_from_the_environment_with_clear_errors() throws {
        let good = try Dispatcher<Int>.Configuration.fromEnvironment(["MAX_WORKERS": "3", "MAX_QUEUE": "50"])
        #expect(good == .init(maxWorkers: 3, maxQueue: 50))
        let defaults = try Dispatcher<Int>.Configuration.fromEnvironment([:])
        #expect(defaults.maxWorkers == GoRuntime.usableCores && defaults.maxQueue == 100)
        #expect(throws: Dispatcher<Int>.Configuration.InvalidValue.self) {
            try Dispatcher<Int>.Configuration.fromEnvironment(["MAX_WORKERS": "many"])
        }
        do {
            _ = try Dispatcher<Int>.Configuration.fromEnvironment(["MAX_QUEUE": "0"])
            Issue.record("0 accepted")
        } catch let error as Dispatcher<Int>.Configuration.InvalidValue {
            #expect(error.description == "MAX_QUEUE must be a positive integer, got \"0\"")
        }
    }
}

/// Returns once a SIGINT sent after `before` (an `InterruptSignal.count`)
/// has been counted: what a task that sends itself Ctrl-C waits for before it
/// ends, instead of a guess at how long delivery takes.
private func untilCounted(after before: UInt64) async throws {
    while InterruptSignal.count == before {
        try await sleep(for: .milliseconds(1))
    }
}
