// 「发送方向」: send-only and receive-only channel parameters.

import GoConcurrency

extension Examples {
    static let directions: [Example] = [
        Example(
            name: "directions",
            section: "发送方向",
            title: "Channel directions: ping and pong",
            shows: "Send-only and receive-only views of a channel (`SendOnlyChan`, `ReceiveOnlyChan`, Go's `chan<-` and `<-chan`): a function given one cannot use the channel the other way; that is checked by the compiler.",
            seed: "可以指定这个通道是不是只用来发送或者接收值。这个特性提升了程序的类型安全性。",
            go: """
                func ping(pings chan<- string, msg string) {
                    pings <- msg
                }

                func pong(pings <-chan string, pongs chan<- string) {
                    msg := <-pings
                    pongs <- msg
                }

                func main() {
                    pings := make(chan string, 1)
                    pongs := make(chan string, 1)
                    ping(pings, "passed message")
                    pong(pings, pongs)
                    fmt.Println(<-pongs)
                }
                """,
            goOutput: "passed message\n",
            program: ChannelDirections.self
        ),
    ]
}

struct ChannelDirections: TourProgram {
    let fmt: Output
    let time: TourTime

    func ping(_ pings: SendOnlyChan<String>, _ msg: String) async throws {   // chan<- string
        try await pings.send(msg)
    }

    func pong(_ pings: ReceiveOnlyChan<String>, _ pongs: SendOnlyChan<String>) async throws {   // <-chan string
        let msg = try await pings.receive()!
        try await pongs.send(msg)
        // try await pings.send(msg)   would not compile: pings only receives.
    }

    func main() async throws {
        let pings = Chan<String>(capacity: 1)
        let pongs = Chan<String>(capacity: 1)
        // Go converts chan string to chan<- string by itself; Swift asks for the view.
        try await ping(pings.sendOnly, "passed message")
        try await pong(pings.receiveOnly, pongs.sendOnly)
        fmt.println(try await pongs.receive()!)
    }
}
