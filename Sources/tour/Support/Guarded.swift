// A value behind a pthread mutex, for the tour's shared state.
//
// A pthread mutex rather than Synchronization.Mutex: the thread sanitizer
// sees pthread locking (it intercepts it) but not the futex under
// Synchronization.Mutex, and `swift test --sanitize=thread` runs the tour.
// Invariant: `value` is only touched between lock and unlock of `mutex`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class Guarded<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}
