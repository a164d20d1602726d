// The workloads of ../shared/anchors/go/main.go, written the way a GoConcurrency
// user writes them: same names, sizes and result checks, goroutines started
// with `go { }` on the runtime, completion awaited over channels.

import GoConcurrency
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct WorkloadFailure: Error, CustomStringConvertible {
    let description: String
}

/// The runtime the workloads run on: GoRuntime.shared unless -procs says otherwise.
nonisolated(unsafe) var runtime = GoRuntime.shared

/// Go's `go f()` on the benchmark's runtime.
func spawn(_ body: @escaping @Sendable () async throws -> Void) {
    go(on: runtime, body)
}

/// Starts `count` goroutines and returns a channel that yields each one's result.
func spawnEach<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> T) -> Chan<T> {
    let results = Chan<T>(capacity: count)
    for index in 0..<count {
        spawn { try await results.send(try await body(index)) }
    }
    return results
}

/// An atomic counter that goroutines can share (Go: `var count int64` with sync/atomic).
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int) { value.add(amount, ordering: .relaxed) }
    /// Adds one and returns the new count.
    func increment() -> Int { value.add(1, ordering: .acquiringAndReleasing).newValue }
    var count: Int { value.load(ordering: .relaxed) }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw WorkloadFailure(description: message()) }
}

/// Starts pingpong's other side: a goroutine that answers each value from
/// `a` with the next one on `b`, and closes `b` when `a` closes.
func spawnEcho(from a: Chan<Int>, to b: Chan<Int>) {
    spawn {
        for await v in a {
            try await b.send(v + 1)
        }
        try b.close()
    }
}

func pingpong(_ n: Int) async throws {
    let a = Chan<Int>(), b = Chan<Int>()
    spawnEcho(from: a, to: b)
    for i in 0..<n {
        try await a.send(i)
        let reply = try await b.receive()
        try check(reply == i + 1, "pingpong: wrong value")
    }
    try a.close()
}

/// pingpong with a plain Swift task (not a goroutine) on one side: each value
/// it sends readies the goroutine from a thread that is not one of the
/// runtime's, as a program's main code or a server's request handler does.
/// (On `-route global` the task is the runtime's too, and this is pingpong.)
func taskPingpong(_ n: Int) async throws {
    let a = Chan<Int>(), b = Chan<Int>()
    spawnEcho(from: a, to: b)
    try await Task.detached {
        for i in 0..<n {
            try await a.send(i)
            let reply = try await b.receive()
            try check(reply == i + 1, "task_pingpong: wrong value")
        }
        try a.close()
    }.value
}

/// The seed's Dispatcher, 100 workers and a queue of 100, fed n jobs by
/// ten plain tasks (not goroutines: a server's handlers); every job runs.
func dispatcher(_ n: Int) async throws {
    let ran = Counter()
    let dispatcher = Dispatcher<Int>(configuration: .init(maxWorkers: 100, maxQueue: 100)) { job in
        ran.add(job)
    }
    dispatcher.start()
    let feeders = 10
    try await withThrowingTaskGroup(of: Void.self) { group in
        for feeder in 0..<feeders {
            group.addTask {
                for _ in stride(from: feeder, to: n, by: feeders) {
                    try await dispatcher.submit(1)
                }
            }
        }
        try await group.waitForAll()
    }
    await dispatcher.stop(.drain)
    try check(ran.count == n, "dispatcher: lost jobs")
}

func stream(_ n: Int, capacity: Int) async throws {
    let c = Chan<Int>(capacity: capacity)
    spawn {
        for i in 0..<n {
            try await c.send(i)
        }
        try c.close()
    }
    var sum = 0
    for await v in c {
        sum += v
    }
    try check(sum == n * (n - 1) / 2, "stream: lost values")
}

func mpmc(_ n: Int, producers: Int, consumers: Int, capacity: Int) async throws {
    let c = Chan<Int>(capacity: capacity)
    let per = n / producers
    let senders = spawnEach(producers) { p in
        for i in 0..<per {
            try await c.send(p * per + i)
        }
    }
    let receivers = spawnEach(consumers) { _ in
        var s = 0
        for await v in c {
            s += v
        }
        return s
    }
    for _ in 0..<producers {
        _ = try await senders.receive()
    }
    try c.close()
    var total = 0
    for _ in 0..<consumers {
        total += try await receivers.receive()!
    }
    let m = per * producers
    try check(total == m * (m - 1) / 2, "mpmc: lost values")
}

func select4(_ n: Int) async throws {
    let per = n / 4
    let channels = (0..<4).map { _ in Chan<Int>() }
    for c in channels {
        spawn {
            for _ in 0..<per {
                try await c.send(1)
            }
            try c.close()
        }
    }
    var got = 0, open = 4
    // A nil channel disables its case, as in Go.
    var c0: Chan<Int>? = channels[0], c1: Chan<Int>? = channels[1]
    var c2: Chan<Int>? = channels[2], c3: Chan<Int>? = channels[3]
    while open > 0 {
        let (index, value) = try await select {
            c0?.onReceive { (0, $0) }
            c1?.onReceive { (1, $0) }
            c2?.onReceive { (2, $0) }
            c3?.onReceive { (3, $0) }
        }
        guard let value else {
            switch index {
            case 0: c0 = nil
            case 1: c1 = nil
            case 2: c2 = nil
            default: c3 = nil
            }
            open -= 1
            continue
        }
        got += value
    }
    try check(got == per * 4, "select4: lost values")
}

func spawnMany(_ n: Int) async throws {
    let count = Counter()
    let done = Chan<Void>()
    for _ in 0..<n {
        spawn {
            if count.increment() == n {
                try done.close()
            }
        }
    }
    _ = try await done.receive()
    try check(count.count == n, "spawn: lost goroutines")
}

/// The resident bytes each parked goroutine costs, filled in by `parked`.
nonisolated(unsafe) var parkedBytes = 0.0

func parked(_ n: Int) async throws {
    // Memory freed by earlier workloads (spawn's million tasks) stays resident
    // in malloc's arenas and would be reused here, hiding what parking costs:
    // hand it back first, so the delta counts the parked goroutines only.
    _ = mallocTrim(0)
    let before = residentBytes()
    try await whileParked(n) {
        parkedBytes = Double(residentBytes() - before) / Double(n)
    }
}

/// Not in the Go anchor: what a goroutine dump costs per goroutine listed,
/// with `n` goroutines parked (the dump of "Debugging stuck programs"; Go's
/// is a stop-the-world traceback, not comparable).
func dumpParked(_ n: Int) async throws {
    try await whileParked(n) {
        let clock = ContinuousClock()
        var listed = 0
        let elapsed = clock.measure {
            for _ in 0..<5 { listed += GoRuntime.dump().goroutines.count }
        }
        dumpNanosecondsPerGoroutine = Double(elapsed.components.attoseconds / 1_000_000_000 + elapsed.components.seconds * 1_000_000_000) / Double(max(listed, 1))
    }
}

/// Starts `n` goroutines that park on one channel, runs `measure` once they
/// all wait, then releases them and waits until every one has finished.
func whileParked(_ n: Int, _ measure: () -> Void) async throws {
    let gate = Chan<Void>()
    let started = Counter(), finished = Counter()
    let done = Chan<Void>()
    for _ in 0..<n {
        spawn {
            started.add(1)
            _ = try await gate.receive()
            if finished.increment() == n {
                try done.close()
            }
        }
    }
    while started.count < n {
        try await sleep(for: .milliseconds(1))
    }
    try await sleep(for: .milliseconds(50))  // let them all park
    measure()
    try gate.close()
    _ = try await done.receive()
}

nonisolated(unsafe) var dumpNanosecondsPerGoroutine = 0.0

/// glibc's malloc_trim (malloc.h is not in the Glibc module).
@_silgen_name("malloc_trim")
func mallocTrim(_ pad: Int) -> Int32

func residentBytes() -> Int {
    guard let file = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(file) }
    var size = 0, resident = 0
    withUnsafeMutablePointer(to: &size) { sizePointer in
        withUnsafeMutablePointer(to: &resident) { residentPointer in
            _ = withVaList([sizePointer, residentPointer]) { vfscanf(file, "%ld %ld", $0) }
        }
    }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// The daisy-chain prime sieve from the seed, for the first n primes. It
/// runs as a checked run of its own, as Go's runs as a program: when its
/// main has the last prime, the run's runtime ends with it and the chain,
/// left runnable, never runs again, as a Go program's goroutines end with
/// its `main`. (On the workloads' runtime the chain went on filling itself
/// after the measurement, by an amount that changed from run to run:
/// callgrind counted 5.0 to 7.9 billion instructions for the same binary.)
func sieve(_ n: Int) async throws {
    try await GoRuntime.run(processors: runtime.processorCount) { try await sieveChain(n) }
}

/// The sieve itself; its goroutines start on its caller's runtime.
func sieveChain(_ n: Int) async throws {
    var ch = Chan<Int>()
    let source = ch
    go {
        var i = 2
        while true {
            try await source.send(i)
            i += 1
        }
    }
    var last = 0
    for _ in 0..<n {
        let prime = try await ch.receive()!
        last = prime
        let input = ch.receiveOnly, output = Chan<Int>()
        go {
            while true {
                let i = try await input.receive()!
                if i % prime != 0 {
                    try await output.send(i)
                }
            }
        }
        ch = output
    }
    // As in Go, the chain stays blocked for good once the primes are read.
    try check(n != 2000 || last == 17389, "sieve: wrong prime \(last)")
}

/// The seed's Work pattern: a pool of 8 goroutines reading an unbuffered channel.
func workpool(_ n: Int) async throws {
    let work = Chan<@Sendable () -> Void>()
    let count = Counter()
    let workers = spawnEach(8) { _ in
        for await w in work {
            w()
        }
    }
    let task: @Sendable () -> Void = { count.add(1) }
    for _ in 0..<n {
        try await work.send(task)
    }
    try work.close()
    for _ in 0..<8 {
        _ = try await workers.receive()
    }
    try check(count.count == n, "workpool: lost tasks")
}

/// A select with a ready channel and a fresh one-second timeout, n times.
func selectTimeout(_ n: Int) async throws {
    let c = Chan<Int>(capacity: 1)
    for i in 0..<n {
        try await c.send(i)
        let v: Int? = try await select {
            c.onReceive { $0 }
            after(.seconds(1)) { nil }
        }
        try check(v == i, "selecttimeout: wrong value")
    }
}

/// Try-send and try-receive on a buffered channel: Go's select with default,
/// which Go's compiler lowers to the same non-blocking calls.
func nonblocking(_ n: Int) async throws {
    let c = Chan<Int>(capacity: 1)
    var hits = 0
    for i in 0..<n {
        _ = c.trySend(i)
        if case .value = c.tryReceive() {
            hits += 1
        }
    }
    try check(hits == n, "nonblocking: wrong count")
}

/// The same as `nonblocking`, written with `select { ...; otherwise { } }`.
func nonblockingSelect(_ n: Int) async throws {
    let c = Chan<Int>(capacity: 1)
    var hits = 0
    for i in 0..<n {
        try await select {
            c.onSend(i) {}
            otherwise {}
        }
        let hit = try await select {
            c.onReceive { _ in true }
            otherwise { false }
        }
        if hit { hits += 1 }
    }
    try check(hits == n, "nonblocking_select: wrong count")
}
