// ProcessStatements: the statements of a running worker process — its
// heartbeat and session lock, wake-ups (NOTIFY), cancel by id, the hand-back
// at shutdown, and the rescue of jobs whose process is gone. Like
// Statements.swift: values are bind parameters, instants the database's.
//
// - The session lock: `pg_try_advisory_lock(namespace, worker id)`, taken on
//   the process's control connection (never a pooled one) and held while the
//   process lives. A killed process's socket closes, its backend exits and
//   the lock is gone at once; the rescue reads `pg_locks` for it (two int4
//   keys show there as `classid`, `objid` and `objsubid = 2`, tested).
// - `heartbeat`: `heartbeat_at = now()`, RETURNING the id: no row means the
//   process was declared dead and its row removed; it must register again.
// - `rescue`: one statement finds the dead workers — heartbeat older than the
//   lease (a host gone without closing its connections), or older than the
//   lock grace with the session lock gone (a killed process) — and puts every
//   running job they own (or owned by no registered worker) back: retryable
//   at once with an error entry, or discarded once out of attempts (a job
//   that kills its process every time must end), or cancelled if a cancel
//   was requested. The lock term is ignored for the restart allowance after
//   the server started: a restart drops every session lock, and live
//   processes need a moment to reconnect and lock again. The UPDATE re-checks
//   state, owner and attempt on the locked row, so a job completed or
//   re-fetched meanwhile is left alone. Dead workers with nothing left
//   running are deleted in the same statement. Callers run it inside a
//   transaction that first takes `pg_try_advisory_xact_lock(namespace, 0)`
//   (`rescueLock`), so one process rescues at a time.
// - `handBack`: the shutdown's return of jobs fetched but not run, or
//   interrupted by the end of the grace period: available again with the
//   attempt given back (fenced by the attempt, as every outcome).
// - `cancel`: a pending job is finalized `cancelled` at once; a running one
//   gets `metadata.cancel_requested` and its owner is told through the
//   notification channel; whatever its attempt then records (a failure, a
//   rescue, a hand-back) ends it cancelled.
import PostgresNIO

extension Statements {
    private var jobs: String { "\(schema).gc_jobs" }
    private var workers: String { "\(schema).gc_workers" }
    private var state: String { "\(schema).gc_job_state" }

    // MARK: Heartbeat and session lock

    /// Returns the id, or no row when the worker's row is gone.
    func heartbeat(worker: Int32) -> PostgresQuery {
        "UPDATE \(unescaped: workers) SET heartbeat_at = now() WHERE id = \(worker) RETURNING id"
    }

    /// Returns whether the session lock was taken (false: another session holds it).
    func lockWorker(_ worker: Int32) -> PostgresQuery {
        "SELECT pg_try_advisory_lock(\(lockNamespace), \(worker))"
    }

    func unlockWorker(_ worker: Int32) -> PostgresQuery {
        "SELECT pg_advisory_unlock(\(lockNamespace), \(worker))"
    }

    /// Deletes the worker's row unless it still owns running jobs; returns the id if deleted.
    func deregister(worker: Int32) -> PostgresQuery {
        """
        DELETE FROM \(unescaped: workers) w WHERE w.id = \(worker)
          AND NOT EXISTS (SELECT 1 FROM \(unescaped: jobs) j WHERE j.state = 'running' AND j.owner = w.id)
        RETURNING w.id
        """
    }

    // MARK: Notifications

    /// Returns `(notified bool)`; notifies `queue:<name>` on the channel.
    func notifyQueue(_ queue: String, channel: String) -> PostgresQuery {
        "SELECT pg_notify(\(channel), 'queue:' || \(queue)::text) IS NULL"
    }

    // MARK: Hand-back

    /// What giving a job `j` back does, for both hand-backs: available again
    /// (cancelled, with a cancel requested), the attempt restored, no owner,
    /// `metadata.handbacks` counted.
    private var handedBack: String {
        """
        state = CASE WHEN j.metadata ? 'cancel_requested' THEN 'cancelled' ELSE 'available' END::\(state),
          finalized_at = CASE WHEN j.metadata ? 'cancel_requested' THEN now() END,
          attempt = j.attempt - 1, owner = NULL, attempted_at = NULL,
          metadata = jsonb_set(j.metadata, '{handbacks}', to_jsonb(coalesce((j.metadata ->> 'handbacks')::int, 0) + 1))
        """
    }

    /// Returns the id of every job handed back (or, with a cancel
    /// requested, cancelled).
    func handBack(_ fences: [Fence], owner: Int32) -> PostgresQuery {
        let ids = fences.map(\.id), attempts = fences.map(\.attempt), starts = fences.map(\.attemptedAtMicros)
        return """
            UPDATE \(unescaped: jobs) j SET \(unescaped: handedBack)
            FROM unnest(\(ids)::int8[], \(attempts)::int2[], \(starts)::int8[]) AS h(id, attempt, started)
            WHERE j.id = h.id AND j.attempt = h.attempt AND j.owner = \(owner) AND j.state = 'running'
              AND (extract(epoch FROM j.attempted_at) * 1000000)::int8 = h.started
            RETURNING j.id
            """
    }

    /// Returns the id of every running job of `owner` in `queue` that is
    /// not in `known`, now handed back (or cancelled, if requested).
    func handBackOrphans(queue: String, owner: Int32, known: [Int64]) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) j SET \(unescaped: handedBack)
        WHERE j.owner = \(owner) AND j.queue = \(queue) AND j.state = 'running' AND NOT (j.id = ANY(\(known)::int8[]))
        RETURNING j.id
        """
    }

    // MARK: Cancel

    /// Returns `(state text, owner int?)` as left by the cancel, or no row
    /// when the job is finalized already or does not exist.
    func cancel(id: Int64) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET
          state = CASE WHEN state = 'running' THEN state ELSE 'cancelled' END,
          finalized_at = CASE WHEN state = 'running' THEN NULL ELSE now() END,
          metadata = metadata || jsonb_build_object('cancel_requested', now())
        WHERE id = \(id) AND state IN ('available', 'scheduled', 'retryable', 'running')
        RETURNING state::text, owner
        """
    }

    /// Notifies `cancel:<id>` on the channel.
    func notifyCancel(id: Int64, channel: String) -> PostgresQuery {
        "SELECT pg_notify(\(channel), 'cancel:' || \(id)::text) IS NULL"
    }

    /// Finalizes the attempt's job as cancelled, with `reason` in its
    /// errors; returns the id, or no row when fenced.
    func cancelAttempt(_ fence: Fence, reason: String) -> PostgresQuery {
        """
        UPDATE \(unescaped: jobs) SET
          state = 'cancelled', finalized_at = now(),
          errors = errors || jsonb_build_array(jsonb_build_object(
            'attempt', attempt, 'at', now(), 'error', \(reason)::text, 'worker', owner))
        WHERE id = \(fence.id) AND attempt = \(fence.attempt) AND owner = \(fence.owner) AND state = 'running'
          AND (extract(epoch FROM attempted_at) * 1000000)::int8 = \(fence.attemptedAtMicros)
        RETURNING id
        """
    }

    // MARK: Rescue

    /// One rescuer at a time: true if this transaction got the lock.
    var rescueLock: PostgresQuery {
        "SELECT pg_try_advisory_xact_lock(\(lockNamespace), 0)"
    }

    /// Returns rows `(what text, id int8, owner int4, attempt int2, reason
    /// text, state text, queue text)`: `job` rows for rescued jobs, `worker`
    /// rows (id in the second column) for deleted workers.
    func rescue(leaseSeconds: Double, lockGraceSeconds: Double, restartAllowanceSeconds: Double) -> PostgresQuery {
        """
        WITH dead AS MATERIALIZED (
          SELECT w.id,
            CASE WHEN w.heartbeat_at < now() - make_interval(secs => \(leaseSeconds)) THEN 'lease' ELSE 'lock' END AS reason
          FROM \(unescaped: workers) w
          WHERE w.heartbeat_at < now() - make_interval(secs => \(leaseSeconds))
             OR (w.heartbeat_at < now() - make_interval(secs => \(lockGraceSeconds))
                 AND now() - pg_postmaster_start_time() > make_interval(secs => \(restartAllowanceSeconds))
                 AND NOT EXISTS (
                   SELECT 1 FROM pg_locks l
                   WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                     AND l.classid = \(lockNamespace)::int4::oid AND l.objid = w.id::oid))),
        lost AS MATERIALIZED (
          SELECT j.id, j.owner, j.attempt, coalesce(d.reason, 'unregistered') AS reason
          FROM \(unescaped: jobs) j LEFT JOIN dead d ON d.id = j.owner
          WHERE j.state = 'running'
            AND (d.id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM \(unescaped: workers) w WHERE w.id = j.owner))),
        rescued AS (
          UPDATE \(unescaped: jobs) j SET
            state = CASE WHEN j.metadata ? 'cancel_requested' THEN 'cancelled'
                         WHEN j.attempt >= j.max_attempts THEN 'discarded'
                         ELSE 'retryable' END::\(unescaped: state),
            finalized_at = CASE WHEN j.metadata ? 'cancel_requested' OR j.attempt >= j.max_attempts THEN now() END,
            scheduled_at = now(),
            errors = j.errors || jsonb_build_array(jsonb_build_object(
              'attempt', j.attempt, 'at', now(), 'error', 'worker process lost (' || lost.reason || ')',
              'worker', j.owner, 'rescue', lost.reason))
          FROM lost
          WHERE j.id = lost.id AND j.state = 'running' AND j.owner IS NOT DISTINCT FROM lost.owner
            AND j.attempt = lost.attempt
          RETURNING j.id, j.owner, j.attempt, lost.reason, j.state::text AS state, j.queue),
        removed AS (
          DELETE FROM \(unescaped: workers) w USING dead
          WHERE w.id = dead.id
            AND NOT EXISTS (
              SELECT 1 FROM \(unescaped: jobs) j
              WHERE j.state = 'running' AND j.owner = w.id AND j.id NOT IN (SELECT id FROM rescued))
          RETURNING w.id, dead.reason)
        SELECT 'job', id, owner, attempt, reason, state, queue FROM rescued
        UNION ALL
        SELECT 'worker', id::int8, id, 0::int2, reason, '', '' FROM removed
        """
    }
}
