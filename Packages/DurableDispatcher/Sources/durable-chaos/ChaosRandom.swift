// ChaosRandom: the chaos test's one source of randomness — each job's
// duration, the pause before each kill, which process is killed — seeded
// and printed, so a failing run's schedule can be asked for again (the
// processes' timing still differs from run to run: the seed fixes what the
// harness does, not what the machine does).

/// SplitMix64: a small generator whose whole state is one word, the same on
/// every platform and release (the standard library's generator is neither
/// seedable nor stable).
struct ChaosRandom: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
