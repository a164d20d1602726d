// Go's errgroup (golang.org/x/sync/errgroup), with its limit.
//
// Invariants (protected by `lock`):
// - `firstError` is set once, by the first member that throws; from then on
//   every member task is cancelled, and members started later cancel their
//   own task before their body runs.
// - `tasks` holds the members not yet finished.
// - A group made by `withContext` cancels its context at its first error
//   (the cause: that error) and once `wait` has seen every member finish;
//   when the context is done, for those reasons or because its parent is,
//   `contextDone` is set and every member is cancelled, as at a failure.
//
// The limit (`ErrorGroupLimit`, in `slots`, under its lock, with the notify
// list of the tickets that wait for a slot):
// - `active` counts the members holding a slot: one taken while a limit was
//   set (at once, or passed on from the list), given back when the member's
//   body ends. A member started with no limit set holds none.
// - A slot is taken at once only when one is free and no ticket waits; a
//   freed slot passes to the oldest live ticket (a member, or a `goWaiting`
//   caller), so slots go in the order of the calls that asked for them.
// - The limit changes only while no member holds a slot (Go's panic
//   otherwise); a larger limit passes the new slots on at once.

/// The limit of a `Sync.ErrorGroup` and the slots taken under it. Pure: the
/// group's `NotifyStorage` locks and resumes.
struct ErrorGroupLimit {
    /// Negative: no limit.
    var limit = -1
    /// Members holding a slot.
    var active = 0

    /// How a new member is let in.
    enum Admission {
        /// No limit is set: it holds no slot.
        case unlimited
        /// It holds a slot, from now on.
        case slot
        /// It waits for a slot with this ticket.
        case ticket(UInt64)
    }

    /// A slot now, or no limit; else a ticket if `queueing`, nil if not.
    mutating func admit(_ list: inout NotifyList, queueing: Bool) -> Admission? {
        if limit < 0 { return .unlimited }
        if list.isEmpty && active < limit {
            active += 1
            return .slot
        }
        return queueing ? .ticket(list.join()) : nil
    }

    /// A member's body ended: its slot passes to the oldest live ticket, or
    /// is given back. Returns the waiter to resume, if the ticket's had parked.
    mutating func release(_ list: inout NotifyList) -> [SyncWaiter] {
        switch list.notifyOne() {
        case nil:
            active -= 1
            return []
        case .joined:
            return []
        case .parked(let waiter):
            return [waiter]
        }
    }

    /// Gives slots to the waiting tickets while the limit has room (after it
    /// changed); returns the parked waiters among them.
    mutating func grantWhileRoom(_ list: inout NotifyList) -> [SyncWaiter] {
        var woken: [SyncWaiter] = []
        while limit < 0 || active < limit, let slot = list.notifyOne() {
            active += 1
            if case .parked(let waiter) = slot { woken.append(waiter) }
        }
        return woken
    }
}

extension Sync {
    /// Runs work concurrently and collects the first error (Go: `errgroup.Group`,
    /// and with ``withContext(_:runtime:)`` `errgroup.WithContext`): the first member that throws cancels all the others,
    /// and ``wait(file:line:)`` returns that error once every member has finished.
    ///
    /// ```go
    /// g, ctx := errgroup.WithContext(ctx)
    /// g.SetLimit(4)
    /// for _, url := range urls {
    ///     g.Go(func() error { return fetch(ctx, url) })
    /// }
    /// err := g.Wait()
    /// ```
    ///
    /// ```swift
    /// let (group, ctx) = Sync.ErrorGroup.withContext(ctx)
    /// group.setLimit(4)
    /// for url in urls {
    ///     group.go { try await fetch(url, context: ctx) }
    /// }
    /// try await group.wait()
    /// ```
    ///
    /// A group made with ``init(runtime:)`` has no context; its members
    /// learn of a failure through Swift's cancellation only.
    ///
    /// Members are goroutines, as errgroup's are: listed in goroutine dumps
    /// with what they wait for, counted, leak-checked, and, like any goroutine,
    /// started with nothing inherited from the caller (no task-local values,
    /// no priority). Unlike the goroutines `go` starts, they can be cancelled:
    /// GoConcurrency's channel operations, select, sleep and sync primitives
    /// throw `CancellationError` in a cancelled member.
    ///
    /// ## The limit
    ///
    /// ``setLimit(_:)`` bounds how many members run their bodies at once.
    /// Go's `g.Go` blocks its caller at the limit; ``go(file:line:_:)`` here
    /// is synchronous and cannot, so at the limit it starts the member at
    /// once, and the member's body waits for a slot: such members are
    /// listed in dumps as waiting (`errgroup.Group.Go`, at the line of the
    /// call), and their bodies start in the order of the calls. To block
    /// the caller instead, as Go does, call ``goWaiting(file:line:_:)``,
    /// which parks until there is room and then starts the member;
    /// ``tryGo(file:line:_:)`` starts nothing at the limit. A slot is freed
    /// when a member's body ends. A member waiting for its slot when the
    /// group fails still waits, then runs its body cancelled, as every
    /// member started after a failure does.
    public final class ErrorGroup: @unchecked Sendable {
        /// Where members run; nil: the runtime of the goroutine that starts
        /// each (see `init(runtime:)`).
        private let runtime: GoRuntime?
        private let lock = Lock()
        private var firstError: (any Error)?
        private var tasks: [Int: Task<Void, Never>] = [:]
        private var nextMember = 0
        private let members = WaitGroup()
        /// The limit, and the members and callers waiting for a slot.
        private let slots = NotifyStorage(ErrorGroupLimit())
        /// Cancels the group's context (`withContext`); nil without one.
        private let cancelContext: (@Sendable ((any Error)?) -> Void)?
        /// Whether the group's context is done: members are cancelled.
        private var contextDone = false

        /// Members run on `runtime`'s processors; without it, each on the
        /// runtime of the goroutine that starts it (``GoRuntime/shared``
        /// outside goroutines), as goroutines started with `go` do.
        public convenience init(runtime: GoRuntime? = nil) {
            self.init(runtime: runtime, cancelContext: nil)
        }

        private init(runtime: GoRuntime?, cancelContext: (@Sendable ((any Error)?) -> Void)?) {
            self.runtime = runtime
            self.cancelContext = cancelContext
        }

        /// A group and its context, a child of `parent` (Go:
        /// `errgroup.WithContext(ctx)`): the context is cancelled when a
        /// member first throws (its ``Context/cause`` is then that error) and
        /// once ``wait(file:line:)`` has seen every member finish. When the
        /// context is done, for either reason or because `parent` is, every
        /// member is cancelled as at a failure, and members started later
        /// are cancelled as they start.
        public static func withContext(_ parent: Context, runtime: GoRuntime? = nil) -> (ErrorGroup, Context) {
            let (context, cancel) = parent.withCancelCause()
            let group = ErrorGroup(runtime: runtime, cancelContext: cancel)
            _ = context.whenDone { [weak group] in group?.contextEnded() }
            return (group, context)
        }

        /// Limits how many members run their bodies at once to `n`; a
        /// negative `n` removes the limit, and 0 lets no new member run (Go:
        /// `g.SetLimit(n)`). Members already waiting for a slot get the new
        /// slots at once.
        ///
        /// - Precondition: no member holds a slot of the limit in force
        ///   ("errgroup: modify limit while N goroutines in the group are
        ///   still active", Go's panic), unless `n` is negative, which Go
        ///   allows at any time.
        public func setLimit(_ n: Int) {
            let active = slots.update { state, list -> (Int, [SyncWaiter]) in
                if n >= 0 && state.active != 0 { return (state.active, []) }
                state.limit = n
                return (0, state.grantWhileRoom(&list))
            }
            if active != 0 {
                goPanic(
                    "errgroup: modify limit while \(active) goroutines in the group are still active",
                    detail: "ErrorGroup.setLimit(\(n)) while members hold slots of the limit in force."
                )
            }
        }

        /// Starts `body` as a member of the group (a goroutine, listed as
        /// created at the call). At the limit the member starts at once and
        /// its body waits for a slot (see the type's documentation).
        public func go(
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Void
        ) {
            let admission = slots.update { state, list in (state.admit(&list, queueing: true)!, []) }
            start(body, admission, at: SourceLocation(fileID: file, line: line))
        }

        /// Starts `body` as a member if a slot is free (or no limit is set)
        /// and no one waits for one; otherwise starts nothing and returns
        /// false (Go: `g.TryGo(f)`).
        public func tryGo(
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Void
        ) -> Bool {
            guard let admission = slots.update({ state, list in (state.admit(&list, queueing: false), []) })
            else { return false }
            start(body, admission, at: SourceLocation(fileID: file, line: line))
            return true
        }

        /// Waits until a slot is free, in turn with the members and callers
        /// that asked before, then starts `body` as a member holding it (Go's
        /// `g.Go(f)`, which blocks its caller at the limit). Returns at once
        /// when a slot is free or no limit is set.
        ///
        /// - Throws: `CancellationError` if the calling task is cancelled
        ///   while it waits; nothing is started then, and its turn passes on.
        public func goWaiting(
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Void
        ) async throws {
            let location = SourceLocation(fileID: file, line: line)
            var admission = slots.update { state, list in (state.admit(&list, queueing: true)!, []) }
            if case .ticket(let ticket) = admission {
                try await slots.wait(for: ticket, reason: .errorGroupLimit, at: location)
                admission = .slot
            }
            start(body, admission, at: location)
        }

        private func start(
            _ body: @escaping @Sendable () async throws -> Void,
            _ admission: ErrorGroupLimit.Admission,
            at location: SourceLocation
        ) {
            members.add(1)
            lock.lock()
            let member = nextMember
            nextMember += 1
            let cancelled = firstError != nil || contextDone
            let task = goCancellable(on: GoRuntime.startingOn(runtime), at: location) {
                // A member of a group already failed (or whose context is
                // done) cancels its own task before anything else: a cancel
                // from here, after the start, could come once its body ran.
                if cancelled { withUnsafeCurrentTask { $0?.cancel() } }
                if case .ticket(let ticket) = admission {
                    // Not cancellable: a member of a failed group still runs
                    // its body (cancelled), once it has its slot.
                    do {
                        try await self.slots.wait(for: ticket, reason: .errorGroupLimit, at: location, cancellable: false)
                    } catch {
                        preconditionFailure("an uncancellable wait threw \(error)")
                    }
                }
                do {
                    try await body()
                } catch {
                    self.fail(with: error)
                }
                if case .unlimited = admission {} else {
                    self.slots.update { state, list in ((), state.release(&list)) }
                }
                self.lock.lock()
                self.tasks[member] = nil
                self.lock.unlock()
                self.members.done()
            }
            tasks[member] = task
            lock.unlock()
        }

        /// How many members and `goWaiting` callers are parked waiting for a
        /// slot (for tests: `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            slots.parkedCount
        }

        /// Waits for every member, then throws the first error, if any.
        public func wait(file: StaticString = #fileID, line: UInt = #line) async throws {
            try await members.wait(file: file, line: line)
            cancelContext?(nil)
            lock.lock()
            let error = firstError
            lock.unlock()
            if let error { throw error }
        }

        /// Whether a member has failed (and the rest are cancelled).
        public var hasFailed: Bool {
            lock.lock()
            defer { lock.unlock() }
            return firstError != nil
        }

        private func fail(with error: any Error) {
            lock.lock()
            guard firstError == nil else {
                lock.unlock()
                return
            }
            firstError = error
            let running = Array(tasks.values)
            lock.unlock()
            // The context first: a member woken by its cancellation finds
            // the context done (Go's members learn of a failure from it).
            cancelContext?(error)
            for task in running { task.cancel() }
        }

        /// The group's context is done: its members are cancelled.
        private func contextEnded() {
            lock.lock()
            contextDone = true
            let running = Array(tasks.values)
            lock.unlock()
            for task in running { task.cancel() }
        }
    }
}
