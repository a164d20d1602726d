// Parks one OS thread until another thread unparks it: the thread-side
// counterpart of a continuation, for `blockingSend` and `blockingReceive`, and
// the sleep of an idle processor (until a timer's deadline, if one is due;
// the sleeper role's sleep is in the network poller once the runtime has
// one, and `unpark` then breaks it through the poller's eventfd).
//
// Invariants: `permit` and `pollingIn` are protected by `mutex`. `unpark`
// leaves a permit (one, however often it is called); `park` waits for it and
// consumes it, so an unpark that comes before the park is not lost.
// `pollingIn` is set only while the owner sleeps in that poller
// (`parkPolling`): an `unpark` while it is set also breaks that sleep
// through the poller; one before or after only leaves the permit, which
// `parkPolling` checks on its way in and consumes on its way out.
// A pthread mutex and condition (not a futex of our own) so that the thread
// sanitizer sees the hand-over.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
final class ThreadParker: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var permit = false
    #if os(Linux)
    /// The poller the owner sleeps in instead of on the condition, while it
    /// does (`parkPolling`); `unpark` then wakes it through the poller.
    private unowned(unsafe) var pollingIn: Poller?
    #endif

    @usableFromInline
    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if !canImport(Darwin)
        // Deadlines are CLOCK_MONOTONIC times (`Monotonic`).
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Blocks the calling thread until `unpark` (which may already have
    /// happened), and consumes the permit.
    @usableFromInline
    func park() {
        pthread_mutex_lock(mutex)
        while !permit {
            pthread_cond_wait(condition, mutex)
        }
        permit = false
        pthread_mutex_unlock(mutex)
    }

    /// Blocks the calling thread until `unpark` or until `deadline` (a
    /// `Monotonic` time), whichever comes first, and consumes the permit if
    /// there is one. True if it was unparked, false if the deadline passed.
    @discardableResult
    func park(until deadline: UInt64) -> Bool {
        pthread_mutex_lock(mutex)
        while !permit {
            let now = Monotonic.now()
            if now >= deadline { break }
            #if canImport(Darwin)
            // Darwin's condition variables wait on the realtime clock only:
            // wait for the remaining time instead of until a monotonic instant.
            let remaining = deadline - now
            var interval = timespec(tv_sec: Int(remaining / 1_000_000_000), tv_nsec: Int(remaining % 1_000_000_000))
            pthread_cond_timedwait_relative_np(condition, mutex, &interval)
            #else
            var until = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
            pthread_cond_timedwait(condition, mutex, &until)
            #endif
        }
        let unparked = permit
        permit = false
        pthread_mutex_unlock(mutex)
        return unparked
    }

    @usableFromInline
    func unpark() {
        pthread_mutex_lock(mutex)
        permit = true
        pthread_cond_signal(condition)
        #if os(Linux)
        // Under the mutex: the sleeper leaves the poller under it, so the
        // poller (and its eventfd) outlives this write.
        pollingIn?.wakeSleeper()
        #endif
        pthread_mutex_unlock(mutex)
    }

    #if os(Linux)
    /// Runs `poll` (a sleep in `poller`) in place of a park, unless a permit
    /// is already there; an `unpark` meanwhile wakes the poller's sleeper.
    /// Consumes the permit. True if it was unparked.
    func parkPolling(in poller: Poller, _ poll: () -> Void) -> Bool {
        pthread_mutex_lock(mutex)
        if permit {
            permit = false
            pthread_mutex_unlock(mutex)
            return true
        }
        pollingIn = poller
        pthread_mutex_unlock(mutex)
        poll()
        pthread_mutex_lock(mutex)
        pollingIn = nil
        let unparked = permit
        permit = false
        pthread_mutex_unlock(mutex)
        return unparked
    }
    #endif
}
