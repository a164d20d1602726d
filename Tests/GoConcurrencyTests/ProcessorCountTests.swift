// GOMAXPROCS as Go has it: any positive count works (from the environment, at
// start, or at run time), 0 and less read it, and an environment value Go
// would ignore is ignored.

import Foundation
import Testing
@testable import GoConcurrency

@Suite("GOMAXPROCS", .timeLimit(Stress.timeLimit))
struct ProcessorCountTests {
    /// Runs `tour --program check-gomaxprocs` with `GOMAXPROCS=value`.
    func runGomaxprocsProgram(environmentValue value: String) async throws -> ChildRun {
        try await runTour(["--program", "check-gomaxprocs"], environment: ["GOMAXPROCS": value])
    }

    @Test func the_environment_is_read_as_go_reads_it() {
        #expect(GoRuntime.processorCount(fromEnvironment: "1000") == 1000)
        #expect(GoRuntime.processorCount(fromEnvironment: "4") == 4)
        #expect(GoRuntime.processorCount(fromEnvironment: "007") == 7)
        #expect(GoRuntime.processorCount(fromEnvironment: "2147483647") == Int(Int32.max))
        for ignored in [nil, "", "abc", "0", "-3", "-0", "-", "+4", " 4", "4 ", "4x", "2147483648", "99999999999999999999"] {
            #expect(GoRuntime.processorCount(fromEnvironment: ignored) == nil, "\(ignored ?? "nil")")
        }
    }

    @Test func a_program_started_with_GOMAXPROCS_1000_runs_goroutines_and_exits_0() async throws {
        let run = try await runGomaxprocsProgram(environmentValue: "1000")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("GOMAXPROCS 1000\n"), "\(run.output)")
        #expect(run.output.contains("setProcessorCount(0) 1000\n"), "\(run.output)")
        #expect(run.output.contains("goroutines 2000 answered\n"), "\(run.output)")
    }

    @Test(arguments: ["abc", "-3", "0", ""])
    func a_GOMAXPROCS_go_ignores_falls_back_to_the_cores(value: String) async throws {
        let run = try await runGomaxprocsProgram(environmentValue: value)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("GOMAXPROCS \(GoRuntime.usableCores)\n"), "\(run.output)")
    }

    @Test func set_processor_count_of_zero_or_less_reads_it_and_changes_nothing() async {
        let runtime = GoRuntime(processors: 3)
        #expect(await runtime.setProcessorCount(0) == 3)
        #expect(await runtime.setProcessorCount(-1) == 3)
        #expect(await runtime.setProcessorCount(.min) == 3)
        #expect(runtime.processorCount == 3)
        // A change returns the value it replaced, as Go's GOMAXPROCS(n) does.
        #expect(await runtime.setProcessorCount(2) == 3)
        #expect(await runtime.setProcessorCount(0) == 2)
    }

    @Test func the_processor_count_grows_past_256_at_run_time_and_goroutines_run_there() async {
        // In a child process: its 300 threads stay out of this one.
        let childTurn = await ChildProcessTurns.take()
        defer { childTurn.end() }
        await #expect(processExitsWith: .success) {
            let runtime = GoRuntime(processors: 2)
            let previous = await runtime.setProcessorCount(300)
            guard previous == 2, runtime.processorCount == 300 else { exit(3) }
            // Goroutines that keep their processor (their thread waits, not
            // their goroutine) until the program ends, so that the idle
            // processors take the queued ones, one processor after another,
            // until one runs on a processor past 256.
            let reached = DispatchSemaphore(value: 0)
            let never = DispatchSemaphore(value: 0)
            go(on: runtime) {
                for _ in 0..<600 {
                    go {
                        if let id = Processor.current?.id, id >= 256 {
                            reached.signal()
                        } else {
                            _ = never.wait(timeout: .now() + .seconds(240))
                        }
                    }
                }
            }
            exit(reached.wait(timeout: .now() + .seconds(240)) == .success ? 0 : 4)
        }
    }
}
