// 「非阻塞通道操作」: select with default never blocks.

import GoConcurrency

extension Examples {
    static let nonBlocking: [Example] = [
        Example(
            name: "non-blocking-receive",
            section: "非阻塞通道操作",
            title: "Non-blocking receive",
            shows: "A non-blocking receive: a select with a receive case and a default case; no value is waiting, so the default case runs.",
            seed: "default,当监听的channel都没有准备好的时候,默认执行的.",
            go: """
                messages := make(chan string)    // +
                select {
                case msg := <-messages:
                    fmt.Println("received message", msg)
                default:
                    fmt.Println("no message received")
                }
                """,
            goOutput: "no message received\n",
            program: NonBlockingReceive.self
        ),
        Example(
            name: "channel-full",
            section: "非阻塞通道操作",
            title: "Is the channel full?",
            shows: "Whether a channel is full: a send case with a default in one select; the buffer of one already holds a value, so the default case runs.",
            seed: "可以使用 select 语句来检测 chan 是否已经满了",
            go: """
                ch := make (chan int, 1)
                ch <- 1
                select {
                case ch <- 2:
                default:
                    fmt.Println("channel is full !")
                }
                """,
            goOutput: "channel is full !\n",
            program: ChannelFull.self
        ),
    ]
}

struct NonBlockingReceive: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>()
        try await select {
            messages.onReceive { msg in fmt.println("received message", msg!) }
            otherwise { fmt.println("no message received") }
        }
        // Without select: messages.tryReceive() returns .empty here.
    }
}

struct ChannelFull: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let ch = Chan<Int>(capacity: 1)
        try await ch.send(1)
        try await select {
            ch.onSend(2) {}                                       // case ch <- 2:
            otherwise { fmt.println("channel is full !") }        // default:
        }
        // Without select: ch.trySend(2) returns .full here.
    }
}
