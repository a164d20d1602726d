// ChaosStatements: the SQL of the chaos test's harness — the effects table
// the `chaos` jobs write to (durable-worker's BuiltInJobs inserts `(job_id,
// attempt, worker, pid)`: one row per attempt that got as far as its
// effect), the worker processes' ids by pid, and what the verification
// reads back. The store's own statements stay in the library; these only
// read the store's tables, never change them.
import PostgresNIO

struct ChaosStatements: Sendable {
    /// The schema's name, quoted as an identifier (a checked name: see
    /// `ChaosCommand.validate`).
    let schema: String

    init(schema: String) {
        self.schema = "\"\(schema)\""
    }

    private var effects: String { "\(schema).gc_chaos_effects" }
    private var jobs: String { "\(schema).gc_jobs" }
    private var workers: String { "\(schema).gc_workers" }

    /// The table the `chaos` job kind writes its effect to. No key: a
    /// duplicated effect is what the test counts, so nothing may refuse it.
    var createEffects: PostgresQuery {
        PostgresQuery(unsafeSQL: """
            CREATE TABLE \(effects) (
              job_id bigint NOT NULL,
              attempt int NOT NULL,
              worker int NOT NULL,
              pid int NOT NULL,
              at timestamptz NOT NULL DEFAULT now())
            """)
    }

    /// Returns `(id int4, pid int4)` of every registered worker process.
    var workerPids: PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT id, pid FROM \(workers)")
    }

    /// Returns `(pending int8, running int8, completed int8, other int8)`.
    var progress: PostgresQuery {
        PostgresQuery(unsafeSQL: """
            SELECT count(*) FILTER (WHERE state IN ('available', 'scheduled', 'retryable')),
                   count(*) FILTER (WHERE state = 'running'),
                   count(*) FILTER (WHERE state = 'completed'),
                   count(*) FILTER (WHERE state IN ('cancelled', 'discarded'))
            FROM \(jobs)
            """)
    }

    /// Returns `(id int8, state text, transactional bool, attempt int2,
    /// owner int4?, errors text, handbacks int4)` of every job.
    var jobsForVerification: PostgresQuery {
        PostgresQuery(unsafeSQL: """
            SELECT id, state::text, coalesce((args ->> 'transactional')::boolean, false), attempt, owner,
                   errors::text, coalesce((metadata ->> 'handbacks')::int, 0)
            FROM \(jobs) ORDER BY id
            """)
    }

    /// Returns `(job_id int8, attempt int4, worker int4, pid int4)` of every
    /// effect.
    var effectsForVerification: PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT job_id, attempt, worker, pid FROM \(effects) ORDER BY job_id, at")
    }

    var dropSchema: PostgresQuery {
        PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE")
    }
}
