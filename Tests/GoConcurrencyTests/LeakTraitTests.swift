// GoConcurrencyTesting's `.checkingGoroutineLeaks` trait: it wraps each test
// (each test of a suite it is given to) in a leak check of its own, passes a
// test whose goroutines end, and fails one that leaves goroutines running
// with their dump, as Swift Testing reports it.

import Foundation
import GoConcurrencyTesting
import Testing
@testable import GoConcurrency

@Suite("Leak check trait", .timeLimit(Stress.timeLimit))
struct LeakTraitTests {
    @Test(.checkingGoroutineLeaks(grace: .milliseconds(100)))
    func a_test_whose_goroutines_end_passes_and_runs_inside_a_leak_check_scope() async throws {
        // The body runs in the trait's scope: goroutines started here are counted.
        #expect(GoroutineScope.current != nil)
        let result = Chan<Int>()
        go { try await result.send(6 * 7) }
        #expect(try await result.receive() == 42)
    }

    @Test func a_test_that_leaves_a_goroutine_parked_throws_the_leak_with_its_dump() async throws {
        let trait = GoroutineLeakCheckTrait(grace: .milliseconds(100))
        let test = try #require(Test.current)
        let forgotten = Chan<Int>()
        let leakLine = #line + 4
        try await expectOneLeakedReceive(at: SourceLocation(fileID: #fileID, line: UInt(leakLine))) {
            // What Swift Testing calls around the test's body.
            try await trait.provideScope(for: test, testCase: Test.Case.current) {
                go { _ = try await forgotten.receive() }
                try await waitUntil("the goroutine parks") { forgotten.parkedReceivers == 1 }
            }
        }
        try forgotten.close()
    }

    @Test func the_grace_defaults_to_two_seconds_and_a_suite_gives_the_check_to_each_test() throws {
        #expect(GoroutineLeakCheckTrait().grace == .seconds(2))
        #expect(GoroutineLeakCheckTrait.checkingGoroutineLeaks.grace == .seconds(2))
        #expect(GoroutineLeakCheckTrait.checkingGoroutineLeaks(grace: .seconds(1)).grace == .seconds(1))
        #expect(GoroutineLeakCheckTrait().isRecursive)
        // Swift Testing asks a recursive suite trait for a scope for each
        // test case only: never for the test function as a whole.
        let test = try #require(Test.current)
        #expect(GoroutineLeakCheckTrait().scopeProvider(for: test, testCase: nil) == nil)
        #expect(GoroutineLeakCheckTrait().scopeProvider(for: test, testCase: Test.Case.current) != nil)
    }

    /// The tests of a suite with the trait run in a leak-check scope, and
    /// in one only: the trait is recursive (checked above), so Swift Testing
    /// gives it to each test and opens no scope around the whole suite, and
    /// a leak fails the test that made it.
    @Suite(.checkingGoroutineLeaks(grace: .milliseconds(100)))
    struct InASuite {
        @Test func each_test_of_the_suite_runs_in_a_scope_of_its_own() async throws {
            let scope = try #require(GoroutineScope.current)
            #expect(scope.parent == nil)
            let done = Chan<Void>()
            go { try done.close() }
            _ = try await done.receive()
        }

        @Test(arguments: [1, 2])
        func each_case_of_a_parameterized_test_too(value: Int) async throws {
            let scope = try #require(GoroutineScope.current)
            #expect(scope.parent == nil)
            let result = Chan<Int>()
            go { try await result.send(value * 2) }
            #expect(try await result.receive() == value * 2)
        }
    }

    // MARK: Through Swift Testing itself

    /// The environment variable that turns on `leaks_a_goroutine`, a test
    /// that fails on purpose: only the child test run below sets it.
    static let demoVariable = "GOCONCURRENCY_LEAK_TRAIT_DEMO"

    @Test(.checkingGoroutineLeaks(grace: .milliseconds(100)),
          .enabled(if: ProcessInfo.processInfo.environment[LeakTraitTests.demoVariable] != nil,
                   "fails on purpose: run in a child test run by the next test"))
    func leaks_a_goroutine() async throws {
        let forgotten = Chan<Int>()
        go { _ = try await forgotten.receive() }
        try await waitUntil("the goroutine parks") { forgotten.parkedReceivers == 1 }
    }

    // The test bundle is an executable that runs Swift Testing itself on
    // Linux only (on macOS a helper loads it).
    #if os(Linux)
    @Test func swift_testing_fails_a_test_with_the_trait_that_leaks_and_prints_the_dump() async throws {
        // Given this test binary, run again with only `leaks_a_goroutine`
        // turned on,
        let binary = CommandLine.arguments[0]
        let run = try await runChild(binary, ["--testing-library", "swift-testing", "--filter", "leaks_a_goroutine"],
                                     environment: [Self.demoVariable: "1"], mergingErrors: true)
        // then the run fails, on that test, with the goroutine's dump.
        #expect(run.status != 0, "\(run.output)")
        #expect(run.output.contains("leaks_a_goroutine() recorded an issue"), "\(run.output)")
        #expect(run.output.contains("1 goroutine leaked:"), "\(run.output)")
        #expect(run.output.contains("[chan receive]"), "\(run.output)")
        #expect(run.output.contains("created at GoConcurrencyTests/LeakTraitTests.swift:"), "\(run.output)")
    }
    #endif
}
