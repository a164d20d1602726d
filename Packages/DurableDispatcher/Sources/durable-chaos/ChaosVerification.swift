// ChaosVerification: what the chaos test demands of the store once the
// queue has drained, computed from the jobs and the effects the `chaos`
// jobs wrote:
//
// - every job enqueued is there and completed (none running, pending,
//   discarded or cancelled);
// - the attempt that completed a job wrote exactly one effect (the plain
//   job's effect comes before its completion, the transactional job's inside
//   it);
// - a transactional job has exactly one effect row: no duplicate at all;
// - every other effect (a plain job's duplicate) was written by an attempt
//   that ran in a process this harness killed, and that attempt carries a
//   rescue entry in the job's errors (same attempt, same worker); so every
//   duplicated job has a rescue entry naming a killed process's worker id;
//   The one other way a plain job's effect can repeat is the restart: the
//   effect's own statement committed and the session ended before its
//   answer arrived, so the attempt failed with a lost connection (its entry
//   in the job's errors says so) and the retry wrote the effect again. That
//   is at-least-once delivery, and it is counted apart (`lostAnswers`), not
//   a violation; a transactional job cannot repeat that way;
// - no job was rescued from a process that was not killed (a live process
//   declared dead: after the database restart, say).
//
// Anything else is a violation, named with the job, its effects and its
// errors so that it can be looked up in the workers' logs.
import Foundation

struct JobRow: Sendable {
    let id: Int64
    let state: String
    let transactional: Bool
    let attempt: Int16
    let owner: Int32?
    let errors: [ErrorEntry]
    let errorsJSON: String
    let handbacks: Int
}

/// One entry of a job's `errors` (a failed attempt, or a rescue).
struct ErrorEntry: Decodable, Sendable {
    let attempt: Int
    let error: String
    let worker: Int32?
    /// `lock`, `lease` or `unregistered` for a rescue; nil for a failure.
    let rescue: String?
}

struct EffectRow: Sendable {
    let jobID: Int64
    let attempt: Int32
    let worker: Int32
    let pid: Int32
}

struct Verification {
    var states: [String: Int] = [:]
    var totalJobs = 0
    var duplicatedPlain = 0
    var duplicatedTransactional = 0
    /// Plain jobs' extra effects from an attempt whose answer the database
    /// restart lost (see the file's header).
    var lostAnswers = 0
    /// Effect rows beyond one per job.
    var extraEffects = 0
    var effects = 0
    var rescuesByReason: [String: Int] = [:]
    var rescuedFromKilled = 0
    /// Failed attempts (errors entries that are not rescues), by message.
    var failures: [String: Int] = [:]
    var handbacks = 0
    /// Jobs by the attempt that completed them.
    var attempts: [Int16: Int] = [:]
    var violations: [String] = []

    /// At most this many violations are listed one by one.
    static let listed = 40

    /// `processes`: each worker id's process (pid, log), for the messages.
    init(
        expectedJobs: Int, jobs: [JobRow], effects: [EffectRow], killedPids: Set<Int32>, killedWorkers: Set<Int32>,
        processes: [Int32: String] = [:]
    ) {
        totalJobs = jobs.count
        self.effects = effects.count
        if jobs.count != expectedJobs {
            violations.append("\(jobs.count) jobs in the table, \(expectedJobs) enqueued")
        }
        let effectsByJob = Dictionary(grouping: effects, by: \.jobID)
        let jobIDs = Set(jobs.map(\.id))
        for (id, rows) in effectsByJob where !jobIDs.contains(id) {
            violations.append("\(rows.count) effect rows of job \(id), which is not in the table")
        }
        for job in jobs {
            check(
                job, effects: effectsByJob[job.id] ?? [], killedPids: killedPids, killedWorkers: killedWorkers,
                processes: processes)
        }
    }

    private mutating func check(
        _ job: JobRow, effects: [EffectRow], killedPids: Set<Int32>, killedWorkers: Set<Int32>, processes: [Int32: String]
    ) {
        states[job.state, default: 0] += 1
        handbacks += job.handbacks
        let kind = job.transactional ? "transactional" : "plain"
        let described = { "job \(job.id) (\(kind), \(job.state), attempt \(job.attempt), owner \(job.owner.map(String.init) ?? "none")): effects \(effects.map { "(attempt \($0.attempt), worker \($0.worker), pid \($0.pid))" }.joined(separator: " ")), errors \(job.errorsJSON)" }
        for entry in job.errors {
            if let reason = entry.rescue {
                rescuesByReason[reason, default: 0] += 1
                if let worker = entry.worker, killedWorkers.contains(worker) {
                    rescuedFromKilled += 1
                } else {
                    violations.append("rescued from worker \(entry.worker.map(String.init) ?? "none"), which was not killed: \(described())")
                }
            } else {
                failures[String(entry.error.prefix(120)), default: 0] += 1
            }
        }
        guard job.state == "completed" else {
            let process = job.owner.flatMap { processes[$0] }.map { " (owner's process: \($0))" } ?? ""
            violations.append("not completed\(process): \(described())")
            return
        }
        attempts[job.attempt, default: 0] += 1
        let completing = effects.filter { $0.attempt == Int32(job.attempt) && $0.worker == job.owner }
        if completing.count != 1 {
            violations.append("the completing attempt wrote \(completing.count) effects: \(described())")
        }
        if effects.count > 1 {
            extraEffects += effects.count - 1
            if job.transactional {
                duplicatedTransactional += 1
                violations.append("a transactional job's effect duplicated: \(described())")
            } else {
                duplicatedPlain += 1
            }
        }
        // The attempt of `effect` failed because the session ended before
        // its answer arrived (plain jobs only: see the header).
        let answerLost = { (effect: EffectRow) in
            !job.transactional && job.errors.contains {
                $0.rescue == nil && $0.attempt == Int(effect.attempt) && $0.worker == effect.worker
                    && Verification.isConnectionLoss($0.error)
            }
        }
        for effect in effects where !(effect.attempt == Int32(job.attempt) && effect.worker == job.owner) {
            let rescued = job.errors.contains { $0.rescue != nil && $0.attempt == Int(effect.attempt) && $0.worker == effect.worker }
            if answerLost(effect) {
                lostAnswers += 1
                continue
            }
            if !killedPids.contains(effect.pid) || !rescued {
                violations.append("an effect of attempt \(effect.attempt) (worker \(effect.worker), pid \(effect.pid), \(killedPids.contains(effect.pid) ? "killed" : "not killed")) that did not complete the job and \(rescued ? "was" : "was not") rescued: \(described())")
            }
        }
    }

    var failed: Bool { !violations.isEmpty }

    /// Whether an attempt's error says its connection ended under it.
    static func isConnectionLoss(_ error: String) -> Bool {
        error.contains("the database connection closed before the statement was answered")
            || error.contains("57P01") || error.contains("ClosedConnection")
    }
}

extension JobRow {
    static func decodeErrors(_ json: String) throws -> [ErrorEntry] {
        try JSONDecoder().decode([ErrorEntry].self, from: Data(json.utf8))
    }
}
