// The cases of one select, in source order: the first four inline, any more
// in an array. A select of up to four cases (most of them) allocates nothing
// to hold its cases; before, the builder's array was one malloc and free per
// select, and its destroy a call per case.

/// The cases of a ``select(file:line:_:)``, in source order, as
/// ``SelectBuilder`` collects them (only the builder makes one).
public struct SelectCases<Result> {
    @usableFromInline var count: Int
    @usableFromInline var case0: SelectCase<Result>
    @usableFromInline var case1: SelectCase<Result>
    @usableFromInline var case2: SelectCase<Result>
    @usableFromInline var case3: SelectCase<Result>
    /// The cases after the fourth.
    @usableFromInline var more: [SelectCase<Result>]

    /// No cases.
    @inlinable
    init() {
        count = 0
        case0 = .disabled
        case1 = .disabled
        case2 = .disabled
        case3 = .disabled
        more = []
    }

    /// The first `count` of up to four cases.
    @inlinable
    init(
        count: Int,
        _ case0: consuming SelectCase<Result>,
        _ case1: consuming SelectCase<Result> = .disabled,
        _ case2: consuming SelectCase<Result> = .disabled,
        _ case3: consuming SelectCase<Result> = .disabled
    ) {
        self.count = count
        self.case0 = case0
        self.case1 = case1
        self.case2 = case2
        self.case3 = case3
        more = []
    }

    @inlinable
    mutating func append(_ selectCase: SelectCase<Result>) {
        switch count {
        case 0: case0 = selectCase
        case 1: case1 = selectCase
        case 2: case2 = selectCase
        case 3: case3 = selectCase
        default: more.append(selectCase)
        }
        count += 1
    }

    /// The cases, in an array.
    @inlinable
    var array: [SelectCase<Result>] {
        (0..<count).map { self[$0] }
    }

    /// The cases as one case of an enclosing block: a group, which the
    /// select flattens.
    @inlinable
    var group: SelectCase<Result> {
        SelectCase(.group(array))
    }

    /// The cases with every group replaced by its cases, in source order.
    @inlinable
    func flattened() -> SelectCases {
        var flat = SelectCases()
        func add(_ selectCase: SelectCase<Result>) {
            if case .group(let nested) = selectCase.kind {
                for inner in nested { add(inner) }
            } else {
                flat.append(selectCase)
            }
        }
        for index in 0..<count {
            add(self[index])
        }
        return flat
    }

    /// The case at `index` (in source order).
    @inlinable
    subscript(index: Int) -> SelectCase<Result> {
        switch index {
        case 0: case0
        case 1: case1
        case 2: case2
        case 3: case3
        default: more[index - 4]
        }
    }

    /// Whether the case at `index` is a group (read without copying it).
    @inlinable
    func isGroup(at index: Int) -> Bool {
        switch index {
        case 0: if case .group = case0.kind { true } else { false }
        case 1: if case .group = case1.kind { true } else { false }
        case 2: if case .group = case2.kind { true } else { false }
        case 3: if case .group = case3.kind { true } else { false }
        default: if case .group = more[index - 4].kind { true } else { false }
        }
    }

    /// The channel of the case at `index`, if it is a channel case, not
    /// retained (the case keeps it alive).
    @inlinable
    func channel(at index: Int) -> Unmanaged<ChannelCore>? {
        let channel: ChannelCore? = switch index {
        case 0: case0.channel
        case 1: case1.channel
        case 2: case2.channel
        case 3: case3.channel
        default: more[index - 4].channel
        }
        return channel.map { Unmanaged.passUnretained($0) }
    }

    /// Carries out `step` on the case at `index` where it lies, without
    /// copying it (a copy retains and releases its handler and step); nil if
    /// it is no channel case.
    @inlinable @inline(__always)
    func step(_ step: SelectStep, at index: Int) -> SelectStepReply<Result>? {
        switch index {
        case 0: case0.step(step)
        case 1: case1.step(step)
        case 2: case2.step(step)
        case 3: case3.step(step)
        default: more[index - 4].step(step)
        }
    }

    /// Whether the case at `index` is an enabled channel case (read in place).
    @inlinable @inline(__always)
    func isChannel(at index: Int) -> Bool {
        switch index {
        case 0: case0.isChannel
        case 1: case1.isChannel
        case 2: case2.isChannel
        case 3: case3.isChannel
        default: more[index - 4].isChannel
        }
    }

    /// What the case at `index` is: all a select reads of it, without the
    /// reference that keeps its channel alive.
    @inlinable
    func kind(at index: Int) -> SelectCase<Result>.Kind {
        switch index {
        case 0: case0.kind
        case 1: case1.kind
        case 2: case2.kind
        case 3: case3.kind
        default: more[index - 4].kind
        }
    }
}
