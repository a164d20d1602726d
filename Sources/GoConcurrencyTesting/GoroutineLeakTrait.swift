// A Swift Testing trait that fails a test which leaves goroutines running
// (what goleak.VerifyNone is for Go tests), over GoRuntime.checkingLeaks.
// A module of its own so that the library never imports Testing: apps link
// GoConcurrency, test targets add GoConcurrencyTesting.

import GoConcurrency
import Testing

/// The trait behind `.checkingGoroutineLeaks`: runs each test (each case of a
/// parameterized one, each test of a suite it is given to) in a
/// `GoRuntime.checkingLeaks(grace:_:)` scope, so that a goroutine started by
/// the test, at any depth, and still alive after it and its grace fails the
/// test with a `GoroutineLeak`: the goroutines' dump, each with what it waits
/// for and where it was started.
///
///     @Test(.checkingGoroutineLeaks)
///     func pipelineStopsCleanly() async throws {
///         let numbers = generator(...)
///         _ = try await numbers.receive()
///     }   // fails if the generator's goroutine lives on
///
///     @Suite(.checkingGoroutineLeaks(grace: .seconds(1)))
///     struct ServerTests { ... }   // every test of the suite, each on its own
///
/// Goroutines started outside the test, even while it runs (by tests running
/// in parallel), are not counted. A test that throws fails with its own error
/// and is not checked for leaks as well.
public struct GoroutineLeakCheckTrait: TestTrait, SuiteTrait, TestScoping {
    /// How long goroutines of the test may take to end after its body returns
    /// (longer while one of them is still running: see
    /// `GoRuntime.checkingLeaks(grace:_:)`).
    public var grace: Duration

    public init(grace: Duration = .seconds(2)) {
        self.grace = grace
    }

    /// On a suite, the trait applies to each of its tests (and of its nested
    /// suites), each checked on its own, so that a leak fails the test that
    /// made it.
    public var isRecursive: Bool { true }

    /// Runs `function` (the test's body) and then the leak check.
    ///
    /// - Throws: `GoroutineLeak` listing the goroutines the test left
    ///   running, or what `function` throws.
    public func provideScope(
        for test: Test,
        testCase: Test.Case?,
        performing function: @Sendable () async throws -> Void
    ) async throws {
        try await GoRuntime.checkingLeaks(grace: grace) {
            try await function()
        }
    }
}

extension Trait where Self == GoroutineLeakCheckTrait {
    /// Fails the test if it leaves goroutines running, after the default
    /// grace of two seconds: `@Test(.checkingGoroutineLeaks)`.
    public static var checkingGoroutineLeaks: Self { GoroutineLeakCheckTrait() }

    /// Fails the test if it leaves goroutines running `grace` after its body
    /// returns: `@Test(.checkingGoroutineLeaks(grace: .seconds(1)))`.
    public static func checkingGoroutineLeaks(grace: Duration) -> Self {
        GoroutineLeakCheckTrait(grace: grace)
    }
}
