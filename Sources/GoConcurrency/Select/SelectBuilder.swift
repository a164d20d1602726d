// The result builder that collects a select's cases, in source order.

/// Builds the cases of a ``select(file:line:_:)``.
///
/// Besides plain cases it takes `if`, `if let`, `switch` and `for` (cases over a
/// dynamic collection of channels), and an optional case (`channel?.onReceive`),
/// which is disabled when `nil`.
@resultBuilder
public enum SelectBuilder<Result> {
    public typealias Cases = [SelectCase<Result>]

    @inlinable
    public static func buildExpression(_ selectCase: SelectCase<Result>) -> SelectCase<Result> {
        selectCase
    }

    @inlinable
    public static func buildExpression(_ selectCase: SelectCase<Result>?) -> SelectCase<Result> {
        selectCase ?? .disabled
    }

    @inlinable
    public static func buildExpression(_ cases: [SelectCase<Result>]) -> Cases {
        cases
    }

    @inlinable
    public static func buildBlock() -> Cases {
        []
    }

    @inlinable
    public static func buildPartialBlock(first: SelectCase<Result>) -> Cases {
        var cases = Cases()
        cases.reserveCapacity(4)
        cases.append(first)
        return cases
    }

    @inlinable
    public static func buildPartialBlock(first: Cases) -> Cases {
        first
    }

    @inlinable
    public static func buildPartialBlock(accumulated: Cases, next: SelectCase<Result>) -> Cases {
        var cases = accumulated
        cases.append(next)
        return cases
    }

    @inlinable
    public static func buildPartialBlock(accumulated: Cases, next: Cases) -> Cases {
        accumulated + next
    }

    @inlinable
    public static func buildOptional(_ cases: Cases?) -> Cases {
        cases ?? []
    }

    @inlinable
    public static func buildEither(first cases: Cases) -> Cases {
        cases
    }

    @inlinable
    public static func buildEither(second cases: Cases) -> Cases {
        cases
    }

    @inlinable
    public static func buildArray(_ groups: [Cases]) -> Cases {
        groups.flatMap { $0 }
    }

    @inlinable
    public static func buildLimitedAvailability(_ cases: Cases) -> Cases {
        cases
    }
}
