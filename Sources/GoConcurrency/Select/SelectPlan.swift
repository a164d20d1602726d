// What a select works out once, before its first poll (step 0): how many
// channel cases it has, where its default and timeout cases are, when the
// timeout falls due, and the random order of its polls (Guarantees, rule 17).

@usableFromInline
struct SelectPlan {
    /// How many enabled channel cases there are.
    @usableFromInline let channelCases: Int
    /// The default case's index, or -1.
    @usableFromInline let defaultIndex: Int
    /// The index of the timeout case with the shortest duration, or -1.
    @usableFromInline let timeoutIndex: Int
    /// The timers that count the timeout (nil without one).
    @usableFromInline let timers: TimerQueue?
    /// When the timeout falls due, on `timers`' clock.
    @usableFromInline let deadline: UInt64
    @usableFromInline let order: PollOrder

    /// Evaluates the cases once, in source order (Guarantees, rule 16).
    @inlinable @inline(__always)
    init<Result>(_ cases: borrowing SelectCases<Result>) {
        var channelCases = 0
        var defaultIndex = -1
        var timeoutIndex = -1
        // Optional, so that a select without a timeout makes no Duration (the
        // getter of `Duration.zero` is a `swift_once` call).
        var timeoutDuration: Duration?
        for index in 0..<cases.count {
            // A channel case is read in place; only the others are copied out.
            if cases.isChannel(at: index) {
                channelCases += 1
                continue
            }
            switch cases.kind(at: index) {
            case .channel:
                channelCases += 1
            case .otherwise:
                if defaultIndex >= 0 { goPanic("multiple defaults in select") }
                defaultIndex = index
            case .timeout(let duration, _):
                if timeoutDuration.map({ duration < $0 }) ?? true {
                    timeoutIndex = index
                    timeoutDuration = duration
                }
            case .disabled, .group:
                break
            }
        }
        self.channelCases = channelCases
        self.defaultIndex = defaultIndex
        self.timeoutIndex = timeoutIndex
        timers = timeoutIndex >= 0 ? TimerQueue.current : nil
        deadline = timers.map { $0.now() &+ Monotonic.nanoseconds(timeoutDuration.unsafelyUnwrapped) } ?? 0
        order = channelCases > 1 ? PollOrder(count: cases.count) : PollOrder(sourceOrderOf: cases.count)
    }

    @inlinable
    var hasDefault: Bool { defaultIndex >= 0 }

    /// Whether the select has a timeout that is due.
    @inlinable
    var timedOut: Bool {
        guard let timers else { return false }
        return timers.now() >= deadline
    }

    /// The handler of the default or timeout case at `index` (the plan's
    /// `defaultIndex` or `timeoutIndex`).
    @inlinable
    func handler<Result>(at index: Int, of cases: SelectCases<Result>) -> CaseHandler<Result> {
        switch cases.kind(at: index) {
        case .otherwise(let handler), .timeout(_, let handler):
            return handler
        case .channel, .disabled, .group:
            preconditionFailure("select: case \(index) is no default or timeout case")
        }
    }
}
