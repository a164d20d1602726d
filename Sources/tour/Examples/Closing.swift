// 「通道关闭」: a closed channel still hands out what it holds.

import GoConcurrency

extension Examples {
    static let closing: [Example] = [
        Example(
            name: "closing",
            section: "通道关闭",
            title: "Closing channels: range over a closed buffered channel",
            shows: "A closed channel still hands out the values in its buffer: closing stops sends, not receives, and the range ends once the buffer is empty.",
            seed: "一个非空的通道也是可以关闭的,但是通道中剩下的值仍然可以被接收到",
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
            // The seed's close example is its range example again: the same program plays.
            program: RangeOverChannel.self
        ),
    ]
}
