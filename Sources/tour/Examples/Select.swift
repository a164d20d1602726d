// 「select」: waiting on two channels at once.

import GoConcurrency

extension Examples {
    static let select: [Example] = [
        Example(
            name: "select",
            section: "select",
            title: "Select: two goroutines sleeping 1 s and 2 s",
            shows: "`select` waits on several channel operations at once and runs the case of the first that is ready: \"one\" arrives after one second, \"two\" after two, so the loop prints them in that order and takes two seconds in all, not three.",
            seed: "Go 的select 让你可以同时等待多个通道操作。",
            go: """
                c1 := make(chan string)    // +
                c2 := make(chan string)    // +
                go func() {
                    time.Sleep(time.Second * 1)
                    c1 <- "one"
                }()

                go func() {
                    time.Sleep(time.Second * 2)
                    c2 <- "two"
                }()

                for i := 0; i < 2; i++ {
                    select {
                    case msg1 := <-c1:
                        fmt.Println("received", msg1)
                    case msg2 := <-c2:
                        fmt.Println("received", msg2)
                    }
                }
                """,
            // Deterministic as Go's is: "one" is sent a (scaled) second before "two".
            goOutput: "received one\nreceived two\n",
            program: SelectTwoSleepers.self
        ),
    ]
}

struct SelectTwoSleepers: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let c1 = Chan<String>()
        let c2 = Chan<String>()
        go {
            try await sleep(for: time.second * 1)
            try await c1.send("one")
        }

        go {
            try await sleep(for: time.second * 2)
            try await c2.send("two")
        }

        for _ in 0..<2 {
            try await select {
                c1.onReceive { msg1 in fmt.println("received", msg1!) }   // case msg1 := <-c1:
                c2.onReceive { msg2 in fmt.println("received", msg2!) }   // case msg2 := <-c2:
            }
        }
    }
}
