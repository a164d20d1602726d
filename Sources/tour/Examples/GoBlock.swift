// 「go块」: starting a goroutine with a function literal.

import GoConcurrency

extension Examples {
    static let goBlock: [Example] = [
        Example(
            name: "go-block",
            section: "go块",
            title: "Go block",
            shows: "`go { }` starts a goroutine, as Go's `go func() { ... }()` does: it sends three numbers on an unbuffered channel and closes it, and `for await` on the channel is Go's `for range`, ending when the channel is closed and drained.",
            seed: "go的用法很简单,如下. 如果没有最外面的括号{}(),会显示go块必须是一个函数调用.",
            go: """
                nums := []int{1, 2, 3}    // +
                out := make(chan int)     // +
                go func() {
                  for _,n := range nums {
                    out <- n
                  }
                  close(out)
                }()
                for n := range out {      // +
                    fmt.Println(n)        // +
                }                         // +
                """,
            goOutput: "1\n2\n3\n",
            program: GoBlock.self
        ),
    ]
}

/// The seed's fragment, completed with the numbers it sends and a receiver.
struct GoBlock: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let nums = [1, 2, 3]
        let out = Chan<Int>()              // make(chan int)
        go {
            for n in nums {
                try await out.send(n)      // out <- n
            }
            try out.close()                // close(out)
        }
        for await n in out {               // for n := range out
            fmt.println(n)
        }
    }
}
