// Every entry point that starts goroutines starts them on the runtime of the
// goroutine that calls it (the shared runtime only outside goroutines), as
// `go` does: inside a checked run, a helper's goroutines belong to that run,
// so a deadlock they take part in is reported instead of hanging.

import Testing
@testable import GoConcurrency

@Suite("Helpers start on the caller's runtime", .timeLimit(Stress.timeLimit))
struct RuntimeChoiceTests {
    /// The entry points that start goroutines (or, for `ErrorGroup`, tasks on
    /// a runtime's processors).
    enum Helper: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case goStatement, waitGroup, future, generator, merge, stage, sharedVariable
        case workPool, dispatcher, errorGroup, afterFunc

        var testDescription: String { rawValue }
    }
}

extension RuntimeChoiceTests.Helper {
    /// A program that ends in a certain deadlock, in which goroutines the
    /// helper started are parked (or, for `errorGroup`, ran and ended).
    var deadlockingProgram: @Sendable () async throws -> Void {
        programThatDeadlocks(self)
    }
}

/// See `RuntimeChoiceTests.Helper.deadlockingProgram` (a free function: the
/// helpers' names are the enum's cases).
private func programThatDeadlocks(_ helper: RuntimeChoiceTests.Helper) -> @Sendable () async throws -> Void {
            switch helper {
            case .goStatement:
                return {
                    let never = Chan<Int>()
                    go { _ = try await never.receive() }
                    _ = try await never.receive()
                }
            case .waitGroup:
                return {
                    let never = Chan<Int>()
                    let group = Sync.WaitGroup()
                    group.go { _ = try await never.receive() }
                    try await group.wait()
                }
            case .future:
                return {
                    let never = Chan<Int>()
                    let answer = Future<Int> { try await never.receive()! }
                    _ = try await answer.value
                }
            case .generator:
                return {
                    let never = Chan<Int>()
                    let numbers = Generator<Int> { _ in _ = try await never.receive() }
                    _ = try await numbers.next()
                }
            case .merge:
                return {
                    let a = Chan<Int>(), b = Chan<Int>()
                    for await _ in merge(a.receiveOnly, b.receiveOnly) {}
                }
            case .stage:
                return {
                    let numbers = Chan<Int>()
                    for await _ in stage(numbers.receiveOnly, { $0 * 2 }) {}
                }
            case .sharedVariable:
                return {
                    let never = Chan<Int>()
                    let variable = SharedVariable(0)
                    try await variable.set(1)
                    defer { withExtendedLifetime(variable) {} }
                    _ = try await never.receive()
                }
            case .workPool:
                return {
                    let never = Chan<Int>()
                    let pool = WorkPool(workers: 2)
                    try await pool.run { _ = try? await never.receive() }
                    _ = try await never.receive()
                }
            case .dispatcher:
                return {
                    let never = Chan<Int>()
                    let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 2, maxQueue: 2)) { _ in
                        _ = try? await never.receive()
                    }
                    dispatcher.start()
                    try await dispatcher.submit(1)
                    _ = try await never.receive()
                }
            case .errorGroup:
                return {
                    let never = Chan<Int>()
                    let values = Chan<Int>(capacity: 1)
                    let group = Sync.ErrorGroup()
                    group.go { try await values.send(1) }
                    try await group.wait()
                    _ = try await values.receive()
                    _ = try await never.receive()
                }
            case .afterFunc:
                return {
                    // The function starts a goroutine of its own that parks.
                    let never = Chan<Int>()
                    let fired = Chan<Void>()
                    _ = afterFunc(.zero) {
                        go { _ = try await never.receive() }
                        try? fired.close()
                    }
                    _ = try await fired.receive()
                    _ = try await never.receive()
                }
            }
}

extension RuntimeChoiceTests {
    /// Runs `body` as a checked program on a detached task and waits for its
    /// verdict, with a generous bound: a program whose runtime cannot see its
    /// own deadlock would otherwise hang the test.
    func verdict(
        of body: @escaping @Sendable () async throws -> Void,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) async throws -> (any Error)? {
        let outcome = Shared<Result<Void, any Error>?>(nil)
        Task.detached {
            do {
                try await GoRuntime.run(body)
                outcome.set(.success(()))
            } catch {
                outcome.set(.failure(error))
            }
        }
        try await waitUntil("the checked run ends", deadline: .seconds(300), sourceLocation: sourceLocation) {
            outcome.value != nil
        }
        guard case .failure(let error) = outcome.value else { return nil }
        return error
    }

    @Test("A certain deadlock among a helper's goroutines inside a checked run is reported",
          arguments: Helper.allCases)
    func helpersDeadlockIsReported(helper: Helper) async throws {
        let error = try await verdict(of: helper.deadlockingProgram)
        #expect(error is Deadlock, "\(helper): \(String(describing: error))")
    }

    @Test("An ErrorGroup member started by a goroutine runs on that goroutine's runtime")
    func errorGroupMembersRunOnTheCallersRuntime() async throws {
        let onCallers = try await GoRuntime.run {
            let runtime = try #require(Goroutine.current?.runtime)
            let group = Sync.ErrorGroup()
            let seen = Shared<Bool?>(nil)
            group.go { seen.set(runtime.currentProcessorReference != nil) }
            try await group.wait()
            return seen.value
        }
        #expect(onCallers == true)
    }

    @Test("An explicit runtime still wins over the caller's")
    func anExplicitRuntimeIsKept() async throws {
        let chosen = GoRuntime(processors: 1)
        let seen = try await GoRuntime.run {
            let ran = Chan<Bool>(capacity: 4)
            let group = Sync.WaitGroup()
            group.go(on: chosen) { try await ran.send(chosen.currentProcessorReference != nil) }
            try await group.wait()
            let answer = Future(on: chosen) { chosen.currentProcessorReference != nil }
            try await ran.send(try await answer.value)
            let errors = Sync.ErrorGroup(runtime: chosen)
            errors.go { try await ran.send(chosen.currentProcessorReference != nil) }
            try await errors.wait()
            try ran.close()
            var all: [Bool] = []
            for await value in ran { all.append(value) }
            return all
        }
        #expect(seen == [true, true, true])
    }
}
