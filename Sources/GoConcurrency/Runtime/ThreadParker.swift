// Parks one OS thread until another thread unparks it: the thread-side
// counterpart of a continuation, for `blockingSend` and `blockingReceive`, and
// the sleep of an idle processor.
//
// Invariants: `permit` is protected by `mutex`. `unpark` leaves a permit (one,
// however often it is called); `park` waits for it and consumes it, so an
// unpark that comes before the park is not lost.
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

    @usableFromInline
    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
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

    @usableFromInline
    func unpark() {
        pthread_mutex_lock(mutex)
        permit = true
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }
}
