// Where Go takes a context, so do the patterns: work handed the pool's or the
// dispatcher's context learns when a shutdown's grace runs out, a Runner's
// tasks see its timeout and interrupt in `runner.context`, and Ctrl-C
// cancels the context of `Context.withInterrupt` (Go's signal.NotifyContext).

import Foundation
import Testing
@testable import GoConcurrency

@Suite("Patterns: their contexts", .timeLimit(Stress.timeLimit))
struct PatternContextTests {
    struct Reason: Error, Equatable { let text: String }

    @Test func work_pool_work_sees_the_context_cancelled_when_the_grace_runs_out() async throws {
        let pool = WorkPool(workers: 1)
        let started = Chan<Void>(capacity: 1)
        let causes = Chan<String>(capacity: 1)
        try await pool.run { ctx in
            try? await started.send(())
            for await _ in ctx.done {}
            try? await causes.send("\(ctx.cause!)")
        }
        _ = try await started.receive()
        await pool.shutdown(grace: .milliseconds(10))
        #expect(try await causes.receive() == "\(WorkPool.ShutDown())")
    }

    @Test func work_pool_work_runs_on_through_a_shutdown_without_grace() async throws {
        let (parent, cancelParent) = Context.background.withCancelCause()
        let pool = WorkPool(workers: 1, context: parent)
        let started = Chan<Void>(capacity: 1)
        let release = Chan<Void>()
        let seen = Chan<String>(capacity: 2)
        try await pool.run { ctx in
            try? await started.send(())
            _ = try? await release.receive()
            try? await seen.send(ctx.err.map { "\($0)" } ?? "running")
        }
        _ = try await started.receive()
        let shutdown = Task { await pool.shutdown() }
        try await letOthersRun()
        try release.close()
        await shutdown.value
        #expect(try await seen.receive() == "running", "a shutdown without grace lets work finish")

        // The parent's cancellation reaches the work of a pool made under it.
        let second = WorkPool(workers: 1, context: parent)
        try await second.run { ctx in
            for await _ in ctx.done {}
            try? await seen.send("\(ctx.cause!)")
        }
        cancelParent(Reason(text: "request gone"))
        #expect(try await seen.receive() == "\(Reason(text: "request gone"))")
        await second.shutdown()
    }

    @Test func dispatcher_jobs_see_their_context_cancelled_when_the_stop_grace_runs_out() async throws {
        let started = Chan<Int>(capacity: 2)
        let causes = Chan<String>(capacity: 2)
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 4)) { job, ctx in
            try? await started.send(job)
            for await _ in ctx.done {}
            try? await causes.send("\(job): \(ctx.cause!)")
        }
        dispatcher.start()
        try await dispatcher.submit(1)
        try await dispatcher.submit(2)
        _ = try await started.receive()
        _ = try await started.receive()
        let returned = await dispatcher.stop(.drain, grace: .milliseconds(10))
        #expect(returned.isEmpty)
        let got = [try await causes.receive()!, try await causes.receive()!].sorted()
        #expect(got == ["1: \(Dispatcher<Int>.Stopped())", "2: \(Dispatcher<Int>.Stopped())"])
    }

    @Test func dispatcher_jobs_finish_unhurried_without_grace() async throws {
        let seen = Chan<String>(capacity: 1)
        let release = Chan<Void>()
        let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 1, maxQueue: 1)) { _, ctx in
            _ = try? await release.receive()
            try? await seen.send(ctx.err.map { "\($0)" } ?? "running")
        }
        dispatcher.start()
        try await dispatcher.submit(1)
        let stop = Task { await dispatcher.stop(.drain) }
        try await letOthersRun()
        try release.close()
        _ = await stop.value
        #expect(try await seen.receive() == "running")
    }

    @Test func a_runners_context_is_done_at_its_timeout_with_the_timeout_as_cause() async throws {
        let runner = Runner(timeout: .milliseconds(20))
        let causes = Chan<String>(capacity: 1)
        let release = Chan<Void>()
        runner.add { [runner] _ in
            for await _ in runner.context.done {}
            try await causes.send("\(runner.context.err!) / \(runner.context.cause!)")
            // Still running, so the run can only have ended by its timeout.
            _ = try await release.receive()
        }
        await #expect(throws: Runner.Failure.timeout) { try await runner.start() }
        #expect(try await causes.receive() == "context deadline exceeded / received timeout")
        try release.close()
    }

    @Test func a_runner_under_a_cancelled_context_gives_up_at_once() async throws {
        let (parent, cancel) = Context.background.withCancel()
        let runner = Runner(timeout: .seconds(600), context: parent)
        let entered = Chan<Void>(capacity: 1)
        let never = Chan<Void>()
        runner.add { _ in
            try await entered.send(())
            _ = try await never.receive()
        }
        let run = Task { try await runner.start() }
        _ = try await entered.receive()
        cancel()
        await #expect(throws: ContextError.canceled) { try await run.value }
        #expect(runner.context.err == .canceled)
        try never.close()
    }

    @Test func ctrl_c_cancels_a_runners_context_at_once_and_the_run_at_the_next_task() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let runner = Runner(timeout: .seconds(60))
            runner.add({ [runner] _ in
                kill(getpid(), SIGINT)
                // The task sees it while it runs, before any task boundary.
                for await _ in runner.context.done {}
                if runner.context.cause as? Runner.Failure != .interrupted { exit(3) }
            }, { _ in exit(4) })
            do {
                try await runner.start()
                exit(5)
            } catch Runner.Failure.interrupted {
                exit(2)
            } catch { exit(6) }
        }
    }

    @Test func ctrl_c_cancels_a_context_made_with_with_interrupt_and_stop_releases_it() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            let (ctx, stop) = Context.background.withInterrupt()
            let (child, _) = ctx.withCancel()
            kill(getpid(), SIGINT)
            for await _ in child.done {}
            guard ctx.err == .canceled, child.cause as? InterruptReceived == InterruptReceived(),
                "\(child.cause!)" == "interrupt signal received"
            else { exit(3) }
            stop()
            stop()
            let (other, stopOther) = Context.background.withInterrupt()
            stopOther()
            if other.err != .canceled || other.cause as? InterruptReceived != nil { exit(4) }
            exit(2)
        }
    }

    @Test func a_goroutine_waiting_for_ctrl_c_on_a_with_interrupt_context_is_not_a_deadlock() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .exitCode(2)) {
            // SIGINT comes from outside the runtime: a goroutine waiting for
            // it alone is waiting for the outside, as one on a socket is.
            let signalled = Locked(false)
            do {
                try await GoRuntime.run {
                    let (ctx, stop) = Context.background.withInterrupt()
                    defer { stop() }
                    DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) {
                        signalled.withLock { $0 = true }
                        kill(getpid(), SIGINT)
                    }
                    for await _ in ctx.done {}
                    if ctx.cause as? InterruptReceived == nil { exit(3) }
                }
            } catch is Deadlock {
                // Reported before the SIGINT: what the check must not do.
                exit(signalled.withLock { $0 } ? 5 : 4)
            } catch { exit(6) }
            exit(2)
        }
    }
}
