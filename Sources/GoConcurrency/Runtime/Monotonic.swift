// The runtime's clock: nanoseconds of CLOCK_MONOTONIC, the clock the timer
// thread's condition variable waits on.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
enum Monotonic {
    /// Now, in nanoseconds since an arbitrary fixed point.
    @usableFromInline
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// Now, to a few milliseconds (the kernel's tick), at a fraction of
    /// `now()`'s cost: when a goroutine began to wait.
    @usableFromInline
    static func coarseNow() -> UInt64 {
        var spec = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &spec)
        #else
        clock_gettime(CLOCK_MONOTONIC, &spec)
        #endif
        return UInt64(spec.tv_sec) &* 1_000_000_000 &+ UInt64(spec.tv_nsec)
    }

    /// `duration` in whole nanoseconds, clamped to zero below and to about 292
    /// years above.
    @inlinable
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        if seconds >= 9_000_000_000 { return 9_000_000_000 * 1_000_000_000 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000)
    }

    /// The deadline `duration` from now.
    @inlinable
    static func deadline(after duration: Duration) -> UInt64 {
        now() &+ nanoseconds(duration)
    }
}
