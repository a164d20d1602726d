// ChaosSummary: what the chaos test prints at the end — the run's events
// (kills, restart, drain), the jobs by state, the duplicates, the rescues,
// what the workers' logs say about fenced and retried outcomes — and every
// violation. Also what is read from the workers' logs.
import Foundation

/// Counts of the workers' log lines that tell what the database cannot:
/// fenced outcomes (an attempt that was no longer the live one when its
/// outcome came), retried outcomes and lost control connections.
enum WorkerLogs {
    /// Phrases of DurableWorkers' and JobStore's log messages, as printed.
    static let phrases: [(label: String, phrase: String)] = [
        ("transactional completions fenced", "transactional completion fenced"),
        ("completions fenced", "completion fenced"),
        ("failures fenced", "failure fenced"),
        ("outcomes retried", "recording an outcome failed, retrying"),
        ("outcomes not recorded", "outcome not recorded"),
        ("fetches failed", "fetch failed"),
        ("rescues run by a worker failed", "rescue failed"),
        ("jobs rescued (by the workers' rescue)", "job rescued"),
        ("control connections lost", "control connection lost"),
        ("control connections restored", "control connection restored"),
        ("registered again", "worker process registered again"),
    ]

    static func lines(of log: URL) -> [Substring] {
        guard let data = FileManager.default.contents(atPath: log.path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n")
    }

    /// How many lines of all `logs` carry each phrase (a line counts for the
    /// first phrase it carries, in the order above).
    static func count(in logs: [URL]) -> [(String, Int)] {
        var counts = [Int](repeating: 0, count: phrases.count)
        for log in logs {
            for line in lines(of: log) {
                if let index = phrases.firstIndex(where: { line.contains($0.phrase) }) {
                    counts[index] += 1
                }
            }
        }
        return zip(phrases, counts).map { ($0.0.label, $0.1) }
    }

    /// The processes that were declared dead while alive and registered
    /// again under a new worker id.
    static func reregistrations(in children: [WorkerChildren.Child]) -> [(WorkerChildren.Child, Int)] {
        children.compactMap { child in
            let count = lines(of: child.log).filter { $0.contains("worker process registered again") }.count
            return count > 0 ? (child, count) : nil
        }
    }
}

extension ChaosRun {
    func printSummary(
        _ verification: Verification, kills: [KillRecord], restart: RestartRecord?, notes: [String],
        logCounts: [(String, Int)], workStarted: ContinuousClock.Instant, killsEnded: ContinuousClock.Instant,
        drained: ContinuousClock.Instant?, children: WorkerChildren
    ) {
        func format(_ value: Double) -> String { String(format: "%.1f", value) }
        func list(_ counts: [String: Int]) -> String {
            counts.isEmpty ? "none" : counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        var lines: [String] = []
        lines.append("== durable-chaos summary ==")
        lines.append("seed                \(plan.seed)")
        lines.append("schema              \(plan.schema)")
        lines.append("jobs                \(plan.jobs) enqueued (\(plan.jobs - plan.jobs / 2) plain, \(plan.jobs / 2) transactional), \(verification.totalJobs) in the table")
        lines.append("processes           \(plan.processes) x \(plan.workersPerProcess) workers; \(children.started.count) started in all")
        lines.append("kills (SIGKILL)     \(kills.count) in \(format(plan.killFor.seconds)) s, every \(plan.killEvery.lowerBound)-\(plan.killEvery.upperBound) s")
        for kill in kills {
            lines.append("  #\(kill.number) at \(seconds(kill.at)): slot \(kill.slot), pid \(kill.pid), worker \(kill.workers.sorted().map(String.init).joined(separator: ",")), replaced by pid \(kill.replacement.map(String.init) ?? "none")")
        }
        if let restart {
            lines.append("database restart    at \(seconds(restart.began)) (\(format((restart.began - workStarted).seconds)) s into the work), took \(format((restart.ended - restart.began).seconds)) s, exit \(restart.status)")
        } else {
            lines.append("database restart    none")
        }
        for note in notes { lines.append("note                \(note)") }
        lines.append("jobs by state       \(list(verification.states))")
        lines.append("effects             \(verification.effects) rows for \(verification.totalJobs) jobs (\(verification.extraEffects) beyond one per job)")
        lines.append("duplicated jobs     plain \(verification.duplicatedPlain) (effects repeated after an answer the restart lost: \(verification.lostAnswers)), transactional \(verification.duplicatedTransactional)")
        lines.append("rescues             \(list(verification.rescuesByReason)) (\(verification.rescuedFromKilled) of jobs of killed processes)")
        lines.append("failed attempts     \(verification.failures.values.reduce(0, +))")
        for (message, count) in verification.failures.sorted(by: { $0.value > $1.value }).prefix(5) {
            lines.append("  \(count) x \(message)")
        }
        lines.append("completing attempt  \(verification.attempts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", "))")
        lines.append("hand-backs          \(verification.handbacks)")
        lines.append("worker logs         \(logCounts.map { "\($0.0) \($0.1)" }.joined(separator: ", "))")
        if let drained {
            let work = (drained - workStarted).seconds
            lines.append("drained             \(format((drained - killsEnded).seconds)) s after the kills ended; \(plan.jobs) jobs in \(format(work)) s: \(Int(Double(plan.jobs) / work)) jobs/s")
        } else {
            lines.append("drained             no")
        }
        lines.append("wall time           \(format((ContinuousClock.now - began).seconds)) s")
        lines.append("worker logs in      \(plan.logDirectory.path)")
        if verification.failed {
            lines.append("RESULT              FAIL: \(verification.violations.count) violation(s)")
            for violation in verification.violations.prefix(Verification.listed) {
                lines.append("  violation: \(violation)")
            }
            if verification.violations.count > Verification.listed {
                lines.append("  … and \(verification.violations.count - Verification.listed) more")
            }
        } else {
            lines.append("RESULT              PASS: every job completed, none running, transactional duplicates 0, every duplicate from a killed process's rescued attempt")
        }
        print(lines.joined(separator: "\n"))
        fflush(nil)  // every output stream: stdout is a C global Swift 6 refuses
    }
}
