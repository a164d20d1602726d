// Programs `--program` runs that are not examples of the seed: checks of the
// runtime that need a process of their own. `check-gomaxprocs` runs goroutines on
// the GOMAXPROCS the environment sets (the tests start it with
// GOMAXPROCS=1000, abc, -3, ...). Each `misuse-*` program makes one
// programmer error, to see what a user sees in a release build:
//
//     swift build -c release
//     .build/release/tour --program misuse-negative-capacity
//     panic: makechan: size out of range
//     ...

import GoConcurrency

/// Their names start with `check-` or `misuse-`, which no example's does.
enum CheckPrograms {
    /// The program called `name`, if any.
    static func named(_ name: String) -> (@Sendable () async throws -> Void)? {
        all[name]
    }

    static let all: [String: @Sendable () async throws -> Void] = [
        "check-gomaxprocs": gomaxprocs,
        "misuse-negative-capacity": { _ = Chan<Int>(capacity: -1) },
        "misuse-huge-capacity": { _ = Chan<Int>(capacity: .max) },
        "misuse-negative-waitgroup": { Sync.WaitGroup().done() },
        "misuse-waitgroup-overflow": {
            let group = Sync.WaitGroup()
            group.add(.max)
            group.add(1)
        },
        "misuse-unlock": { Sync.Mutex().unlock() },
        "misuse-rwmutex-unlock": { Sync.RWMutex().unlock() },
        "misuse-rwmutex-read-unlock": { Sync.RWMutex().readUnlock() },
        "misuse-semaphore": { Sync.Semaphore(capacity: 1).release() },
        "misuse-ticker": { _ = Ticker(every: .zero) },
        "misuse-workpool": { _ = WorkPool(workers: 0) },
        "misuse-resourcepool": { _ = ResourcePool<Int>(capacity: 0, make: { 1 }, close: { _ in }) },
        "misuse-dispatcher": { _ = Dispatcher<Int>.Configuration(maxWorkers: 0, maxQueue: 1) },
        "misuse-processor-count": { GoRuntime.shared.processorCount = 0 },
        "misuse-max-threads": { GoRuntime.shared.maxThreads = 0 },
        "misuse-select-defaults": {
            _ = try await select {
                otherwise { 1 }
                otherwise { 2 }
            }
        },
        "misuse-main-in-task": { GoRuntime.main {} },
    ]

    /// Prints GOMAXPROCS, then starts two goroutines per processor, each
    /// handing a value back over a channel, and prints how many answered.
    static func gomaxprocs() async throws {
        let count = GoRuntime.shared.processorCount
        print("GOMAXPROCS \(count)")
        print("usable cores \(GoRuntime.usableCores)")
        print("setProcessorCount(0) \(await GoRuntime.shared.setProcessorCount(0))")
        let answers = Chan<Int>(capacity: 2 * count)
        for index in 0..<2 * count {
            go { try await answers.send(index) }
        }
        var sum = 0
        for _ in 0..<2 * count {
            sum += try await answers.receive()!
        }
        let expected = (2 * count) * (2 * count - 1) / 2
        print("goroutines \(2 * count) \(sum == expected ? "answered" : "lost values")")
    }
}
