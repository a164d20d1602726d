// The lock every GoConcurrency structure is guarded by: a pthread mutex.
//
// Why not Synchronization.Mutex: on Linux it locks through futex system calls
// that the thread sanitizer cannot see, so under `swift test --sanitize=thread`
// every access it protects is reported as a race. The sanitizer intercepts
// pthread mutexes, and uncontended they cost the same (a compare-and-swap in
// and out). Measured: no difference in gobench.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A pthread mutex on the heap. A trivial handle: its owner creates it once
/// and destroys it in its `deinit`.
@usableFromInline
struct Lock: @unchecked Sendable {
    @usableFromInline let mutex: UnsafeMutablePointer<pthread_mutex_t>

    @usableFromInline
    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    @inlinable
    func lock() {
        pthread_mutex_lock(mutex)
    }

    @inlinable
    func unlock() {
        pthread_mutex_unlock(mutex)
    }

    /// Only by the owner, once nobody can use the lock any more.
    @usableFromInline
    func destroy() {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }
}

/// A value and the lock that guards it: `Mutex` with a pthread lock.
@usableFromInline
final class Locked<State>: @unchecked Sendable {
    @usableFromInline let guardLock = Lock()
    /// Protected by `guardLock`.
    @usableFromInline @exclusivity(unchecked) var state: State

    @inlinable
    init(_ state: State) {
        self.state = state
    }

    deinit {
        guardLock.destroy()
    }

    @inlinable
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        guardLock.lock()
        defer { guardLock.unlock() }
        return try body(&state)
    }
}
