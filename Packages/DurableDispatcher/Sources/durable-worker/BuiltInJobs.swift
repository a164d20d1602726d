// BuiltInJobs: the job kinds durable-worker runs — `noop` (completes at
// once: the benchmark's job), `sleep` (waits, honouring its context) and
// `chaos` (the chaos test's job: waits, then records its effect, in the
// completion's own transaction or on its own).
import DurableDispatcher
import Foundation
import GoConcurrency
import PostgresNIO

struct SleepArgs: Codable, Sendable {
    var ms: Int
}

struct ChaosArgs: Codable, Sendable {
    var n: Int
    var ms: Int
    /// The effect and the completion in one transaction (exactly once), or
    /// the effect first and the completion after it (at least once).
    var transactional: Bool
}

enum BuiltInJobs {
    static func handlers(schema: String) -> JobHandlers {
        var handlers = JobHandlers()
        handlers.register("noop") { _ in .complete }
        handlers.register("sleep", as: SleepArgs.self) { args, job in
            try await wait(.milliseconds(args.ms), or: job.context)
            return .complete
        }
        let effects = "\"\(schema)\".gc_chaos_effects"
        handlers.register("chaos", as: ChaosArgs.self) { args, job in
            try await wait(.milliseconds(args.ms), or: job.context)
            let insert: PostgresQuery = """
                INSERT INTO \(unescaped: effects) (job_id, attempt, worker, pid)
                VALUES (\(job.job.id.rawValue), \(job.job.attempt), \(job.job.owner.rawValue), \(ProcessInfo.processInfo.processIdentifier))
                """
            if args.transactional {
                _ = try await job.completeInTransaction { connection in
                    try await connection.query(insert, logger: job.store.logger)
                }
            } else {
                _ = try await job.store.query(insert)
            }
            return .complete
        }
        return handlers
    }

    /// Waits `delay`, or throws the context's cause once it is done.
    static func wait(_ delay: Duration, or context: Context) async throws {
        let done = try await select {
            context.done.onReceive { _ in true }
            after(delay).onReceive { _ in false }
        }
        if done {
            throw context.cause ?? context.err ?? CancellationError()
        }
    }
}
