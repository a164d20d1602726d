// Go's context, not in the seed: the Runner's timeout and Ctrl-C as a Go
// program of today writes them, a worker pool whose goroutines select on
// ctx.Done() under context.WithTimeout and signal.NotifyContext, played with
// `Context` (`withTimeout`, `withInterrupt`, `done`, `err`).

import GoConcurrency

extension Examples {
    static let context: [Example] = [
        Example(
            name: "context",
            section: "context",
            title: "Context: a worker pool that stops at a deadline or on Ctrl-C",
            shows: "Go's `context` (`Context`): two workers take eight two-second jobs; `withTimeout` (Go's `context.WithTimeout`) gives the run five seconds and `withInterrupt` (Go's `signal.NotifyContext`) ends it sooner on Ctrl-C. Every goroutine selects on `ctx.done` (Go's `case <-ctx.Done():`), so at the deadline the two running jobs stop with `ctx.err`, the feeder stops handing out jobs, and the workers return: four jobs done, two cut short, two never started. Same output as Go, line for line. Press Ctrl-C within five seconds to see the running jobs stop with \"context canceled\" instead, as Go's do (`ctx.cause` then says \"interrupt signal received\"); the output then differs from the deadline's shown for Go, and the tour says so.",
            seed: "这个程序就可以监控和中断你的程序,如果你的程序运行的太久了. (interrupt: 接收系统的终止信号(比如ctrl-c); timeout: 当超时了之后,系统就优雅的退出)",
            go: """
                type result struct {                                                         // +
                    job  int                                                                 // +
                    text string                                                              // +
                }                                                                            // +

                func main() {                                                                // +
                    // Stop at the deadline or at the first Ctrl-C, whichever comes first.   // +
                    ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)  // +
                    defer cancel()                                                           // +
                    ctx, stop := signal.NotifyContext(ctx, os.Interrupt)                     // +
                    defer stop()                                                             // +
                    fmt.Println("8 jobs, 2 workers, 5 s deadline (Ctrl-C stops sooner)")     // +

                    jobs := make(chan int)                                                   // +
                    results := make(chan result, 8)                                          // +
                    var wg sync.WaitGroup                                                    // +
                    for w := 0; w < 2; w++ {                                                 // +
                        wg.Add(1)                                                            // +
                        go func() {                                                          // +
                            defer wg.Done()                                                  // +
                            for {                                                            // +
                                select {                                                     // +
                                case <-ctx.Done():                                           // +
                                    return                                                   // +
                                case j, ok := <-jobs:                                        // +
                                    if !ok {                                                 // +
                                        return                                               // +
                                    }                                                        // +
                                    results <- result{j, process(ctx, j)}                    // +
                                }                                                            // +
                            }                                                                // +
                        }()                                                                  // +
                    }                                                                        // +

                feed:                                                                        // +
                    for j := 0; j < 8; j++ {                                                 // +
                        select {                                                             // +
                        case jobs <- j:                                                      // +
                            fmt.Printf("job %d started\\n", j+1)                              // +
                        case <-ctx.Done():                                                   // +
                            break feed                                                       // +
                        }                                                                    // +
                    }                                                                        // +
                    close(jobs)                                                              // +
                    wg.Wait()                                                                // +
                    close(results)                                                           // +

                    texts := make([]string, 8)                                               // +
                    for j := range texts {                                                   // +
                        texts[j] = "not started"                                             // +
                    }                                                                        // +
                    for r := range results {                                                 // +
                        texts[r.job] = r.text                                                // +
                    }                                                                        // +
                    for j, text := range texts {                                             // +
                        fmt.Printf("job %d: %s\\n", j+1, text)                                // +
                    }                                                                        // +
                    fmt.Println("stopped:", ctx.Err())                                       // +
                }                                                                            // +

                // process works on job j for two seconds, or until ctx is done.             // +
                func process(ctx context.Context, j int) string {                            // +
                    select {                                                                 // +
                    case <-time.After(2 * time.Second):                                      // +
                        return "done"                                                        // +
                    case <-ctx.Done():                                                       // +
                        return ctx.Err().Error()                                             // +
                    }                                                                        // +
                }                                                                            // +
                """,
            goOutput: """
                8 jobs, 2 workers, 5 s deadline (Ctrl-C stops sooner)
                job 1 started
                job 2 started
                job 3 started
                job 4 started
                job 5 started
                job 6 started
                job 1: done
                job 2: done
                job 3: done
                job 4: done
                job 5: context deadline exceeded
                job 6: context deadline exceeded
                job 7: not started
                job 8: not started
                stopped: context deadline exceeded

                """,
            program: ContextExample.self
        ),
    ]
}

/// A worker pool under a deadline and Ctrl-C, as Go writes it with
/// `context`: 5 s for eight 2 s jobs on two workers (`swift run tour context`,
/// and Ctrl-C within 5 s stops it sooner).
struct ContextExample: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        // Stop at the deadline or at the first Ctrl-C, whichever comes first.
        let (timed, cancel) = Context.background.withTimeout(time.second * 5)
        defer { cancel() }
        let (ctx, stop) = timed.withInterrupt()                        // signal.NotifyContext(ctx, os.Interrupt)
        defer { stop() }
        fmt.println("8 jobs, 2 workers, 5 s deadline (Ctrl-C stops sooner)")

        let jobs = Chan<Int>()
        let results = Chan<(job: Int, text: String)>(capacity: 8)
        let wg = Sync.WaitGroup()
        for _ in 0..<2 {
            wg.go {
                while true {
                    let job = try await select {
                        ctx.done.onReceive { _ in Int?.none }           // case <-ctx.Done(): return
                        jobs.onReceive { j in j }                       // case j, ok := <-jobs: (nil: closed)
                    }
                    guard let j = job else { return }
                    try await results.send((j, try await process(ctx, j)))
                }
            }
        }

        for j in 0..<8 {                                                // feed:
            let sent = try await select {
                jobs.onSend(j) { fmt.println("job \(j + 1) started"); return true }
                ctx.done.onReceive { _ in false }                       // break feed
            }
            if !sent { break }
        }
        try jobs.close()
        try await wg.wait()
        try results.close()

        var texts = [String](repeating: "not started", count: 8)
        for await r in results {
            texts[r.job] = r.text
        }
        for (j, text) in texts.enumerated() {
            fmt.println("job \(j + 1): \(text)")
        }
        fmt.println("stopped:", ctx.err!)                              // done: by the deadline or Ctrl-C
    }

    /// Works on job `j` for two seconds, or until `ctx` is done.
    func process(_ ctx: Context, _ j: Int) async throws -> String {
        try await select {
            after(time.second * 2) { "done" }                           // case <-time.After(2 * time.Second):
            ctx.done.onReceive { _ in "\(ctx.err!)" }                   // case <-ctx.Done():
        }
    }
}
