// Deadlines for select timeouts and sleeps: one heap of pending timers and one
// thread that sleeps until the earliest of them. The thread exists only once a
// timer has been armed, and it never wakes while nothing is due: it waits on a
// condition variable until the earliest deadline, or for ever when the heap is
// empty.
//
// Invariants (all protected by `mutex`):
// - `heap` holds every pending entry once, ordered by (deadline, sequence), and
//   may also hold cancelled entries; `cancelledCount` counts those.
// - An entry's `state` goes from pending to fired or cancelled, once.
// - Actions run on the timer thread with no lock held.
// - Cancelled entries are dropped when they reach the top, and the whole heap is
//   rebuilt without them once they are more than half of it, so a loop of
//   selects whose timeouts never fire does not grow memory (rule 25).

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HeapModule

@usableFromInline
final class TimerEntry: @unchecked Sendable {
    @usableFromInline enum State { case pending, fired, cancelled }

    let deadline: UInt64
    let action: @Sendable () -> Void
    /// Protected by the queue's mutex.
    var state = State.pending

    init(deadline: UInt64, action: @escaping @Sendable () -> Void) {
        self.deadline = deadline
        self.action = action
    }
}

@usableFromInline
final class TimerQueue: @unchecked Sendable {
    private struct Item: Comparable {
        let deadline: UInt64
        let sequence: UInt64
        let entry: TimerEntry

        static func < (a: Item, b: Item) -> Bool {
            (a.deadline, a.sequence) < (b.deadline, b.sequence)
        }
        static func == (a: Item, b: Item) -> Bool {
            a.sequence == b.sequence
        }
    }

    @usableFromInline
    static let shared = TimerQueue()

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var heap = Heap<Item>()
    private var sequence: UInt64 = 0
    private var cancelledCount = 0
    private var threadStarted = false

    private init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    /// Arms a timer that runs `action` on the timer thread at `deadline`
    /// (a `Monotonic` time).
    @usableFromInline
    func schedule(at deadline: UInt64, _ action: @escaping @Sendable () -> Void) -> TimerEntry {
        let entry = TimerEntry(deadline: deadline, action: action)
        pthread_mutex_lock(mutex)
        sequence &+= 1
        let becomesFirst = heap.min.map { deadline < $0.deadline } ?? true
        heap.insert(Item(deadline: deadline, sequence: sequence, entry: entry))
        if !threadStarted {
            threadStarted = true
            startThread()
        } else if becomesFirst {
            pthread_cond_signal(condition)
        }
        pthread_mutex_unlock(mutex)
        return entry
    }

    /// Disarms `entry`. True if it was still pending: its action will not run.
    @usableFromInline
    @discardableResult
    func cancel(_ entry: TimerEntry) -> Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard entry.state == .pending else { return false }
        entry.state = .cancelled
        cancelledCount += 1
        if cancelledCount > 256 && cancelledCount * 2 > heap.count {
            heap = Heap(heap.unordered.filter { $0.entry.state == .pending })
            cancelledCount = 0
        }
        return true
    }

    /// The number of entries in the heap, cancelled ones included (for tests).
    var storedCount: Int {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return heap.count
    }

    private func startThread() {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<TimerQueue>.fromOpaque(context!).takeRetainedValue().run()
        }, context)
        precondition(result == 0, "GoConcurrency: cannot start the timer thread (pthread_create: \(result))")
        pthread_detach(thread)
    }

    private func run() -> Never {
        pthread_mutex_lock(mutex)
        var due: [TimerEntry] = []
        while true {
            while let top = heap.min, top.entry.state == .cancelled {
                heap.removeMin()
                cancelledCount -= 1
            }
            guard let top = heap.min else {
                pthread_cond_wait(condition, mutex)
                continue
            }
            let now = Monotonic.now()
            if top.deadline > now {
                #if canImport(Darwin)
                // Darwin's condition variables wait on the realtime clock only:
                // wait for the remaining time instead of until a monotonic instant.
                let remaining = top.deadline - now
                var interval = timespec(
                    tv_sec: Int(remaining / 1_000_000_000),
                    tv_nsec: Int(remaining % 1_000_000_000))
                pthread_cond_timedwait_relative_np(condition, mutex, &interval)
                #else
                var until = timespec(
                    tv_sec: Int(top.deadline / 1_000_000_000),
                    tv_nsec: Int(top.deadline % 1_000_000_000))
                pthread_cond_timedwait(condition, mutex, &until)
                #endif
                continue
            }
            while let first = heap.min, first.deadline <= now {
                heap.removeMin()
                if first.entry.state == .pending {
                    first.entry.state = .fired
                    due.append(first.entry)
                } else {
                    cancelledCount -= 1
                }
            }
            pthread_mutex_unlock(mutex)
            for entry in due {
                entry.action()
            }
            due.removeAll(keepingCapacity: true)
            pthread_mutex_lock(mutex)
        }
    }
}
