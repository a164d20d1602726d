// Cheap random numbers for select's poll order (Go's fastrand).
//
// A shared SplitMix64 sequence: each call takes the next counter value with one
// relaxed atomic add and mixes it. Not cryptographic; uniform enough for
// choosing among ready cases, and seeded per process so runs differ.

import Synchronization

@usableFromInline
enum FastRandom {
    @usableFromInline
    static let counter = Atomic<UInt64>(UInt64.random(in: .min ... .max))

    @inlinable
    static func next() -> UInt64 {
        var z = counter.wrappingAdd(0x9E37_79B9_7F4A_7C15, ordering: .relaxed).newValue
        z = (z ^ (z &>> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z &>> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z &>> 31)
    }

    /// A uniform number in `0..<bound`, from the high bits of `random` (Lemire's
    /// multiply-shift; the bias for the small bounds used here is below 2^-56).
    @inlinable
    static func below(_ bound: Int, using random: UInt64) -> Int {
        Int(truncatingIfNeeded: random.multipliedFullWidth(by: UInt64(bound)).high)
    }
}
