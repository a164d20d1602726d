// Contexts and Swift's task cancellation, joined both ways: a context that
// the current task's cancellation cancels (`withCurrentTask`), and a body
// run as a Swift task that the context's cancellation cancels (`run`).

extension Context {
    /// Runs `body` with a child of `parent` that is cancelled when the
    /// current Swift task is (with a `CancellationError` as its ``cause``),
    /// and once `body` returns (Go's `defer cancel()`).
    ///
    ///     func serve(request: Request) async throws -> Response {
    ///         try await Context.withCurrentTask { ctx in
    ///             try await lookUp(request.user, context: ctx)  // stops when the task is cancelled
    ///         }
    ///     }
    ///
    /// A goroutine's own task is never cancelled, so inside a goroutine this
    /// is `withCancel` with the cancel at the end; in a plain task, a task
    /// group's child or a `Task { }`, Swift's cancellation reaches every
    /// goroutine that watches the context.
    nonisolated(nonsending)
    public static func withCurrentTask<T>(
        _ parent: Context = .background,
        _ body: (Context) async throws -> T
    ) async rethrows -> T {
        let context = parent.cancellable(.task, deadline: parent.deadline, timers: nil)
        let canceller = context.canceller!
        defer { canceller.cancel(.canceled, cause: nil) }
        return try await withTaskCancellationHandler {
            try await body(context)
        } onCancel: {
            canceller.cancel(.canceled, cause: CancellationError())
        }
    }

    /// Runs `body` as a Swift child task that is cancelled when this context
    /// is done, and returns what it returns: inside it, `Task.isCancelled`,
    /// `try Task.checkCancellation()`, and every cancellable wait (channel
    /// operations, select, sleep, the sync primitives, `Task.sleep`) see the
    /// context's cancellation or deadline.
    ///
    ///     let (ctx, cancel) = Context.background.withTimeout(.seconds(1))
    ///     defer { cancel() }
    ///     let page = try await ctx.run {
    ///         try await slowFetch()   // throws CancellationError after 1 s
    ///     }
    ///
    /// The caller waits for `body` to end, also after the context is done
    /// (cancellation is cooperative in Swift, as in Go). Cancelling the
    /// caller's task cancels `body` too, as for any child task.
    ///
    /// - Throws: what `body` throws (a `CancellationError` from a wait that the
    ///   context's end cut short).
    nonisolated(nonsending)
    public func run<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        guard let canceller else { return try await body() }
        let done = canceller.done
        return try await withThrowingTaskGroup(of: RunOutcome<T>.self) { group in
            group.addTask { .finished(try await body()) }
            group.addTask {
                // Ends when the context is done, or when cancelled because
                // the body finished first.
                _ = try? await ReceiveOnlyChan(storage: done).receive()
                return .contextDone
            }
            while true {
                let outcome: RunOutcome<T>?
                do {
                    outcome = try await group.next()
                } catch {
                    group.cancelAll()  // the body threw: stop the watcher
                    throw error
                }
                switch outcome {
                case .finished(let value):
                    group.cancelAll()
                    return value
                case .contextDone:
                    group.cancelAll()  // the context is done: cancel the body
                case nil:
                    preconditionFailure("Context.run: the body's task ended without a result")
                }
            }
        }
    }
}

/// What a `Context.run` child reports.
private enum RunOutcome<T: Sendable>: Sendable {
    case finished(T)
    case contextDone
}
