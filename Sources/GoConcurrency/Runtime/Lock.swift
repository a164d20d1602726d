// The lock every GoConcurrency structure is guarded by: one atomic word,
// spinning briefly and then yielding the CPU while another thread holds it.
//
// Why not Synchronization.Mutex: on Linux its fast path is compiled into the
// standard library, out of the thread sanitizer's sight, so under
// `swift test --sanitize=thread` every access it protects is reported as a
// race. Why not a pthread mutex: it costs a call and its bookkeeping on every
// lock; a ping-pong round trip takes eight, and measured 880 -> 1446 ns.
// Here the compare-and-swap that takes the lock is inlined into the caller, and
// the store that releases it is one call into this module (`unlock` says why it
// is not inlined): the sanitizer sees the acquire and the release, and an
// uncontended lock costs one atomic instruction each way.
//
// The critical sections it guards are a few dozen instructions (a channel's
// state machine, a run queue), so a waiter spins a little and then yields
// (sched_yield) rather than sleeping in the kernel, as Go's runtime lock spins
// before it sleeps. It is not fair and not reentrant.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
struct Lock: ~Copyable, @unchecked Sendable {
    @usableFromInline let word = Atomic<UInt32>(0)

    @inlinable
    init() {}

    @inlinable
    borrowing func lock() {
        if word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            return
        }
        lockContended()
    }

    @usableFromInline
    borrowing func lockContended() {
        var spins = 0
        while true {
            if word.load(ordering: .relaxed) == 0,
               word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
                return
            }
            spins += 1
            if spins > 64 {
                sched_yield()
            }
        }
    }

    /// Releases the lock. Not inlined, on purpose: to the optimizer the call
    /// is opaque, and it moves no retain from before it to after it. Inlined,
    /// the releasing store is invisible to the ARC optimizer, which then sank
    /// the retain of a closure a send had just queued past the unlock; a
    /// receiver on another thread could take the queued copy, call it and
    /// release it before that retain, freeing it under the sender (gobench's
    /// workpool_8 crashed in about 1 run in 140).
    @inlinable
    borrowing func unlock() {
        releaseWord()
    }

    @usableFromInline @inline(never)
    borrowing func releaseWord() {
        word.store(0, ordering: .releasing)
    }
}

/// A value and the lock that guards it, for the runtime's shared queues.
@usableFromInline
final class Locked<State>: @unchecked Sendable {
    @usableFromInline let guardLock = Lock()
    /// Protected by `guardLock`.
    @usableFromInline @exclusivity(unchecked) var state: State

    @inlinable
    init(_ state: State) {
        self.state = state
    }

    @inlinable
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        guardLock.lock()
        defer { guardLock.unlock() }
        return try body(&state)
    }
}
