// The result builder that collects a select's cases, in source order.

/// Builds the cases of a ``select(file:line:_:)``.
///
/// Besides plain cases it takes `if`, `if let`, `switch` and `for` (cases over a
/// dynamic collection of channels), an array of cases, and an optional case
/// (`channel?.onReceive`), which is disabled when `nil`.
///
/// A block of up to four cases is built into ``SelectCases`` in one call, with
/// no allocation; the cases after a block's fourth go into one array. An `if`,
/// `switch` or `for` becomes a group, flattened before the select runs.
@resultBuilder
public enum SelectBuilder<Result> {
    @inlinable
    public static func buildExpression(_ selectCase: consuming SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildExpression(_ selectCase: consuming SelectCase<Result>?) -> SelectCase<Result> {
        // Moved out, not copied (`??` copies: a retain and a release for each
        // reference a case holds).
        switch consume selectCase {
        case .some(let selectCase): selectCase
        case .none: .disabled
        }
    }

    @inlinable
    public static func buildExpression(_ cases: [SelectCase<Result>]) -> SelectCase<Result> {
        SelectCase(.group(cases))
    }

    @inlinable
    public static func buildBlock() -> SelectCases<Result> {
        SelectCases()
    }

    @inlinable
    public static func buildBlock(_ case0: consuming SelectCase<Result>) -> SelectCases<Result> {
        SelectCases(count: 1, case0)
    }

    @inlinable
    public static func buildBlock(
        _ case0: consuming SelectCase<Result>,
        _ case1: consuming SelectCase<Result>
    ) -> SelectCases<Result> {
        SelectCases(count: 2, case0, case1)
    }

    @inlinable
    public static func buildBlock(
        _ case0: consuming SelectCase<Result>,
        _ case1: consuming SelectCase<Result>,
        _ case2: consuming SelectCase<Result>
    ) -> SelectCases<Result> {
        SelectCases(count: 3, case0, case1, case2)
    }

    @inlinable
    public static func buildBlock(
        _ case0: consuming SelectCase<Result>,
        _ case1: consuming SelectCase<Result>,
        _ case2: consuming SelectCase<Result>,
        _ case3: consuming SelectCase<Result>
    ) -> SelectCases<Result> {
        SelectCases(count: 4, case0, case1, case2, case3)
    }

    @inlinable
    public static func buildBlock(
        _ case0: consuming SelectCase<Result>,
        _ case1: consuming SelectCase<Result>,
        _ case2: consuming SelectCase<Result>,
        _ case3: consuming SelectCase<Result>,
        _ more: SelectCase<Result>...
    ) -> SelectCases<Result> {
        var built = SelectCases(count: 4, case0, case1, case2, case3)
        for selectCase in more {
            built.append(selectCase)
        }
        return built
    }

    @inlinable
    public static func buildOptional(_ cases: consuming SelectCases<Result>?) -> SelectCase<Result> {
        switch consume cases {
        case .some(let cases): cases.group
        case .none: .disabled
        }
    }

    @inlinable
    public static func buildEither(first cases: consuming SelectCases<Result>) -> SelectCase<Result> {
        cases.group
    }

    @inlinable
    public static func buildEither(second cases: consuming SelectCases<Result>) -> SelectCase<Result> {
        cases.group
    }

    @inlinable
    public static func buildArray(_ parts: [SelectCases<Result>]) -> SelectCase<Result> {
        var cases: [SelectCase<Result>] = []
        for part in parts {
            cases += part.array
        }
        return SelectCase(.group(cases))
    }

    @inlinable
    public static func buildLimitedAvailability(_ cases: consuming SelectCases<Result>) -> SelectCase<Result> {
        cases.group
    }

    // Always inlined: a call would copy the cases in and out (a few hundred
    // bytes) on every select, to check that no group needs flattening.
    @inlinable @inline(__always)
    public static func buildFinalResult(_ cases: consuming SelectCases<Result>) -> SelectCases<Result> {
        for index in 0..<cases.count where cases.isGroup(at: index) {
            return cases.flattened()
        }
        return cases
    }
}
