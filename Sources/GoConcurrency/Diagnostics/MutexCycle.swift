// Partial deadlocks Go cannot see: goroutines each waiting for a mutex held by
// the next, found while the rest of the program runs.

/// Goroutines that wait for one another's mutexes in a ring: the first waits
/// for a `Sync.Mutex` held by the second, ..., the last for one held by the
/// first. None of them can ever go on.
public struct MutexCycle: Sendable, Hashable, CustomStringConvertible {
    /// The ring, starting with its lowest goroutine id.
    public let goroutines: [GoroutineInfo]

    public var description: String {
        let ids = goroutines.map { "goroutine \($0.id)" } + [goroutines.first.map { "goroutine \($0.id)" } ?? ""]
        return "mutex cycle: " + ids.joined(separator: " → ") + " (each waits for a mutex the next holds)\n\n"
            + GoroutineDump(goroutines: goroutines).description
    }
}

extension GoRuntime {
    /// Every ring of goroutines waiting for one another's `Sync.Mutex`es now,
    /// on every runtime. The rest of the program may be running: Go reports a
    /// deadlock only when everything is stuck, this finds the stuck part.
    ///
    /// Holders are the tasks that locked: a mutex locked by a goroutine's
    /// child task, or by a plain task, closes no ring (it may be unlocked by
    /// code the runtime cannot see).
    public static func mutexCycles() -> [MutexCycle] {
        // Who waits (a goroutine's root task) for a mutex held by whom, and
        // which mutex that edge was read from.
        var waitsFor: [UInt: UInt] = [:]
        var edgeMutex: [UInt: any MutexProbe] = [:]
        for mutex in ContendedMutexes.shared.snapshot() {
            guard let (holder, waiting) = mutex.holderAndWaiters(), holder != 0 else { continue }
            for task in waiting {
                waitsFor[task] = holder
                edgeMutex[task] = mutex
            }
        }
        if waitsFor.isEmpty { return [] }
        let byTask = Dictionary(
            GoroutineRegistry.all().map { ($0.rootTask.load(ordering: .relaxed), $0) },
            uniquingKeysWith: { first, _ in first })
        var cycles: [MutexCycle] = []
        // Each task waits for at most one mutex: follow the single edge out
        // of each, marking tasks on the current path (1) and done (2).
        var mark: [UInt: Int] = [:]
        for start in waitsFor.keys where mark[start] == nil {
            var path: [UInt] = []
            var task = start
            while mark[task] != 2 {
                if mark[task] == 1 {
                    let ring = Array(path[path.firstIndex(of: task)!...])
                    // The mutexes were read one at a time: read the ring's
                    // again. A real ring cannot have moved; a ring pieced
                    // together from moments apart (a waiter granted its mutex
                    // in between) has.
                    let stillHeld = ring.allSatisfy { waiter in
                        guard let state = edgeMutex[waiter]?.holderAndWaiters() else { return false }
                        return state.holder == waitsFor[waiter] && state.waiting.contains(waiter)
                    }
                    if stillHeld { cycles.append(contentsOf: cycle(ring, byTask)) }
                    break
                }
                guard byTask[task] != nil, let next = waitsFor[task] else { break }
                mark[task] = 1
                path.append(task)
                task = next
            }
            for task in path { mark[task] = 2 }
        }
        return cycles
    }

    private static func cycle(_ tasks: [UInt], _ byTask: [UInt: Goroutine]) -> [MutexCycle] {
        let now = Monotonic.coarseNow()
        var infos: [GoroutineInfo] = []
        for task in tasks {
            guard let goroutine = byTask[task], let wait = goroutine.waitingFor, wait.reason == .mutexLock else { return [] }
            infos.append(GoroutineInfo(goroutine, wait: wait, places: .none, now: now))
        }
        guard let lowest = infos.indices.min(by: { infos[$0].id < infos[$1].id }) else { return [] }
        return [MutexCycle(goroutines: Array(infos[lowest...] + infos[..<lowest]))]
    }
}
