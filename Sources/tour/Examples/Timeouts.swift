// 「超时处理」: a select that gives up after a while.

import GoConcurrency

extension Examples {
    static let timeouts: [Example] = [
        Example(
            name: "timeouts",
            section: "超时处理",
            title: "Timeouts: time.After in select",
            shows: "A timeout: the select has a receive case and an `after` case (Go's `time.After`); the result takes two seconds, the timeout one, so the timeout wins.",
            seed: "其中time.After返回<-chan Time,直接向select发送消息",
            go: """
                c1 := make(chan string, 1)       // +
                go func() {                      // +
                    time.Sleep(time.Second * 2)  // +
                    c1 <- "result 1"             // +
                }()                              // +
                select {
                case res := <-c1:
                    fmt.Println(res)
                case <-time.After(time.Second * 1):
                    fmt.Println("timeout 1")
                }
                """,
            goOutput: "timeout 1\n",
            program: Timeouts.self
        ),
    ]
}

/// The seed's fragment, completed with Go by Example's c1: a result that takes
/// two seconds, one second longer than the select waits.
struct Timeouts: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let c1 = Chan<String>(capacity: 1)
        go {
            try await sleep(for: time.second * 2)
            try await c1.send("result 1")
        }
        try await select {
            c1.onReceive { res in fmt.println(res!) }                 // case res := <-c1:
            after(time.second * 1) { fmt.println("timeout 1") }       // case <-time.After(time.Second * 1):
        }
    }
}
