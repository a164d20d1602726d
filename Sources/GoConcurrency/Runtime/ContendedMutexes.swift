// The mutexes goroutines have queued on: where the mutex-cycle check looks
// for "waits for a mutex held by". The runtime keeps the list so that the
// layers below the diagnostics can fill it: a sync primitive with one holder
// adds itself here when a goroutine queues on it (`SyncStorage`), and the
// diagnostics read it (`MutexCycle`, which the `Watchdog` also runs).
//
// Invariants:
// - `entries` (under `lock`) holds weak references, keyed by identity: a
//   listed mutex stays as long as its owners keep it, no longer.
// - A mutex is added after its storage's lock is released, and `prune` and
//   `snapshot` read mutexes' states only after releasing `lock`, so this lock
//   and a storage's lock are never held together.

final class ContendedMutexes: @unchecked Sendable {
    static let shared = ContendedMutexes()

    private struct Entry {
        weak var storage: (any MutexProbe)?
    }

    private let lock = Locked<[ObjectIdentifier: Entry]>([:])
    /// The size at which the next `add` prunes.
    private var pruneAt = 64

    func add(_ storage: any MutexProbe) {
        let key = ObjectIdentifier(storage)
        let needsPrune = lock.withLock { entries -> Bool in
            if entries[key]?.storage != nil { return false }
            entries[key] = Entry(storage: storage)
            return entries.count >= pruneAt
        }
        if needsPrune { prune() }
    }

    /// The listed mutexes that still exist.
    func snapshot() -> [any MutexProbe] {
        lock.withLock { entries in entries.values.compactMap(\.storage) }
    }

    /// Drops the mutexes that are gone or have nobody queued.
    private func prune() {
        let idle = snapshot().filter { $0.holderAndWaiters()?.waiting.isEmpty ?? true }.map(ObjectIdentifier.init)
        lock.withLock { entries in
            for key in idle { entries[key] = nil }
            entries = entries.filter { $0.value.storage != nil }
            pruneAt = max(64, entries.count * 2)
        }
    }
}

/// A lock with one holder whose queue the mutex-cycle check can read.
protocol MutexProbe: AnyObject {
    /// The holding task and the queued tasks (`TaskIdentity.bits`), or nil
    /// if it has no single holder.
    func holderAndWaiters() -> (holder: UInt, waiting: [UInt])?
}
