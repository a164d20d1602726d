// 「定时器」 and 「打点器」: a single event in the future, and events at a fixed interval.

import GoConcurrency

extension Examples {
    static let timers: [Example] = [
        Example(
            name: "timers",
            section: "定时器",
            title: "Timers: wait for one event, or stop it before it fires",
            shows: "A `Timer` delivers one value on its channel when it fires: the first is waited for; the second is stopped before it fires, so its goroutine never prints.",
            seed: "定时器表示在未来某一时刻的独立事件。你告诉定时器需要等待的时间,然后它将提供一个用于通知的通道。定时器是可以在它失效之前把它给取消的",
            go: """
                timer1 := time.NewTimer(time.Second * 2)
                <-timer1.C
                fmt.Println("Timer 1 expired")          // +
                timer2 := time.NewTimer(time.Second)    // +
                go func() {                             // +
                    <-timer2.C                          // +
                    fmt.Println("Timer 2 expired")      // +
                }()                                     // +
                stop2 := timer2.Stop()
                if stop2 {                              // +
                    fmt.Println("Timer 2 stopped")      // +
                }                                       // +
                """,
            goOutput: "Timer 1 expired\nTimer 2 stopped\n",
            program: Timers.self
        ),
    ]

    static let tickers: [Example] = [
        Example(
            name: "tickers",
            section: "打点器",
            title: "Tickers: a value every 500 ms until stopped",
            shows: "A `Ticker` delivers a value at every period until it is stopped: three ticks in 1.6 seconds, then stop. Go prints wall-clock times, which differ from run to run, so the outputs are shown but not compared.",
            seed: "打点器和定时器的机制有点相似:一个通道用来发送数据。这里我们在这个通道上使用内置的 range 来迭代值每隔500ms 发送一次的值。打点器可以和定时器一样被停止。一旦一个打点停止了,将不能再从它的通道中接收到值。",
            go: """
                ticker := time.NewTicker(time.Millisecond * 500)
                go func() {
                    for t := range ticker.C {
                        fmt.Println("Tick at", t)
                    }
                }()
                time.Sleep(time.Millisecond * 1600)
                ticker.Stop()
                fmt.Println("Ticker stopped")
                """,
            goOutput: """
                Tick at 2026-11-27 08:35:29.187856683 +0000 UTC m=+0.500896212
                Tick at 2026-11-27 08:35:29.687875377 +0000 UTC m=+1.000914977
                Tick at 2026-11-27 08:35:30.187515602 +0000 UTC m=+1.500555132
                Ticker stopped

                """,
            check: .unchecked(reason: "the tick times are the clock's, different in every run; three ticks, then the stop"),
            program: Tickers.self
        ),
    ]
}

/// Timer 1 is waited for; timer 2 is stopped before it fires, so its goroutine
/// never prints (and stays parked: a stopped timer's channel is not closed).
struct Timers: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let timer1 = Timer(after: time.second * 2)       // time.NewTimer(time.Second * 2)
        _ = try await timer1.channel.receive()           // <-timer1.C
        fmt.println("Timer 1 expired")
        let timer2 = Timer(after: time.second)
        go {
            _ = try await timer2.channel.receive()       // <-timer2.C
            fmt.println("Timer 2 expired")
        }
        let stop2 = timer2.stop()                        // stop2 := timer2.Stop()
        if stop2 {
            fmt.println("Timer 2 stopped")
        }
    }
}

/// Go prints a tick's wall-clock time and its monotonic offset (`m=+0.5…`);
/// the Swift ticker delivers a `ContinuousClock.Instant`, printed here as its
/// offset from the ticker's start.
struct Tickers: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let start = ContinuousClock.now
        let ticker = Ticker(every: time.millisecond * 500)      // time.NewTicker(time.Millisecond * 500)
        go {
            for await t in ticker.channel {                      // for t := range ticker.C
                fmt.println("Tick at", "m=+\(t - start)")
            }
        }
        try await sleep(for: time.millisecond * 1600)           // time.Sleep(time.Millisecond * 1600)
        ticker.stop()
        fmt.println("Ticker stopped")
    }
}
