// The random order in which a select looks at its cases (Go's pollorder).
//
// A uniform random permutation (Fisher-Yates), so that among the cases ready
// at once each is first with equal chance (Guarantees, rule 17). Up to 16 cases it lives in
// one UInt64, four bits a case; each swap draws from 16 fresh random bits by
// multiply-shift (bias below 16/65536 of a share, far inside Go's bound; no
// division). Larger selects use an array.

@usableFromInline
struct PollOrder {
    @usableFromInline var packed: UInt64 = 0
    @usableFromInline var large: [Int] = []
    @usableFromInline let count: Int

    @inlinable
    init(count: Int) {
        self.count = count
        if count <= 1 { return }
        if count <= 16 {
            var random = FastRandom.next()
            var bitsLeft = 64
            for i in 1..<count {
                if bitsLeft < 16 {
                    random = FastRandom.next()
                    bitsLeft = 64
                }
                let j = Int(truncatingIfNeeded: ((random & 0xFFFF) &* UInt64(i + 1)) &>> 16)
                random &>>= 16
                bitsLeft -= 16
                // Inside-out shuffle: slot i takes slot j's case, slot j takes i.
                // Masking shifts (`&<<`): every shift is below 64, and the
                // plain operators branch on the amount.
                let atJ = (packed &>> UInt64(4 * j)) & 0xF
                packed |= atJ &<< UInt64(4 * i)
                packed = (packed & ~(0xF &<< UInt64(4 * j))) | (UInt64(i) &<< UInt64(4 * j))
            }
        } else {
            large = Array(0..<count)
            for i in stride(from: count - 1, to: 0, by: -1) {
                large.swapAt(i, FastRandom.below(i + 1, using: FastRandom.next()))
            }
        }
    }

    /// Cases in source order: for a select with at most one channel case,
    /// which has nothing to choose between.
    @inlinable
    init(sourceOrderOf count: Int) {
        self.count = count
        if count <= 16 {
            packed = 0xFEDC_BA98_7654_3210
        } else {
            large = Array(0..<count)
        }
    }

    /// The case to look at `position`-th.
    @inlinable
    subscript(position: Int) -> Int {
        count <= 16 ? Int(truncatingIfNeeded: (packed &>> UInt64(4 * position)) & 0xF) : large[position]
    }
}
