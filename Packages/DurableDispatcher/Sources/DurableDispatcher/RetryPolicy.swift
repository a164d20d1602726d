// RetryPolicy: how long a failed job waits before its next attempt.
import Foundation

/// The delay before a failed job's next attempt, from the attempt that failed
/// (1 for the first). The default is `attempt⁴` seconds with ±10 % jitter:
/// 1 s, 16 s, 81 s, 256 s, … about 1.85 days after the twentieth.
public struct RetryPolicy: Sendable {
    /// Seconds to wait after `attempt` failed.
    public var backoffSeconds: @Sendable (_ attempt: Int) -> Double

    public init(backoffSeconds: @escaping @Sendable (_ attempt: Int) -> Double) {
        self.backoffSeconds = backoffSeconds
    }

    /// `attempt⁴ × (1 + 0.1 × jitter())` seconds; `jitter` returns a value in
    /// -1...1 (uniformly random by default; tests pass a fixed one).
    public static func polynomial(
        jitter: @escaping @Sendable () -> Double = { Double.random(in: -1...1) }
    ) -> RetryPolicy {
        RetryPolicy { attempt in
            let base = pow(Double(max(attempt, 1)), 4)
            let j = min(max(jitter(), -1), 1)
            return base * (1 + 0.1 * j)
        }
    }

    /// `polynomial()` with random jitter.
    public static let `default` = RetryPolicy.polynomial()
}
