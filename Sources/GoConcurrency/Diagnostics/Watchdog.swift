// A thread that looks at every goroutine now and then (Go's sysmon, for
// diagnostics): goroutines waiting longer than a threshold, and rings of
// goroutines waiting for one another's mutexes, each reported once, while
// the rest of the program runs.
//
// Invariants:
// - The watchdog's thread alone touches `reported` state (in `run`).
// - `stopped` is set once; the thread sees it at its next wake-up (`stop`
//   wakes it) and ends.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reports stuck goroutines while a program runs: each wait longer than
/// `longWait` once (with its dump entry), and each ring of goroutines waiting
/// for one another's `Sync.Mutex`es once.
///
///     let watchdog = Watchdog(every: .seconds(1), longWait: .seconds(30),
///                             onLongWait: { logger.warning("\($0)") },
///                             onMutexCycle: { logger.error("\($0)") })
///     ...
///     watchdog.stop()
///
/// It runs on a thread of its own that wakes every `interval`; a look costs
/// about a microsecond per live goroutine. Hooks are called on that thread.
public final class Watchdog: Sendable {
    private let control = Control()

    /// What `stop` and the thread share.
    private final class Control: Sendable {
        let parker = ThreadParker()
        let stopped = Atomic<Bool>(false)
    }

    /// Starts watching.
    ///
    /// - Parameters:
    ///   - interval: How often to look.
    ///   - longWait: Report goroutines that have waited at least this long;
    ///     `nil` reports none.
    ///   - onLongWait: Called once per wait that reached `longWait`.
    ///   - onMutexCycle: Called once per ring of goroutines stuck on mutexes.
    public init(
        every interval: Duration = .seconds(1),
        longWait: Duration? = nil,
        onLongWait: @escaping @Sendable (GoroutineInfo) -> Void = { _ in },
        onMutexCycle: @escaping @Sendable (MutexCycle) -> Void = { _ in }
    ) {
        let period = max(Monotonic.nanoseconds(interval), 1_000_000)
        let threshold = longWait.map(Monotonic.nanoseconds)
        let box = Unmanaged.passRetained(Box { [control] in
            let parker = control.parker
            var reportedWaits: Set<WaitKey> = []
            var reportedCycles: Set<Set<WaitKey>> = []
            while !control.stopped.load(ordering: .acquiring) {
                _ = parker.park(until: Monotonic.now() &+ period)
                if control.stopped.load(ordering: .acquiring) { return }
                if let threshold {
                    var seen: Set<WaitKey> = []
                    for info in GoRuntime.goroutines() {
                        guard let key = WaitKey(info) else { continue }
                        seen.insert(key)
                        if Monotonic.nanoseconds(info.waitDuration ?? .zero) >= threshold, reportedWaits.insert(key).inserted {
                            onLongWait(info)
                        }
                    }
                    reportedWaits.formIntersection(seen)
                }
                var current: Set<Set<WaitKey>> = []
                for cycle in GoRuntime.mutexCycles() {
                    let key = Set(cycle.goroutines.compactMap(WaitKey.init))
                    current.insert(key)
                    if reportedCycles.insert(key).inserted { onMutexCycle(cycle) }
                }
                reportedCycles.formIntersection(current)
            }
        })
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { context in
            let box = Unmanaged<Box>.fromOpaque(context!).takeRetainedValue()
            box.body()
            return nil
        }, box.toOpaque())
        if result != 0 { goFatal("Watchdog: cannot start its thread (pthread_create: \(result))") }
        pthread_detach(thread)
    }

    deinit {
        stop()
    }

    /// Stops watching: the thread ends before its next look (a look in
    /// progress, and the hooks it calls, finish first). Dropping the last
    /// reference to the watchdog stops it too.
    public func stop() {
        control.stopped.store(true, ordering: .releasing)
        control.parker.unpark()
    }

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// One wait of one goroutine.
    private struct WaitKey: Hashable {
        let id: Int
        let since: UInt64

        init?(_ info: GoroutineInfo) {
            guard info.waitSince != 0 else { return nil }
            id = info.id
            since = info.waitSince
        }
    }
}
