// Go's context rules (Guarantees, rules 39-44),
// each on a runtime of its own: deadlines on a `ManualClock` runtime, so they
// pass exactly when the test moves the clock; cancellation order, causes,
// AfterFunc, value lookup, the links and timers a cancelled context lets go,
// the join with Swift's task cancellation, and a storm of contexts.

import Foundation
import Synchronization
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Context", .timeLimit(Stress.timeLimit))
struct ContextTests {
    struct Reason: Error, Equatable { let text: String }
    enum RequestID: ContextKey { typealias Value = String }
    enum UserID: ContextKey { typealias Value = Int }

    /// A runtime with a clock of its own (deadlines made by its goroutines
    /// count that clock), and a way to run code as one of its goroutines.
    static func manualRuntime() -> (ManualClock, GoRuntime) { ManualClockTests.makeRuntime() }

    static func onRuntime<T: Sendable>(_ runtime: GoRuntime, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await ManualClockTests.onRuntime(runtime, body)
    }

    static func isClosed(_ done: ReceiveOnlyChan<Void>) -> Bool {
        if case .closed = done.tryReceive() { return true }
        return false
    }

    static func isEmpty(_ done: ReceiveOnlyChan<Void>) -> Bool {
        if case .empty = done.tryReceive() { return true }
        return false
    }

    // MARK: Background

    @Test func background_is_never_done_and_has_no_deadline_or_values() {
        for root in [Context.background, Context.todo] {
            #expect(root.err == nil)
            #expect(root.cause == nil)
            #expect(root.deadline == nil)
            #expect(root.value(RequestID.self) == nil)
            #expect(Self.isEmpty(root.done))
        }
        #expect("\(Context.background)" == "context.Background")
        #expect("\(Context.todo.withCancel().0)" == "context.TODO.WithCancel")
    }

    @Test func a_goroutine_waiting_on_a_context_that_is_never_done_is_a_deadlock() async throws {
        await #expect(throws: Deadlock.self) {
            try await GoRuntime.run {
                _ = try await Context.background.done.receive()
            }
        }
    }

    @Test func a_goroutine_waiting_on_a_child_of_a_context_made_outside_is_no_deadlock() async throws {
        // The parent is made outside the runtime, so its cancel may come from
        // there; the child is made by the goroutine, but its parent can close
        // its done channel: the goroutine waits for the outside.
        let (root, cancelRoot) = Context.background.withCancel()
        let canceller = Task {
            try await Task.sleep(for: .milliseconds(100))
            cancelRoot()
        }
        try await GoRuntime.run {
            let (ctx, cancel) = root.withCancel()
            defer { cancel() }
            for await _ in ctx.done {}
        }
        try await canceller.value
        #expect(root.err == .canceled)

        // A parent the runtime's goroutines made, and that only they can
        // cancel, shares nothing: a wait on its child is still a deadlock.
        await #expect(throws: Deadlock.self) {
            try await GoRuntime.run {
                let (parent, cancelParent) = Context.background.withCancel()
                defer { cancelParent() }
                let (ctx, cancel) = parent.withValue(UserID.self, 1).withCancel()
                defer { cancel() }
                for await _ in ctx.done {}
            }
        }
    }

    // MARK: Cancellation

    @Test func rule40_cancel_closes_done_and_sets_err_and_cause_once() throws {
        let (ctx, cancel) = Context.background.withCancel()
        #expect(ctx.err == nil)
        #expect(!Self.isClosed(ctx.done))
        cancel()
        #expect(Self.isClosed(ctx.done))
        #expect(ctx.err == .canceled)
        #expect(ctx.cause as? ContextError == .canceled)
        cancel()  // again: nothing changes
        #expect(ctx.err == .canceled)
        #expect(throws: ContextError.canceled) { try ctx.checkDone() }
    }

    @Test func rule39_cancelling_a_parent_cancels_every_descendant_before_cancel_returns_and_never_the_other_way() {
        let (root, cancelRoot) = Context.background.withCancel()
        let (child, cancelChild) = root.withCancel()
        let valued = child.withValue(RequestID.self, "r-1")
        let (grandchild, _) = valued.withTimeout(.seconds(3600))
        let (sibling, _) = root.withCancelCause()

        cancelChild()
        #expect(child.err == .canceled && valued.err == .canceled && grandchild.err == .canceled)
        #expect(root.err == nil, "a child never cancels its parent")
        #expect(sibling.err == nil)

        cancelRoot()
        #expect(root.err == .canceled)
        #expect(sibling.err == .canceled, "done before cancel returned")
        #expect(Self.isClosed(sibling.done))
        #expect(grandchild.err == .canceled, "cancelled by its parent first, not by its own deadline later")
    }

    @Test func rule39_overlapping_cancels_each_return_with_everything_below_done() async throws {
        // A parent's cancel that finds a child already being cancelled (by the
        // child's own cancel, on another thread) still returns only once every
        // grandchild is done, and `err` is set exactly when `done` is closed.
        let rounds = Stress.size(200)
        var late = 0
        for _ in 0..<rounds {
            let (parent, cancelParent) = Context.background.withCancel()
            let (child, cancelChild) = parent.withCancel()
            let grandchildren = (0..<200).map { _ in child.withCancel().0 }
            let go = Flag()
            let childCancelled = Flag()
            startThread {
                while !go.isSet {}
                cancelChild()
                childCancelled.set()
            }
            go.set()
            while child.err == nil {}  // the child's cancel is under way
            cancelParent()
            late += grandchildren.filter { $0.err == nil || !Self.isClosed($0.done) }.count
            while !childCancelled.isSet {}
        }
        #expect(late == 0)
    }

    @Test func rule40_overlapping_cancels_give_each_context_its_parents_cause() {
        // A grandchild is cancelled with its parent's err and cause (Go: a
        // parent cancels its children with its own), also when the cancel
        // that reaches it first is its grandparent's, which found the parent
        // done already with a cause of its own. The parent's own cancel is
        // held at its first grandchild until the grandparent's has returned,
        // so the grandparent's reaches the others first.
        let (grandparent, cancelGrandparent) = Context.background.withCancelCause()
        let (parent, cancelParent) = grandparent.withCancelCause()
        let children = (0..<50).map { _ in parent.withCancel().0 }
        let grandparentReturned = Flag()
        for child in children {
            _ = child.whenDone {
                if Thread.current.name == "parent's cancel" { while !grandparentReturned.isSet {} }
            }
        }
        let parentCancelled = Flag()
        startThread {
            Thread.current.name = "parent's cancel"
            cancelParent(Reason(text: "parent"))
            parentCancelled.set()
        }
        while parent.err == nil {}  // the parent's cancel is under way
        cancelGrandparent(Reason(text: "grandparent"))
        grandparentReturned.set()
        while !parentCancelled.isSet {}
        let causes = children.map { ($0.cause as? Reason)?.text ?? "none" }
        #expect(causes.allSatisfy { $0 == "parent" }, "\(causes)")
        #expect(grandparent.canceller!.links.children == 0 && parent.canceller!.links.children == 0)
    }

    @Test func overlapping_cancels_makes_and_stops_leave_every_context_done_with_its_parents_reason_and_unlinked() {
        // A root's cancel, its middles' own cancels, and a thread that keeps
        // making children of the middles (with a timer and an AfterFunc it
        // stops or not), all at once: afterwards every context is done with
        // `done` closed, has its parent's cause unless it was cancelled on
        // its own first, and holds no child, function or timer.
        let rounds = Stress.size(50)
        var wrong: [String] = []
        for round in 0..<rounds {
            let (root, cancelRoot) = Context.background.withCancelCause()
            let middles = (0..<4).map { _ in root.withCancelCause() }
            let leaves = Shared<[Context]>([])
            for (middle, _) in middles {
                for _ in 0..<50 { leaves.append(middle.withTimeout(.seconds(3600)).0) }
            }
            let go = Flag()
            let finished = Counter()
            for (index, (_, cancel)) in middles.enumerated() where index % 2 == 0 {
                startThread {
                    while !go.isSet {}
                    cancel(Reason(text: "middle \(index)"))
                    finished.increment()
                }
            }
            startThread {
                while !go.isSet {}
                var made = 0
                while made < 200 {
                    let (middle, _) = middles[made % middles.count]
                    let (leaf, _) = middle.withTimeout(.seconds(3600))
                    let stop = leaf.whenDone {}
                    if made % 2 == 0 { _ = stop() }
                    leaves.append(leaf)
                    made += 1
                }
                finished.increment()
            }
            go.set()
            cancelRoot(Reason(text: "root"))
            for (middle, _) in middles where middle.err == nil || !Self.isClosed(middle.done) {
                wrong.append("round \(round): a middle is not done when the root's cancel returns")
            }
            while finished.value < 3 {}
            for (index, (middle, _)) in middles.enumerated() {
                let cause = (middle.cause as? Reason)?.text
                if cause != "root" && cause != "middle \(index)" { wrong.append("middle \(index): \(cause ?? "none")") }
                if middle.canceller!.links != (0, 0, false) { wrong.append("middle \(index) keeps \(middle.canceller!.links)") }
            }
            for leaf in leaves.value {
                let middle = leaf.parent!
                if leaf.err == nil || !Self.isClosed(leaf.done) { wrong.append("a leaf is not done") }
                if (leaf.cause as? Reason) != (middle.cause as? Reason) { wrong.append("a leaf has another cause than its parent") }
                if leaf.canceller!.links != (0, 0, false) { wrong.append("a leaf keeps \(leaf.canceller!.links)") }
            }
            if root.canceller!.links != (0, 0, false) { wrong.append("the root keeps \(root.canceller!.links)") }
        }
        let problems = wrong.count
        #expect(problems == 0, "\(wrong.prefix(10))")
    }

    @Test func rule39_a_parent_is_done_before_its_children_in_one_cancellation() {
        let order = Shared<[String]>([])
        let (root, cancel) = Context.background.withCancel()
        let (child, _) = root.withCancel()
        let (grandchild, _) = child.withCancel()
        for (name, ctx) in [("grandchild", grandchild), ("child", child), ("root", root)] {
            _ = ctx.whenDone {
                order.append("\(name) done=\(Self.isClosed(ctx.done))")
            }
        }
        cancel()
        #expect(order.value == ["root done=true", "child done=true", "grandchild done=true"])
    }

    @Test func rule39_a_child_of_a_done_parent_is_done_when_made() {
        let (parent, cancel) = Context.background.withCancelCause()
        cancel(Reason(text: "shutting down"))
        let (child, _) = parent.withCancel()
        #expect(child.err == .canceled)
        #expect(child.cause as? Reason == Reason(text: "shutting down"))
        #expect(parent.canceller!.links.children == 0)
    }

    @Test func rule40_a_cancel_cause_reaches_the_children_and_nil_means_canceled() {
        let (parent, cancel) = Context.background.withCancelCause()
        let (child, _) = parent.withCancel()
        let valued = child.withValue(UserID.self, 7)
        cancel(Reason(text: "client went away"))
        #expect(parent.err == .canceled)
        #expect(parent.cause as? Reason == Reason(text: "client went away"))
        #expect(valued.cause as? Reason == Reason(text: "client went away"))

        let (other, cancelOther) = Context.background.withCancelCause()
        cancelOther(nil)
        #expect(other.cause as? ContextError == .canceled)
    }

    @Test func rule41_a_cancelled_child_leaves_its_parent_and_is_released() {
        let (parent, cancelParent) = Context.background.withCancel()
        defer { cancelParent() }
        weak var released: ContextCanceller?
        do {
            let (child, cancel) = parent.withTimeout(.seconds(3600))
            let stop = child.afterFunc {}
            released = child.canceller
            #expect(parent.canceller!.links.children == 1)
            #expect(child.canceller!.links == (0, 1, true))
            _ = stop()
            #expect(child.canceller!.links == (0, 0, true))
            cancel()
            #expect(child.canceller!.links == (0, 0, false), "its timer is let go")
            #expect(parent.canceller!.links.children == 0, "and its link to the parent")
        }
        #expect(released == nil, "nothing keeps a cancelled context nobody holds")
    }

    // MARK: Deadlines on a manual clock

    @Test func rule41_a_timeout_passes_exactly_when_the_clock_reaches_it() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let start = clock.now
        let (ctx, cancel) = try await Self.onRuntime(runtime) { Context.background.withTimeout(.seconds(2)) }
        defer { cancel() }
        #expect(ctx.deadline == start + .seconds(2))
        #expect(clock.pendingTimers == 1)
        clock.advance(by: .milliseconds(1999))
        try await letOthersRun()
        #expect(ctx.err == nil, "not due yet")
        clock.advance(by: .milliseconds(1))
        try await waitUntil("the deadline cancels it") { ctx.err != nil }
        #expect(ctx.err == .deadlineExceeded)
        #expect(ctx.cause as? ContextError == .deadlineExceeded)
        #expect(Self.isClosed(ctx.done))
        #expect(clock.pendingTimers == 0)
    }

    @Test func rule40_a_deadline_cause_is_reported_when_the_deadline_passes_but_not_on_cancel() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let (timed, cancelTimed, cancelled, cancelCancelled) = try await Self.onRuntime(runtime) {
            let deadline = clock.now + .seconds(1)
            let (a, cancelA) = Context.background.withDeadline(deadline, cause: Reason(text: "slow backend"))
            let (b, cancelB) = Context.background.withTimeout(.seconds(1), cause: Reason(text: "slow backend"))
            return (a, cancelA, b, cancelB)
        }
        cancelCancelled()
        #expect(cancelled.err == .canceled)
        #expect(cancelled.cause as? ContextError == .canceled, "the cancel function sets no cause")
        clock.advance(by: .seconds(1))
        try await waitUntil("the deadline passes") { timed.err != nil }
        #expect(timed.err == .deadlineExceeded)
        #expect(timed.cause as? Reason == Reason(text: "slow backend"))
        cancelTimed()
        #expect(timed.err == .deadlineExceeded, "done once: a later cancel changes nothing")
    }

    @Test func rule41_a_child_never_outlives_its_parents_deadline() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let (parent, longer, shorter, cancelParent) = try await Self.onRuntime(runtime) {
            let (parent, cancel) = Context.background.withTimeout(.seconds(2))
            let (longer, _) = parent.withTimeout(.seconds(5))
            let (shorter, _) = parent.withTimeout(.seconds(1))
            return (parent, longer, shorter, cancel)
        }
        defer { cancelParent() }
        #expect(longer.deadline == parent.deadline, "the earlier deadline is kept")
        #expect(shorter.deadline! < parent.deadline!)
        #expect(clock.pendingTimers == 2, "the longer child arms no timer of its own")
        clock.advance(by: .seconds(1))
        try await waitUntil("the shorter child's deadline passes") { shorter.err != nil }
        #expect(parent.err == nil && longer.err == nil)
        clock.advance(by: .seconds(1))
        // The timer's cancellation runs on a processor: seen from here, the
        // parent may be done a moment before its children.
        try await waitUntil("the parent's deadline passes") { parent.err != nil && longer.err != nil }
        #expect(longer.err == .deadlineExceeded, "cancelled by the parent with its reason")
        #expect(clock.pendingTimers == 0)
    }

    @Test func rule41_a_deadline_already_past_is_done_at_once_and_arms_nothing() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let ctx = try await Self.onRuntime(runtime) {
            Context.background.withDeadline(clock.now - .seconds(1)).0
        }
        #expect(ctx.err == .deadlineExceeded)
        #expect(clock.pendingTimers == 0)
    }

    @Test func rule41_cancel_before_the_deadline_leaves_no_timer() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let (ctx, cancel) = try await Self.onRuntime(runtime) { Context.background.withTimeout(.seconds(10)) }
        #expect(clock.pendingTimers == 1)
        cancel()
        #expect(ctx.err == .canceled)
        #expect(clock.pendingTimers == 0)
        clock.advance(by: .seconds(20))
        try await letOthersRun()
        #expect(ctx.err == .canceled, "the old deadline does nothing")
    }

    // MARK: Values

    @Test func rule43_values_are_found_through_the_chain_typed_and_the_nearest_wins() {
        let (cancelled, cancel) = Context.background.withCancel()
        let ctx = cancelled
            .withValue(RequestID.self, "r-1")
            .withValue(UserID.self, 42)
        let shadowed = ctx.withTimeout(.seconds(3600)).0.withValue(RequestID.self, "r-2")
        #expect(ctx.value(RequestID.self) == "r-1")
        #expect(ctx.value(UserID.self) == 42)
        #expect(shadowed.value(RequestID.self) == "r-2")
        #expect(shadowed.value(UserID.self) == 42)
        #expect(Context.background.value(UserID.self) == nil)
        #expect("\(ctx)" == "context.Background.WithCancel.WithValue(RequestID, r-1).WithValue(UserID, 42)")
        cancel()
        #expect(ctx.err == .canceled, "a value link is done with its parent")
    }

    @Test func rule43_without_cancel_keeps_values_but_is_never_done() {
        let (parent, cancel) = Context.background.withTimeout(.seconds(3600))
        let detached = parent.withValue(RequestID.self, "r-9").withoutCancel()
        let (child, cancelChild) = detached.withCancel()
        defer { cancelChild() }
        cancel()
        #expect(parent.err == .canceled)
        #expect(detached.err == nil && detached.cause == nil && detached.deadline == nil)
        #expect(child.err == nil, "nothing above it can cancel it")
        #expect(detached.value(RequestID.self) == "r-9")
        #expect(Self.isEmpty(detached.done))
    }

    // MARK: AfterFunc

    @Test func rule42_after_func_starts_once_as_a_goroutine_when_done() async throws {
        let runs = Chan<Int>(capacity: 4)
        let (ctx, cancel) = Context.background.withCancel()
        let stop = ctx.afterFunc {
            try await runs.send(1)
        }
        cancel()
        cancel()
        #expect(try await runs.receive() == 1)
        #expect(stop() == false, "it has started")
        try await letOthersRun()
        #expect(runs.count == 0, "once")
    }

    @Test func rule42_after_func_stopped_first_never_starts() async throws {
        let started = Flag()
        let (ctx, cancel) = Context.background.withCancel()
        let stop = ctx.afterFunc { started.set() }
        #expect(stop() == true)
        #expect(stop() == false, "stopped already")
        cancel()
        try await letOthersRun()
        #expect(!started.isSet)
    }

    @Test func rule42_after_func_on_a_done_context_starts_at_once_and_never_on_background() async throws {
        let runs = Chan<String>(capacity: 2)
        let (ctx, cancel) = Context.background.withCancel()
        cancel()
        ctx.afterFunc { try await runs.send("done") }
        #expect(try await runs.receive() == "done")
        let stop = Context.background.afterFunc { try await runs.send("never") }
        try await letOthersRun()
        #expect(runs.count == 0)
        #expect(stop() == true)
    }

    @Test func rule42_after_func_on_a_deadline_runs_on_the_manual_clock_runtime() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let runs = Chan<Bool>(capacity: 1)
        let cancel = try await Self.onRuntime(runtime) {
            let (ctx, cancel) = Context.background.withTimeout(.seconds(1))
            ctx.afterFunc {
                try await runs.send(Goroutine.current?.runtime === runtime)
            }
            return cancel
        }
        defer { cancel() }
        clock.advance(by: .seconds(1))
        #expect(try await runs.receive() == true)
    }

    // MARK: done as a channel

    @Test func done_works_in_select_and_for_await() async throws {
        let (ctx, cancel) = Context.background.withCancel()
        let ended = Chan<String>(capacity: 2)
        let work = Chan<Int>()
        go {
            for await _ in ctx.done {}
            try await ended.send("for await")
        }
        go {
            while true {
                let stop = try await select {
                    work.onReceive { _ in false }
                    ctx.done.onReceive { _ in true }
                }
                if stop { break }
            }
            try await ended.send("select")
        }
        try await work.send(1)
        cancel()
        let first = try await ended.receive()
        let second = try await ended.receive()
        #expect(Set([first, second]) == ["for await", "select"])
    }

    // MARK: Swift's task cancellation, both ways

    @Test func rule44_the_current_tasks_cancellation_cancels_the_context() async throws {
        let entered = Chan<Context>(capacity: 1)
        let task = Task {
            try await Context.withCurrentTask { ctx in
                try await entered.send(ctx)
                _ = try? await ctx.done.receive()
                return ctx.cause is CancellationError
            }
        }
        let ctx = try #require(try await entered.receive())
        #expect(ctx.err == nil)
        task.cancel()
        #expect(try await task.value == true)
        #expect(ctx.err == .canceled)
    }

    @Test func rule44_with_current_task_cancels_its_context_when_the_body_returns() async throws {
        let (parent, cancel) = Context.background.withCancel()
        defer { cancel() }
        let kept = try await Context.withCurrentTask(parent) { ctx in
            #expect(ctx.err == nil)
            return ctx
        }
        #expect(kept.err == .canceled)
        #expect(parent.err == nil)
        #expect(parent.canceller!.links.children == 0)
    }

    @Test func rule44_a_body_run_under_a_context_is_cancelled_with_it() async throws {
        let (ctx, cancel) = Context.background.withCancel()
        let waiting = Chan<Void>(capacity: 1)
        let never = Chan<Int>()
        let runner = Task {
            try await ctx.run { () async throws -> Bool in
                #expect(!Task.isCancelled)
                try await waiting.send(())
                do {
                    _ = try await never.receive()
                    return false
                } catch is CancellationError {
                    return Task.isCancelled
                }
            }
        }
        _ = try await waiting.receive()
        cancel()
        #expect(try await runner.value == true)
    }

    @Test func rule44_a_deadline_cancels_a_body_run_under_it() async throws {
        let (clock, runtime) = Self.manualRuntime()
        let (ctx, cancel) = try await Self.onRuntime(runtime) { Context.background.withTimeout(.seconds(5)) }
        defer { cancel() }
        let runner = Task {
            try await ctx.run {
                while !Task.isCancelled { try await Task.sleep(for: .milliseconds(1)) }
                try Task.checkCancellation()
            }
        }
        clock.advance(by: .seconds(5))
        await #expect(throws: CancellationError.self) { try await runner.value }
        #expect(ctx.err == .deadlineExceeded)
    }

    @Test func rule44_a_body_run_under_a_context_returns_its_value_and_leaves_nothing() async throws {
        try await GoRuntime.checkingLeaks {
            let (ctx, cancel) = Context.background.withCancel()
            defer { cancel() }
            let answer = try await ctx.run { 41 + 1 }
            #expect(answer == 42)
            let plain = try await Context.background.run { "plain" }
            #expect(plain == "plain")
            await #expect(throws: Reason(text: "failed")) {
                try await ctx.run { throw Reason(text: "failed") }
            }
            #expect(ctx.canceller!.links == (0, 0, false))
        }
    }

    /// State an actor keeps while it works under a context.
    actor Crawler {
        var visited: [String] = []

        func crawl(_ pages: [String], stoppingAt stop: Int) async throws -> [String] {
            try await Context.withCurrentTask { ctx in
                let (local, cancel) = ctx.withCancel()
                for (index, page) in pages.enumerated() {
                    if index == stop { cancel() }
                    if local.err != nil { break }
                    visited.append(page)  // the actor's own state, inside the body
                }
                return try await local.run { [visited] in visited }
            }
        }
    }

    @Test func contexts_work_inside_an_actor_with_its_isolation() async throws {
        let crawler = Crawler()
        let seen = try await crawler.crawl(["a", "b", "c", "d"], stoppingAt: 2)
        #expect(seen == ["a", "b"])
        #expect(await crawler.visited == ["a", "b"])
    }

    // MARK: The error group's context (Go: errgroup.WithContext)

    @Test func an_error_groups_first_error_cancels_its_context_with_that_cause_and_the_others() async throws {
        let (group, ctx) = Sync.ErrorGroup.withContext(.background)
        let never = Chan<Void>()
        let stopped = Chan<String>(capacity: 1)
        group.go {
            do {
                _ = try await never.receive()
            } catch {
                try? await stopped.send("\(type(of: error)), ctx: \(ctx.err.map { "\($0)" } ?? "live")")
                throw error
            }
        }
        group.go { throw Reason(text: "fetch failed") }
        await #expect(throws: Reason(text: "fetch failed")) { try await group.wait() }
        #expect(try await stopped.receive() == "CancellationError, ctx: context canceled")
        #expect(ctx.cause as? Reason == Reason(text: "fetch failed"))
    }

    @Test func a_member_cancelled_by_a_failure_finds_the_groups_context_done() async throws {
        // The failing member and the waiting one are on different
        // processors: the waiting one wakes while the failure is handled.
        var live = 0
        for _ in 0..<Stress.size(200) {
            let (group, ctx) = Sync.ErrorGroup.withContext(.background)
            let never = Chan<Void>()
            let seen = Chan<Bool>(capacity: 1)
            group.go {
                do {
                    _ = try await never.receive()
                } catch {
                    try? await seen.send(ctx.err == nil)
                    throw error
                }
            }
            try await waitUntil("the member waits") { never.parkedReceivers == 1 }
            group.go { throw Reason(text: "failed") }
            await #expect(throws: Reason(text: "failed")) { try await group.wait() }
            if try await seen.receive() == true { live += 1 }
        }
        #expect(live == 0, "\(live) members saw the context live after their cancellation")
    }

    @Test func an_error_groups_context_is_cancelled_once_wait_has_seen_every_member_finish() async throws {
        let (group, ctx) = Sync.ErrorGroup.withContext(.background)
        let release = Chan<Void>()
        let seen = Chan<String>(capacity: 1)
        group.go {
            _ = try await release.receive()
            try await seen.send(ctx.err.map { "\($0)" } ?? "live")
        }
        try release.close()
        try await group.wait()
        #expect(try await seen.receive() == "live", "live while the members run")
        #expect(ctx.err == .canceled)
        #expect(ctx.cause as? ContextError == .canceled)
    }

    @Test func a_done_parent_cancels_the_members_of_an_error_group_made_under_it() async throws {
        let (parent, cancel) = Context.background.withCancel()
        let (group, ctx) = Sync.ErrorGroup.withContext(parent)
        let never = Chan<Void>()
        let waiting = Chan<Void>(capacity: 1)
        group.go {
            try await waiting.send(())
            _ = try await never.receive()
        }
        _ = try await waiting.receive()
        cancel()
        await #expect(throws: CancellationError.self) { try await group.wait() }
        #expect(ctx.err == .canceled)
        let late = Chan<String>(capacity: 1)
        group.go {
            do {
                _ = try await never.receive()
                try await late.send("received")
            } catch {
                try await late.send("\(type(of: error))")
            }
        }
        #expect(try await late.receive() == "CancellationError", "a member started after is cancelled as it starts")
    }

    // MARK: A storm

    @Test func a_storm_of_contexts_made_cancelled_and_timed_out_leaves_nothing() async throws {
        let total = Stress.size(100_000)
        let workers = 16
        let (clock, runtime) = Self.manualRuntime()
        let (root, cancelRoot) = Context.background.withCancel()
        defer { cancelRoot() }
        let timedOut = Chan<ReceiveOnlyChan<Void>>(capacity: total)
        let afterFuncs = Counter()
        try await GoRuntime.checkingLeaks {
            let group = Sync.WaitGroup()
            for worker in 0..<workers {
                group.go(on: runtime) {
                    var index = worker
                    while index < total {
                        switch index % 4 {
                        case 0:  // made and cancelled
                            let (ctx, cancel) = root.withCancel()
                            cancel()
                            _ = ctx.done.tryReceive()
                        case 1:  // a child of a child, cancelled from the middle
                            let (middle, cancel) = root.withValue(UserID.self, index).withCancel()
                            let (leaf, _) = middle.withTimeout(.seconds(3600))
                            cancel()
                            precondition(leaf.err == .canceled)
                        case 2:  // left to time out, an AfterFunc counting it
                            let (ctx, _) = root.withTimeout(.milliseconds(1 + index % 50))
                            ctx.afterFunc { afterFuncs.increment() }
                            try await timedOut.send(ctx.done)
                        default:  // a timeout cancelled first, its AfterFunc stopped
                            let (ctx, cancel) = root.withTimeout(.seconds(1))
                            let stop = ctx.afterFunc { preconditionFailure("stopped before the cancel") }
                            precondition(stop())
                            cancel()
                        }
                        index += workers
                    }
                }
            }
            try await group.wait()
            #expect(clock.pendingTimers == timedOut.count)
            clock.advance(by: .milliseconds(50))
            for _ in 0..<timedOut.count {
                let done = try #require(try await timedOut.receive())
                for await _ in done {}
            }
            // A timed-out child closes its done channel, starts its
            // AfterFunc and then leaves the root, on the processor that fired
            // its timer: wait for the last step too.
            try await waitUntil("every AfterFunc has run and every child has left the root") {
                afterFuncs.value == (total + 1) / 4 && root.canceller!.links.children == 0
            }
        }
        #expect(clock.pendingTimers == 0)
        #expect(timerHeapEntries(of: runtime) == 0, "no cancelled entry is left either")
        #expect(root.canceller!.links == (0, 0, false), "every child let go of the root")
    }
}
