// 「通道同步」: waiting for a goroutine's work with a done channel.

import GoConcurrency

extension Examples {
    static let synchronization: [Example] = [
        Example(
            name: "synchronization",
            section: "通道同步",
            title: "Channel synchronization: worker and done",
            shows: "A channel used to wait for a goroutine to finish: the worker prints, sleeps a second, and sends on `done`; the main goroutine blocks on the receive until it does.",
            seed: "使用通道同步,如果你把 <- done 这行代码从程序中移除,程序甚至会在 worker还没开始运行时就结束了。",
            // The seed's last comment reads "知道worker执行完毕": 知道 (know) is a
            // typo for 直到 (until).
            go: """
                func worker(done chan bool) {
                    fmt.Print("working...")
                    time.Sleep(time.Second) // working
                    fmt.Println("done")
                    done <- true
                }
                func main() {
                    done := make(chan bool, 1)
                    go worker(done)
                    <-done //blocking 阻塞在这里,直到worker执行完毕
                }
                """,
            goOutput: "working...done\n",
            program: ChannelSynchronization.self
        ),
    ]
}

struct ChannelSynchronization: TourProgram {
    let fmt: Output
    let time: TourTime

    func worker(_ done: Chan<Bool>) async throws {
        fmt.print("working...")
        try await sleep(for: time.second)   // working
        fmt.println("done")
        try await done.send(true)
    }

    func main() async throws {
        let done = Chan<Bool>(capacity: 1)
        go { try await worker(done) }
        _ = try await done.receive()        // blocking: 阻塞在这里,直到worker执行完毕
    }
}
