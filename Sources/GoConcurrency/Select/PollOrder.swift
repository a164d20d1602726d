// The random order in which a select looks at its cases (Go's pollorder).
//
// A uniform random permutation, so that among the cases ready at once each is
// first with equal chance (Guarantees, rule 17): for two to four cases one of
// the count! orders drawn at once from a table, for more a Fisher-Yates
// shuffle. Up to 16 cases it lives in
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
        if count <= 4 {
            // Two to four cases (most selects): one of the count! orders,
            // drawn by one multiply-shift and read from a table, rather than
            // three swaps of four-bit fields at shifts known only at run time
            // (select4: 143 -> about 40 instructions per select).
            let random = FastRandom.next() & 0xFFFF_FFFF
            switch count {
            case 2:
                packed = random & 1 == 0 ? 0x10 : 0x01
            case 3:
                packed = Self.orderOf3(Int(truncatingIfNeeded: (random &* 6) &>> 32))
            default:
                packed = Self.orderOf4(Int(truncatingIfNeeded: (random &* 24) &>> 32))
            }
            return
        }
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

    /// The `index`-th of the 6 orders of three cases (packed as `packed` is).
    @inlinable @inline(__always)
    static func orderOf3(_ index: Int) -> UInt64 {
        switch index {
        case 0: 0x210
        case 1: 0x120
        case 2: 0x201
        case 3: 0x021
        case 4: 0x102
        default: 0x012
        }
    }

    /// The `index`-th of the 24 orders of four cases (packed as `packed` is).
    @inlinable @inline(__always)
    static func orderOf4(_ index: Int) -> UInt64 {
        switch index {
        case 0: 0x3210
        case 1: 0x2310
        case 2: 0x3120
        case 3: 0x1320
        case 4: 0x2130
        case 5: 0x1230
        case 6: 0x3201
        case 7: 0x2301
        case 8: 0x3021
        case 9: 0x0321
        case 10: 0x2031
        case 11: 0x0231
        case 12: 0x3102
        case 13: 0x1302
        case 14: 0x3012
        case 15: 0x0312
        case 16: 0x1032
        case 17: 0x0132
        case 18: 0x2103
        case 19: 0x1203
        case 20: 0x2013
        case 21: 0x0213
        case 22: 0x1023
        default: 0x0123
        }
    }

    /// The case to look at `position`-th.
    @inlinable
    subscript(position: Int) -> Int {
        // `position` is in 0..<count: its shift is computed without the
        // overflow and sign checks of `4 * position` and `UInt64(_:)`.
        count <= 16
            ? Int(truncatingIfNeeded: (packed &>> UInt64(truncatingIfNeeded: position &<< 2)) & 0xF)
            : large[position]
    }
}
