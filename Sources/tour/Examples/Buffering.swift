// 「通道缓冲」: a buffered channel takes sends without a receiver, up to its
// capacity.

import GoConcurrency

extension Examples {
    static let buffering: [Example] = [
        Example(
            name: "buffering",
            section: "通道缓冲",
            title: "Channel buffering: one value",
            shows: "A channel with a buffer of one: the send returns at once because the value waits in the buffer, and the receive takes it afterwards, in the same goroutine.",
            seed: "无缓冲的意味着只有在对应的接收(<-chan)通道准备好接收时,才允许发送(chan <-),可缓存通道允许在没有对应接收方的情况下,缓存限定数量的值。",
            go: """
                func main() {
                  message := make(chan string,1)
                  message <- "ping"
                  msg := <-message
                  fmt.Print(msg)
                }
                """,
            // fmt.Print: no newline.
            goOutput: "ping",
            program: BufferingOne.self
        ),
        Example(
            name: "buffering-two",
            section: "通道缓冲",
            title: "Channel buffering: two values",
            shows: "A buffer of two takes two sends with no receiver waiting; the receives then take the values in the order they were sent.",
            seed: "可缓存通道允许在没有对应接收方的情况下,缓存限定数量的值。",
            go: """
                func main() {
                    messages := make(chan string, 2)
                    messages <- "buffered"
                    messages <- "channel"
                    fmt.Println(<-messages)
                    fmt.Println(<-messages)
                }
                """,
            goOutput: "buffered\nchannel\n",
            program: BufferingTwo.self
        ),
        Example(
            name: "buffering-one-too-many",
            section: "通道缓冲",
            title: "One receive too many (deadlock)",
            shows: "A third receive from a buffer that held two values waits for ever: the runtime reports the deadlock as Go does, after the two values printed.",
            // The seed writes 多接受 (accept) for 多接收 (receive).
            seed: "要是多接收一个fmt.Println(<-messages),会打印出buffered channel,然后报同样的error",
            go: """
                func main() {
                    messages := make(chan string, 2)
                    messages <- "buffered"
                    messages <- "channel"
                    fmt.Println(<-messages)
                    fmt.Println(<-messages)
                    fmt.Println(<-messages)    // + one receive too many
                }
                """,
            goOutput: """
                buffered
                channel
                fatal error: all goroutines are asleep - deadlock!

                goroutine 1 [chan receive]:
                main.main()

                """,
            check: .deadlock,
            program: BufferingOneTooMany.self
        ),
    ]
}

struct BufferingOne: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let message = Chan<String>(capacity: 1)   // make(chan string, 1)
        try await message.send("ping")            // returns at once: the value waits in the buffer
        let msg = try await message.receive()!
        fmt.print(msg)                            // the seed's fmt.Print: no newline
    }
}

struct BufferingTwo: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>(capacity: 2)
        try await messages.send("buffered")
        try await messages.send("channel")
        fmt.println(try await messages.receive()!)
        fmt.println(try await messages.receive()!)
    }
}

/// The third receive waits forever: the runtime reports the deadlock. (The seed's other variant,
/// one send too many on a channel of capacity 1, waits forever in the send.)
struct BufferingOneTooMany: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let messages = Chan<String>(capacity: 2)
        try await messages.send("buffered")
        try await messages.send("channel")
        fmt.println(try await messages.receive()!)
        fmt.println(try await messages.receive()!)
        fmt.println(try await messages.receive()!)   // one receive too many
    }
}
