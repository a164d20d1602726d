// 「range」: ranging over a channel ends only when the channel is closed.

import GoConcurrency

extension Examples {
    static let range: [Example] = [
        Example(
            name: "range-deadlock",
            section: "range",
            title: "Range over a channel nobody closes (deadlock)",
            shows: "Ranging over a channel that nobody closes (the sends and the close are commented out) waits for ever: the runtime reports the deadlock and exits with status 2, as Go does.",
            // The seed writes "deadloc".
            seed: "用于channel的range是阻塞的.下面程序会显示deadlock,去掉注释就好了.",
            go: """
                queue := make(chan string, 2)
                //queue <- "one"
                //queue <- "two"
                //close(queue)
                for elem := range queue {
                  fmt.Println(elem)
                }
                """,
            goOutput: """
                fatal error: all goroutines are asleep - deadlock!

                goroutine 1 [chan receive]:
                main.main()

                """,
            check: .deadlock,
            program: RangeOverUnclosed.self
        ),
        Example(
            name: "range",
            section: "range",
            title: "Range over a channel (comments removed)",
            shows: "Ranging over a closed buffered channel: `for await` takes the values still in the buffer, then ends because the channel is closed.",
            seed: "去掉注释就好了.",
            go: """
                queue := make(chan string, 2)
                queue <- "one"
                queue <- "two"
                close(queue)
                for elem := range queue {
                  fmt.Println(elem)
                }
                """,
            goOutput: "one\ntwo\n",
            program: RangeOverChannel.self
        ),
    ]
}

/// `for await` waits forever for a value or a close: the runtime reports
/// the deadlock.
struct RangeOverUnclosed: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let queue = Chan<String>(capacity: 2)
        // try await queue.send("one")
        // try await queue.send("two")
        // try queue.close()
        for await elem in queue {
            fmt.println(elem)
        }
    }
}

struct RangeOverChannel: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let queue = Chan<String>(capacity: 2)   // make(chan string, 2)
        try await queue.send("one")
        try await queue.send("two")
        try queue.close()
        for await elem in queue {               // for elem := range queue
            fmt.println(elem)
        }
    }
}
