// gobench: GoConcurrency's side of ../shared/anchors/compare. Prints one line
// "<workload> <ns per op> <ops>" per workload, as the Go anchor does.

import ArgumentParser
import GoConcurrency

#if canImport(Glibc)
import Glibc
#endif

struct Workload: Sendable {
    let name: String
    let ops: Int
    let run: @Sendable (Int) async throws -> Void
}

let workloads: [Workload] = [
    Workload(name: "pingpong", ops: 1_000_000, run: pingpong),
    Workload(name: "unbuffered_stream", ops: 2_000_000, run: { try await stream($0, capacity: 0) }),
    Workload(name: "buffered_stream", ops: 10_000_000, run: { try await stream($0, capacity: 1024) }),
    Workload(name: "mpmc_4x4", ops: 4_000_000, run: { try await mpmc($0, producers: 4, consumers: 4, capacity: 128) }),
    Workload(name: "select4", ops: 2_000_000, run: select4),
    Workload(name: "nonblocking", ops: 10_000_000, run: nonblocking),
    Workload(name: "select_timeout", ops: 1_000_000, run: selectTimeout),
    Workload(name: "spawn", ops: 1_000_000, run: spawnMany),
    Workload(name: "parked_1m", ops: 1_000_000, run: parked),
    Workload(name: "sieve_2000", ops: 2000, run: sieve),
    Workload(name: "workpool_8", ops: 1_000_000, run: workpool),
    // Not in the Go anchor: the select/default spelling of `nonblocking`.
    Workload(name: "nonblocking_select", ops: 10_000_000, run: nonblockingSelect),
    // Not in the Go anchor: pingpong between a plain Swift task and a
    // goroutine, so that every other hand-off comes from outside the runtime.
    Workload(name: "task_pingpong", ops: 100_000, run: taskPingpong),
    // Not in the Go anchor: the seed's Dispatcher (100 workers, a queue of
    // 100) fed by plain tasks, as a server's handlers feed it: per job.
    Workload(name: "dispatcher_100", ops: 500_000, run: dispatcher),
    // Not in the Go anchor: a goroutine dump of 100,000 parked goroutines,
    // reported per goroutine listed.
    Workload(name: "dump_100k", ops: 100_000, run: dumpParked),
    // Not in the Go anchor: pingpong with none of GoConcurrency in it, the
    // floor that Swift's runtime sets under every hand-off (Floor.swift).
    Workload(name: "floor_pingpong", ops: 1_000_000, run: floorPingpong),
    Workload(name: "floor_stream", ops: 2_000_000, run: floorStream),
    // Not in the Go anchor: task_pingpong's floor, a plain task and a task
    // on a one-thread executor through bare continuations (FloorTaskPingpong.swift).
    Workload(name: "floor_task_pingpong", ops: 100_000, run: floorTaskPingpong),
]

/// The command line; `main.swift` parses it and calls `execute`.
struct GoBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gobench",
        abstract: "Runs the Go anchor workloads on GoConcurrency and prints '<workload> <ns/op> <ops>' lines.")

    @Option(name: .customLong("only", withSingleDash: true), help: "Comma-separated workload names (all when absent).")
    var only: String?

    @Option(name: .customLong("scale", withSingleDash: true), help: "Multiply every op count except sieve_2000's.")
    var scale: Double = 1

    @Option(name: .customLong("procs", withSingleDash: true), help: "GOMAXPROCS: logical processors of the runtime (default: usable cores).")
    var procs: Int?

    @Option(name: .customLong("route", withSingleDash: true), help: "How goroutines reach the runtime: 'preference' (the stable default: each goroutine a task with GoRuntime as its executor preference) or 'global' (opt-in: GoRuntime installed as Swift's global executor).")
    var route: GoRuntime.Route = .executorPreference

    @Flag(name: .customLong("list", withSingleDash: true), help: "List the workloads and exit.")
    var list = false

    @Flag(name: .customLong("scaling", withSingleDash: true), help: "Run each workload at GOMAXPROCS 1 and 2 and print '<workload> <ns/op at 1> <ns/op at 2> <time at 1 / time at 2>'.")
    var scaling = false

    @Flag(name: .customLong("steals", withSingleDash: true), help: "After each workload, print '# <workload> steals <jobs>' to standard error: the jobs idle processors took from busy ones' queues while it ran (not with -scaling).")
    var steals = false

    @Option(name: .customLong("cancel-parked", withSingleDash: true), help: "Instead of the workloads: park this many plain tasks receiving on one channel, then on 64, cancel them all, and print 'cancel_parked <channels> <seconds to cancel> <tasks>' (a task's cancellation takes its entry out of the channel's queue).")
    var cancelParked: Int?

    func execute() async throws {
        if let cancelParked {
            for channels in [1, 64] {
                let seconds = try await cancelParkedTasks(cancelParked, channels: channels)
                print("cancel_parked \(channels) \(formatted(seconds)) \(cancelParked)")
            }
            return
        }
        if list {
            for workload in workloads { print(workload.name) }
            return
        }
        if route == .globalExecutor {
            runtime = .shared  // the installed one, GOMAXPROCS already set
        } else if let procs {
            runtime = GoRuntime(processors: procs)
        }
        let selected = only.map { Set($0.split(separator: ",").map(String.init)) }
        if scaling {
            print("# workload  ns/op at GOMAXPROCS 1  ns/op at GOMAXPROCS 2  gain (time at 1 / time at 2)")
        }
        for workload in workloads where selected?.contains(workload.name) ?? true {
            let n = workload.name == "sieve_2000" ? workload.ops : max(1, Int(Double(workload.ops) * scale))
            if scaling {
                // The same runtime at one and then two processors (GOMAXPROCS
                // changes at run time), so only the processor count differs.
                let before = runtime.processorCount
                runtime.processorCount = 1
                let one = try await reported(workload, n)
                runtime.processorCount = 2
                let two = try await reported(workload, n)
                runtime.processorCount = before
                print("\(workload.name) \(formatted(one)) \(formatted(two)) \(formatted(one / two))")
            } else {
                let stolenBefore = steals ? runtime.stolenJobs : 0
                print("\(workload.name) \(formatted(try await reported(workload, n))) \(n)")
                if steals {
                    printError("# \(workload.name) steals \(runtime.stolenJobs - stolenBefore)")
                }
                if workload.name == "parked_1m" {
                    print("parked_1m_bytes \(Int(parkedBytes.rounded())) \(n)")
                }
            }
            fflush(nil)
        }
    }

    /// Runs `workload` once with `n` ops and returns the ns/op it reports:
    /// its time per op, except dump_100k's, which is the time of its dumps
    /// per goroutine listed (its parking and releasing are not counted).
    func reported(_ workload: Workload, _ n: Int) async throws -> Double {
        let perOp = try await measure(workload, n)
        return workload.name == "dump_100k" ? dumpNanosecondsPerGoroutine : perOp
    }

    /// Runs `workload` once with `n` ops as a goroutine and returns its ns/op.
    func measure(_ workload: Workload, _ n: Int) async throws -> Double {
        // Never on the main actor: the workload's main is a goroutine.
        let result = Chan<Result<Duration, any Error>>(capacity: 1)
        go(on: runtime) {
            let start = ContinuousClock.now
            do {
                try await workload.run(n)
                try await result.send(.success(ContinuousClock.now - start))
            } catch {
                try await result.send(.failure(error))
            }
        }
        let elapsed = try await result.receive()!.get()
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return ns / Double(n)
    }

    /// Writes `line` to standard error (which `anchors/compare` leaves out of
    /// its table).
    func printError(_ line: String) {
        var text = line + "\n"
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    func formatted(_ value: Double) -> String {
        let rounded = value >= 10 ? (value * 10).rounded() / 10 : (value * 100).rounded() / 100
        return String(rounded)
    }
}

extension GoRuntime.Route: ExpressibleByArgument {}

/// Parks `n` plain tasks receiving on `channels` channels (round robin), then
/// cancels them all, the last parked first, and returns the seconds from the first cancel until every
/// task has finished.
func cancelParkedTasks(_ n: Int, channels: Int) async throws -> Double {
    let chans = (0..<channels).map { _ in Chan<Int>() }
    let started = Chan<Void>(capacity: n)
    var tasks: [Task<Void, Never>] = []
    tasks.reserveCapacity(n)
    for index in 0..<n {
        let chan = chans[index % channels]
        tasks.append(Task {
            _ = started.trySend(())
            _ = try? await chan.receive()
        })
    }
    while started.count < n { try await Task.sleep(for: .milliseconds(10)) }
    try await Task.sleep(for: .milliseconds(500))  // the last ones reach their park
    let start = ContinuousClock.now
    for task in tasks.reversed() { task.cancel() }  // the newest first: the farthest from the queue's head
    for task in tasks { await task.value }
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}
