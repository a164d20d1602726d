// The result builder that collects a select's cases, in source order.

/// Builds the cases of a ``select(file:line:_:)``.
///
/// Besides plain cases it takes `if`, `if let`, `switch` and `for` (cases over a
/// dynamic collection of channels), an array of cases, and an optional case
/// (`channel?.onReceive`), which is disabled when `nil`.
///
/// A block of cases is built with one variadic call, so a select of plain
/// cases allocates one array; nested blocks become groups that the select
/// flattens.
@resultBuilder
public enum SelectBuilder<Result> {
    @inlinable
    public static func buildExpression(_ selectCase: SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildExpression(_ selectCase: consuming SelectCase<Result>?) -> SelectCase<Result> {
        // Moved out, not copied (`??` copies: three retains and releases for
        // a channel case).
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
    public static func buildBlock(_ cases: SelectCase<Result>...) -> SelectCase<Result> {
        SelectCase(.group(cases))
    }

    @inlinable
    public static func buildOptional(_ selectCase: SelectCase<Result>?) -> SelectCase<Result> {
        selectCase ?? .disabled
    }

    @inlinable
    public static func buildEither(first selectCase: SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildEither(second selectCase: SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildArray(_ cases: [SelectCase<Result>]) -> SelectCase<Result> {
        SelectCase(.group(cases))
    }

    @inlinable
    public static func buildLimitedAvailability(_ selectCase: SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildFinalResult(_ selectCase: consuming SelectCase<Result>) -> [SelectCase<Result>] {
        guard case .group(let cases) = selectCase.kind else { return [selectCase] }
        for index in cases.indices {
            if case .group = cases[index].kind { return SelectCase.flatten(cases) }
        }
        return cases
    }
}

extension SelectCase {
    /// The cases of nested groups, in source order.
    @inlinable
    static func flatten(_ cases: [SelectCase]) -> [SelectCase] {
        var flat: [SelectCase] = []
        for selectCase in cases {
            if case .group(let nested) = selectCase.kind {
                flat += flatten(nested)
            } else {
                flat.append(selectCase)
            }
        }
        return flat
    }
}
