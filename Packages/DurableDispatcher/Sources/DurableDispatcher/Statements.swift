// Statements: every SQL statement the durable dispatcher runs, in one place,
// each with what it guarantees. Tables live in the schema the configuration
// names (a validated identifier pasted quoted, never a value); every value is
// a bind parameter. All instants come from the database's `now()`: the
// application passes only durations, so clocks of different hosts never meet.
//
// - Migration (`migration1`): the whole schema in one transaction, after
//   `pg_advisory_xact_lock(namespace, -1)`, so workers starting together
//   apply it once; `gc_schema_version` records what is applied. The lock is
//   needed even for `CREATE SCHEMA IF NOT EXISTS`: two of them at once fail
//   with 23505 on `pg_namespace` (seen in this package's test without it).
// - `enqueue`: one INSERT. A unique key is unique only among live jobs
//   (available, scheduled, running, retryable): the partial unique index
//   `gc_jobs_unique` decides, never a lookup. `ON CONFLICT … DO UPDATE` (a
//   no-op update of the key) rather than `DO NOTHING`: it waits for a
//   concurrent, uncommitted insert of the same key, then returns that row if
//   it committed (or inserts ours if it rolled back), so RETURNING always names
//   the one live job. `xmax <> 0` tells the updated (existing) row from the
//   inserted one: a freshly inserted tuple has no deleting/locking
//   transaction, the updated one carries ours (tested, as it is an
//   implementation detail of PostgreSQL's). On the caller's connection it
//   belongs to the caller's transaction: rolled back, no job.
// - `fetch`: the LIMIT subquery sits in a `MATERIALIZED` CTE, an optimisation
//   fence, so it runs once (a nested loop over a re-executed LIMIT subquery
//   could lock and update more than `limit` rows); `FOR UPDATE SKIP LOCKED`
//   makes concurrent fetchers take disjoint rows without waiting; the CTE
//   passes over a row that has used its attempts (it would otherwise be
//   locked, dropped and stay first in line), and the outer UPDATE re-checks
//   that and the pending state on the locked row. Each fetched job gets `attempt + 1` and this worker as owner.
// - `complete`, `fail`: fenced by id, attempt, owner, `state = 'running'`
//   and the attempt's start (`attempted_at`, compared as exact microseconds),
//   re-evaluated on the locked row, RETURNING a row only if this attempt is
//   still the live one. The start is there because the attempt number alone
//   repeats: a snooze (and, later, a hand-back) gives the attempt back, so
//   the next fetch by the same worker has the same id, attempt and owner.
//   Zero rows means the attempt was rescued, cancelled, snoozed or handed
//   back meanwhile: the caller reports `.fenced`, nothing is written.
//   `fail` appends `{attempt, at, error, worker}` to `errors` (built by the
//   server) and either schedules the retry `backoff` seconds from now or,
//   with the attempts exhausted, discards the job (`finalized_at` set); a job
//   whose cancel was requested while it ran ends cancelled instead.
// - `snooze`: fenced likewise; the job waits `delay` seconds in `scheduled`
//   and the attempt is given back (`attempt - 1`: a snooze is not a failure),
//   `metadata.snoozes` counts them; with a cancel requested, it ends
//   cancelled instead.
// - `counts`: jobs per queue and state, a plain aggregate (no lock taken).
// - `retry`: a job not running (finalized, or still pending) becomes
//   available now, `finalized_at` cleared, `max_attempts` raised to allow one
//   more attempt if it had used them all. Its unique key becomes live again:
//   a live job holding the same key makes it fail with 23505 (the index, not
//   a look-up, decides).
// - `prune`: deletes at most `batch` jobs finalized before the retention
//   horizon, oldest first; rows locked by someone else are skipped, not
//   waited for. Returns how many it deleted.
import PostgresNIO

/// The statements of one schema.
/// What identifies one attempt of one job: every outcome's WHERE clause.
struct Fence: Sendable {
    let id: Int64
    let attempt: Int16
    let owner: Int32
    /// `attempted_at` as microseconds since 1970 (exact, unlike a `Date`).
    let attemptedAtMicros: Int64
}

struct Statements: Sendable {
    /// The schema's name, already quoted as an identifier.
    let schema: String
    /// The advisory-lock namespace (the first of the two int4 keys).
    let lockNamespace: Int32

    init(schema: String, lockNamespace: Int32) {
        self.schema = "\"\(schema)\""
        self.lockNamespace = lockNamespace
        self.notifyChannel = "gc_jobs_" + String(schema.prefix(55))
    }

    private var jobs: String { "\(schema).gc_jobs" }
    private var state: String { "\(schema).gc_job_state" }

    /// The LISTEN/NOTIFY channel of the schema's workers: payloads
    /// `queue:<name>` (a job became runnable) and `cancel:<id>`. At most 63
    /// bytes, as every PostgreSQL identifier.
    let notifyChannel: String

    // MARK: Migration

    /// Serialises migrations across every process using the database.
    var migrationLock: PostgresQuery {
        "SELECT pg_advisory_xact_lock(\(lockNamespace), -1)"
    }

    var createSchema: PostgresQuery {
        PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)")
    }

    var createVersionTable: PostgresQuery {
        PostgresQuery(unsafeSQL: """
            CREATE TABLE IF NOT EXISTS \(schema).gc_schema_version (
              version int PRIMARY KEY,
              applied_at timestamptz NOT NULL DEFAULT now())
            """)
    }

    var appliedVersion: PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(schema).gc_schema_version")
    }

    func recordVersion(_ version: Int32) -> PostgresQuery {
        "INSERT INTO \(unescaped: schema).gc_schema_version (version) VALUES (\(version))"
    }

    /// Migration 1: jobs, workers and their indexes. One statement per query
    /// (the extended protocol takes one at a time); all in one transaction.
    var migration1: [PostgresQuery] {
        [
            """
            CREATE TYPE \(state) AS ENUM
              ('available', 'scheduled', 'running', 'retryable', 'completed', 'cancelled', 'discarded')
            """,
            """
            CREATE TABLE \(schema).gc_workers (
              id serial PRIMARY KEY,
              host text NOT NULL,
              pid int NOT NULL,
              queues text[] NOT NULL,
              started_at timestamptz NOT NULL DEFAULT now(),
              heartbeat_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE \(jobs) (
              id bigserial PRIMARY KEY,
              state \(state) NOT NULL DEFAULT 'available',
              queue text NOT NULL DEFAULT 'default' CHECK (char_length(queue) BETWEEN 1 AND 127),
              kind text NOT NULL CHECK (char_length(kind) BETWEEN 1 AND 127),
              args jsonb NOT NULL DEFAULT '{}',
              priority smallint NOT NULL DEFAULT 1 CHECK (priority BETWEEN 1 AND 4),
              attempt smallint NOT NULL DEFAULT 0,
              max_attempts smallint NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
              scheduled_at timestamptz NOT NULL DEFAULT now(),
              created_at timestamptz NOT NULL DEFAULT now(),
              attempted_at timestamptz,
              finalized_at timestamptz,
              owner int,
              attempted_by int[] NOT NULL DEFAULT '{}',
              errors jsonb NOT NULL DEFAULT '[]',
              metadata jsonb NOT NULL DEFAULT '{}',
              unique_key text,
              CHECK ((state IN ('completed', 'cancelled', 'discarded')) = (finalized_at IS NOT NULL)))
            """,
            """
            CREATE INDEX gc_jobs_fetch ON \(jobs) (queue, priority, scheduled_at, id)
              WHERE state IN ('available', 'scheduled', 'retryable')
            """,
            "CREATE INDEX gc_jobs_running ON \(jobs) (owner) WHERE state = 'running'",
            "CREATE INDEX gc_jobs_finalized ON \(jobs) (finalized_at) WHERE finalized_at IS NOT NULL",
            """
            CREATE UNIQUE INDEX gc_jobs_unique ON \(jobs) (unique_key)
              WHERE unique_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable')
            """,
            """
            ALTER TABLE \(jobs) SET (autovacuum_vacuum_scale_factor = 0.01,
              autovacuum_vacuum_insert_scale_factor = 0.01,
              autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0)
            """,
        ].map { PostgresQuery(unsafeSQL: $0) }
    }

    // MARK: Workers

    func registerWorker(host: String, pid: Int32, queues: [String]) -> PostgresQuery {
        """
        INSERT INTO \(unescaped: schema).gc_workers (host, pid, queues)
        VALUES (\(host), \(pid), \(queues)) RETURNING id
        """
    }

    // MARK: Enqueue

    /// Returns `(id bigint, duplicate bool)`.
    func enqueue(
        kind: String, queue: String, argsJSON: String, priority: Int16, maxAttempts: Int16,
        uniqueKey: String?, delaySeconds: Double, scheduled: Bool, notify: Bool
    ) -> PostgresQuery {
        let initial = scheduled ? "scheduled" : "available"
        // The notification rides in the same statement (no second round
        // trip): the LATERAL subquery runs once per returned row, and only
        // for a new job that can run now. NOTIFY is delivered at commit.
        return """
            WITH ins AS (
              INSERT INTO \(unescaped: jobs) (kind, queue, args, priority, max_attempts, unique_key, scheduled_at, state)
              VALUES (\(kind), \(queue), \(argsJSON)::jsonb, \(priority), \(maxAttempts), \(uniqueKey),
                      now() + make_interval(secs => \(delaySeconds)), \(initial)::\(unescaped: state))
              ON CONFLICT (unique_key)
                WHERE unique_key IS NOT NULL AND state IN ('available', 'scheduled', 'running', 'retryable')
                DO UPDATE SET unique_key = EXCLUDED.unique_key
              RETURNING id, (xmax <> 0) AS duplicate, queue, state)
            SELECT ins.id, ins.duplicate FROM ins
            LEFT JOIN LATERAL (
              SELECT pg_notify(\(notifyChannel), 'queue:' || ins.queue) IS NULL AS sent
              WHERE \(notify) AND NOT ins.duplicate AND ins.state = 'available') n ON true
            """
    }

    // MARK: Fetch

    /// Returns `(id, queue, kind, args, attempt, max_attempts, priority,
    /// metadata, attempted_at in microseconds)` of at most `limit` jobs, now
    /// running under `owner`.
    func fetch(queue: String, limit: Int32, owner: Int32) -> PostgresQuery {
        """
        WITH picked AS MATERIALIZED (
          SELECT id FROM \(unescaped: jobs)
          WHERE queue = \(queue) AND state IN ('available', 'scheduled', 'retryable') AND scheduled_at <= now()
            AND attempt < max_attempts
          ORDER BY priority, scheduled_at, id
          LIMIT \(limit)
          FOR UPDATE SKIP LOCKED)
        UPDATE \(unescaped: jobs) j
        SET state = 'running', attempt = j.attempt + 1, attempted_at = now(), owner = \(owner),
            attempted_by = (j.attempted_by || \(owner))[greatest(cardinality(j.attempted_by) - 8, 1):]
        FROM picked
        WHERE j.id = picked.id AND j.attempt < j.max_attempts
          AND j.state IN ('available', 'scheduled', 'retryable')
        RETURNING j.id, j.queue, j.kind, j.args::text, j.attempt, j.max_attempts, j.priority, j.metadata::text,
          (extract(epoch FROM j.attempted_at) * 1000000)::int8 AS attempted_at_us
        """
    }

    // MARK: Outcomes (fenced)

    /// Returns the id, or no row when fenced.
    func complete(_ fence: Fence) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET state = 'completed', finalized_at = now()
        WHERE id = \(fence.id) AND attempt = \(fence.attempt) AND owner = \(fence.owner) AND state = 'running'
          AND (extract(epoch FROM attempted_at) * 1000000)::int8 = \(fence.attemptedAtMicros)
        RETURNING id
        """
    }

    /// Returns `(state text, scheduled_at)`, or no row when fenced.
    func snooze(_ fence: Fence, delaySeconds: Double) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET
          state = CASE WHEN metadata ? 'cancel_requested' THEN 'cancelled' ELSE 'scheduled' END::\(unescaped: state),
          finalized_at = CASE WHEN metadata ? 'cancel_requested' THEN now() END,
          attempt = CASE WHEN metadata ? 'cancel_requested' THEN attempt ELSE attempt - 1 END,
          scheduled_at = CASE WHEN metadata ? 'cancel_requested' THEN scheduled_at
                              ELSE now() + make_interval(secs => \(delaySeconds)) END,
          metadata = jsonb_set(metadata, '{snoozes}', to_jsonb(coalesce((metadata ->> 'snoozes')::int, 0) + 1))
        WHERE id = \(fence.id) AND attempt = \(fence.attempt) AND owner = \(fence.owner) AND state = 'running'
          AND (extract(epoch FROM attempted_at) * 1000000)::int8 = \(fence.attemptedAtMicros)
        RETURNING state::text, scheduled_at
        """
    }

    /// Returns `(queue, state text, count bigint)`.
    var counts: PostgresQuery {
        PostgresQuery(unsafeSQL: "SELECT queue, state::text, count(*) FROM \(jobs) GROUP BY 1, 2 ORDER BY 1, 2")
    }

    /// Returns the id, or no row when the job is running or does not exist.
    func retry(id: Int64) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET
          state = 'available', scheduled_at = now(), finalized_at = NULL,
          max_attempts = greatest(max_attempts, attempt + 1),
          metadata = metadata - 'cancel_requested'
        WHERE id = \(id) AND state <> 'running'
        RETURNING id
        """
    }

    /// Returns the number of deleted jobs.
    func prune(olderThanSeconds: Double, batch: Int32) -> PostgresQuery {
        """
        WITH picked AS MATERIALIZED (
          SELECT id FROM \(unescaped: jobs)
          WHERE finalized_at < now() - make_interval(secs => \(olderThanSeconds))
          ORDER BY finalized_at
          LIMIT \(batch)
          FOR UPDATE SKIP LOCKED),
        deleted AS (
          DELETE FROM \(unescaped: jobs) j USING picked WHERE j.id = picked.id
          RETURNING 1)
        SELECT count(*) FROM deleted
        """
    }

    /// Returns `(state text, scheduled_at)`, or no row when fenced.
    func fail(_ fence: Fence, error: String, backoffSeconds: Double) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET
          errors = errors || jsonb_build_array(jsonb_build_object(
            'attempt', attempt, 'at', now(), 'error', \(error)::text, 'worker', owner)),
          state = CASE WHEN metadata ? 'cancel_requested' THEN 'cancelled'
                       WHEN attempt >= max_attempts THEN 'discarded' ELSE 'retryable' END::\(unescaped: state),
          finalized_at = CASE WHEN metadata ? 'cancel_requested' OR attempt >= max_attempts THEN now() END,
          scheduled_at = CASE WHEN metadata ? 'cancel_requested' OR attempt >= max_attempts THEN scheduled_at
                              ELSE now() + make_interval(secs => \(backoffSeconds)) END
        WHERE id = \(fence.id) AND attempt = \(fence.attempt) AND owner = \(fence.owner) AND state = 'running'
          AND (extract(epoch FROM attempted_at) * 1000000)::int8 = \(fence.attemptedAtMicros)
        RETURNING state::text, scheduled_at
        """
    }
}
