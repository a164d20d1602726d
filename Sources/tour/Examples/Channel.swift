// 「channel」: an unbuffered channel, the send that nobody receives, and the
// select with default that never blocks.

import GoConcurrency

extension Examples {
    static let channel: [Example] = [
        Example(
            name: "channels",
            section: "channel",
            title: "Channels: ping",
            shows: "An unbuffered channel: the goroutine's send waits for the main goroutine's receive, and the value passes from one to the other. `receive()` returns an optional: `nil` only once the channel is closed.",
            seed: "默认发送和接收操作是阻塞的,直到发送方和接收方都准备完毕。",
            go: """
                func main() {
                    messages := make(chan string)
                    go func() { messages <- "ping" }()
                    msg := <-messages
                    fmt.Println(msg)
                }
                """,
            goOutput: "ping\n",
            program: ChannelPing.self
        ),
        Example(
            name: "unreceived-send",
            section: "channel",
            title: "A send that nobody receives (deadlock)",
            shows: "A send on an unbuffered channel that nobody receives waits for ever. As in Go, the runtime sees that every goroutine is asleep and ends the program with \"fatal error: all goroutines are asleep - deadlock!\", a dump of the goroutines and exit status 2.",
            seed: "所以你要是这么写:是一辈子都不会执行到print的(会死锁)",
            go: """
                func main() {
                    messages := make(chan string)
                    messages <- "ping"
                    msg := <-messages
                    fmt.Println(msg)
                }
                """,
            goOutput: """
                fatal error: all goroutines are asleep - deadlock!

                goroutine 1 [chan send]:
                main.main()

                """,
            check: .deadlock,
            program: UnreceivedSend.self
        ),
        Example(
            name: "select-send-default",
            section: "channel",
            title: "A send that never blocks: select with default",
            shows: "A select with a default case (`otherwise`) never blocks: nobody is ready to receive, so the send case cannot proceed and the default case runs.",
            seed: "解决方法:1. 用带缓存的chan; 2. 使用带有default的select发送",
            go: """
                messages := make(chan string)    // +
                select {
                case messages <- "msg":
                    fmt.Println("sent message")
                default:
                    fmt.Println("no message sent")
                }
                """,
            goOutput: "no message sent\n",
            program: SelectSendDefault.self
        ),
    ]
}

struct ChannelPing: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>()               // make(chan string)
        go { try await messages.send("ping") }      // go func() { messages <- "ping" }()
        let msg = try await messages.receive()!     // msg := <-messages (nil only once closed)
        fmt.println(msg)
    }
}

/// The send waits forever, as Go's does: the runtime reports the deadlock.
struct UnreceivedSend: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>()
        try await messages.send("ping")             // nobody will ever receive this
        let msg = try await messages.receive()!
        fmt.println(msg)
    }
}

/// The seed's fragment, with the unbuffered channel nobody receives from.
struct SelectSendDefault: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>()
        try await select {
            messages.onSend("msg") { fmt.println("sent message") }   // case messages <- "msg":
            otherwise { fmt.println("no message sent") }              // default:
        }
    }
}
