// Descriptors leave nothing behind: 10,000 registered and closed in a
// checked run give back every descriptor number (theirs, and the poller's
// epoll and eventfd once the run's runtime ends) and every thread. In a
// child process, which no other test opens descriptors or threads in.

#if os(Linux)
import Foundation
import Glibc
import Testing
@_spi(Testing) @testable import GoConcurrency

/// Open descriptors of this process now (entries of /proc/self/fd).
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

@Suite("Network poller lifecycle", .timeLimit(Stress.timeLimit))
struct PollerLifecycleTests {
    /// A checked run that registers `pairs` socket pairs (both ends), parks a
    /// goroutine on half of them, and closes them all.
    static func registerAndClose(pairs: Int) async throws {
        try await GoRuntime.run(processors: 2) {
            let runtime = GoRuntime.startingOn(nil)
            var descriptors: [PollDescriptor] = []
            for _ in 0..<pairs {
                let pair = try SocketPair()
                descriptors.append(try PollDescriptor.register(pair.left, on: runtime))
                descriptors.append(try PollDescriptor.register(pair.right, on: runtime))
            }
            let woken = Chan<WaitResult>(capacity: pairs)
            for index in stride(from: 0, to: descriptors.count, by: 2) {
                let descriptor = descriptors[index]
                go { try await woken.send(await waitResult(descriptor, .read)) }
            }
            while runtime.poller?.waiters.load(ordering: .relaxed) != pairs { await GoRuntime.yield() }
            for descriptor in descriptors { descriptor.close() }
            for _ in 0..<pairs {
                if try await woken.receive() != .failed(.closed) { childVerdict(passed: false, "a wait did not end with .closed") }
            }
            if runtime.poller?.registeredCount != 0 { childVerdict(passed: false, "descriptors left registered") }
        }
    }

    @Test("10,000 descriptors registered and closed leave no descriptor and no thread behind")
    func noDescriptorOrThreadLeft() async {
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            // Given a process that has made a checked run with a poller (by
            // then the Swift runtime's and Dispatch's threads are started)
            try? await PollerLifecycleTests.registerAndClose(pairs: 10)
            try? await Task.sleep(for: .milliseconds(200))
            let baselineDescriptors = openDescriptorCount()
            let baselineThreads = processThreadCount()
            // When a run registers 10,000 descriptors and closes them
            do {
                try await PollerLifecycleTests.registerAndClose(pairs: 5_000)
            } catch {
                childVerdict(passed: false, "the run threw \(error)")
            }
            // Then every number is closed, the poller's too once the run's
            // threads have left, and the threads are gone (slack: the Swift
            // runtime's pool may start one more thread meanwhile)
            let descriptorsBack = await poll { openDescriptorCount() == baselineDescriptors }
            let threadsBack = await poll { processThreadCount() <= baselineThreads + 2 }
            childVerdict(passed: descriptorsBack && threadsBack,
                         "descriptors \(baselineDescriptors) -> \(openDescriptorCount()), threads \(baselineThreads) -> \(processThreadCount())")
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.hasPrefix("PASS"), "\(text)")
        print(text, terminator: "")
    }
}
#endif
