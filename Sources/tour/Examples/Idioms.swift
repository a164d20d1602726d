// The seed's idioms: 生成器 (generator), 多路复用 (multiplexing), Future,
// Chain Filter and 共享变量 (shared variable), each written as the seed writes
// it, with goroutines and channels, whose goroutines run until the program
// ends. The library has each as a type or function whose goroutines stop when
// the consumer does (released, or a `done` channel closed): `Generator`,
// `merge`, `Future`, `stage`, `SharedVariable`.

import GoConcurrency

extension Examples {
    static let idioms: [Example] = [
        Example(
            name: "generator",
            section: "生成器",
            title: "Generator: random numbers as a service",
            shows: "A generator: a function that starts a goroutine and returns the channel it sends on; each receive asks for the next value. The library's `Generator` does the same and stops its goroutine when the consumer goes.",
            seed: "类似于提供了一个服务,不过只是适用于调用不是很频繁",
            go: """
                func rand_generator_2() chan int {
                    out := make(chan int)
                    go func() {
                        for {
                            out <- rand.Int()
                        }
                    }()
                    return out
                }

                func main() {
                    // 生成随机数作为一个服务
                    rand_service_handler := rand_generator_2()
                    fmt.Printf("%d\\n", <-rand_service_handler)   // the seed writes "%dn"
                }
                """,
            goOutput: "5577006791947779410\n",
            check: .unchecked(reason: "a random number (Go 1.19's unseeded math/rand gives this one)"),
            program: RandomService.self
        ),
        Example(
            name: "multiplexing",
            section: "多路复用",
            title: "Multiplexing: two generators merged into one channel",
            shows: "Multiplexing: two generators' channels merged into one by forwarding goroutines, so the consumer reads from either with one receive (`merge` in the library).",
            seed: "多路复用技术可以用来整合多个通道。其实就是整合了多个上面的生成器",
            go: """
                // The seed names the two generators rand_generator_1 and
                // rand_generator_2, the second hiding the function of that
                // name: two instances of the generator above were meant.
                func rand_generator_3() chan int {
                    generator_1 := rand_generator_2()
                    generator_2 := rand_generator_2()
                    out := make(chan int)

                    go func() {
                        for {
                            //读取生成器1中的数据,整合
                            out <- <-generator_1
                        }
                    }()
                    go func() {
                        for {
                            //读取生成器2中的数据,整合
                            out <- <-generator_2
                        }
                    }()
                    return out
                }

                func main() {                                      // +
                    rand_service_handler := rand_generator_3()     // +
                    fmt.Printf("%d\\n", <-rand_service_handler)     // +
                }                                                  // +
                """,
            goOutput: "8674665223082153551\n",
            check: .unchecked(reason: "a random number, from whichever generator came first"),
            program: MergedRandomService.self
        ),
        Example(
            name: "future",
            section: "Furture技术",
            title: "Future: call now, supply the argument later",
            shows: "A future: the call starts now on a goroutine, the caller supplies its argument and reads its result later over channels (`Future` in the library).",
            seed: "可以在不准备好参数的情况下调用函数。函数调用和函数参数准备这两个过程可以完全解耦。",
            go: """
                type query struct {
                    sql chan string
                    result chan string
                }

                func execQuery(q query) {
                    go func() {
                        sql := <-q.sql
                        q.result <- "get " + sql
                    }()

                }

                func main() {
                    q := query{make(chan string, 1), make(chan string, 1)}
                    execQuery(q)

                    //准备参数
                    q.sql <- "select * from table"
                    fmt.Println(<-q.result)
                }
                """,
            goOutput: "get select * from table\n",
            program: FutureQuery.self
        ),
        Example(
            name: "chain-filter",
            section: "Chain Filter技术",
            title: "Chain filter: the prime sieve, ten filters",
            shows: "A chain of filters connected by channels: the prime sieve. Each prime found adds a goroutine that filters its multiples out of the numbers flowing through (`stage` in the library).",
            seed: "程序创建了10个Filter,每个分别过滤一个素数,所以可以输出前10个素数。",
            go: """
                func Generate(ch chan<- int) {
                    for i := 2; ; i++ {
                        ch <- i
                    }
                }

                func Filter(in <-chan int, out chan<- int, prime int) {
                    for {
                        i := <-in // Receive value from 'in'.
                        if i%prime != 0 {
                            out <- i // Send 'i' to 'out'.
                        }
                    }
                }

                // The prime sieve: Daisy-chain Filter processes.
                func main() {
                    ch := make(chan int) // Create a new channel.
                    go Generate(ch)      // Launch Generate goroutine.
                    for i := 0; i < 10; i++ {
                        prime := <-ch
                        print(prime, "\\n")   // the seed writes "n"
                        ch1 := make(chan int)
                        go Filter(ch, ch1, prime)
                        ch = ch1
                    }
                }
                """,
            // Go's built-in print writes to standard error; the text is this.
            goOutput: "2\n3\n5\n7\n11\n13\n17\n19\n23\n29\n",
            program: PrimeSieve.self
        ),
        Example(
            name: "shared-variable",
            section: "共享变量",
            title: "Shared variable: one goroutine owns the value",
            shows: "A variable shared by owning it: one goroutine holds the value, and reads and writes are requests sent to it over channels, so no lock is needed (`SharedVariable` in the library).",
            seed: "有些时候使用共享变量可以让代码更加简洁",
            go: """
                type sharded_var struct {
                    reader chan int
                    writer chan int
                }

                func sharded_var_whachdog(v sharded_var) {//共享变量维护协程
                    go func() {
                        var value int = 0
                        for { //监听读写通道,完成服务
                            select {
                            case value = <-v.writer:
                            case v.reader <- value:
                            }
                        }
                    }()
                }

                func main() {
                    v := sharded_var{make(chan int), make(chan int)} //初始化,并开始维护协程
                    sharded_var_whachdog(v)

                    fmt.Println(<-v.reader)
                    v.writer <- 1
                    fmt.Println(<-v.reader)
                }
                """,
            goOutput: "0\n1\n",
            program: SharedVariableWatchdog.self
        ),
    ]
}

/// The seed's generator, as it writes it: the goroutine runs for ever (the
/// program ends anyway). `Generator` is the library's form, which stops its
/// goroutine when the consumer lets go.
struct RandomService: TourProgram {
    let fmt: Output
    let time: TourTime

    static func randGenerator2() -> ReceiveOnlyChan<Int> {
        let out = Chan<Int>()
        go {
            while true {
                try await out.send(Int.random(in: 0...Int.max))
            }
        }
        return out.receiveOnly
    }

    func main() async throws {
        let randServiceHandler = RandomService.randGenerator2()
        fmt.println(try await randServiceHandler.receive()!)
    }
}

/// Two generators merged by two forwarding goroutines (`merge` in the library).
struct MergedRandomService: TourProgram {
    let fmt: Output
    let time: TourTime

    static func randGenerator3() -> ReceiveOnlyChan<Int> {
        let generator1 = RandomService.randGenerator2()
        let generator2 = RandomService.randGenerator2()
        let out = Chan<Int>()
        go {
            while true {
                try await out.send(try await generator1.receive()!)   // out <- <-generator_1
            }
        }
        go {
            while true {
                try await out.send(try await generator2.receive()!)   // out <- <-generator_2
            }
        }
        return out.receiveOnly
    }

    func main() async throws {
        let randServiceHandler = MergedRandomService.randGenerator3()
        fmt.println(try await randServiceHandler.receive()!)
    }
}

/// The call happens before its argument exists (`Future` in the library).
struct FutureQuery: TourProgram {
    let fmt: Output
    let time: TourTime

    struct Query {
        let sql = Chan<String>(capacity: 1)
        let result = Chan<String>(capacity: 1)
    }

    static func execQuery(_ q: Query) {
        go {
            let sql = try await q.sql.receive()!
            try await q.result.send("get " + sql)
        }
    }

    func main() async throws {
        let q = Query()
        FutureQuery.execQuery(q)
        try await q.sql.send("select * from table")   // 准备参数
        fmt.println(try await q.result.receive()!)
    }
}

/// Ten filters chained by channels (`stage` in the library).
struct PrimeSieve: TourProgram {
    let fmt: Output
    let time: TourTime

    static func generate(_ ch: SendOnlyChan<Int>) async throws {
        var i = 2
        while true {
            try await ch.send(i)
            i += 1
        }
    }

    static func filter(_ input: ReceiveOnlyChan<Int>, _ output: SendOnlyChan<Int>, _ prime: Int) async throws {
        while true {
            let i = try await input.receive()!
            if i % prime != 0 {
                try await output.send(i)
            }
        }
    }

    func main() async throws {
        var ch = Chan<Int>()
        let first = ch
        go { try await PrimeSieve.generate(first.sendOnly) }
        for _ in 0..<10 {
            let prime = try await ch.receive()!
            fmt.println(prime)
            let ch1 = Chan<Int>()
            let input = ch
            go { try await PrimeSieve.filter(input.receiveOnly, ch1.sendOnly, prime) }
            ch = ch1
        }
    }
}

/// The value lives in one goroutine; reads and writes are channel operations
/// (`SharedVariable` in the library).
struct SharedVariableWatchdog: TourProgram {
    let fmt: Output
    let time: TourTime

    struct ShardedVar {
        let reader = Chan<Int>()
        let writer = Chan<Int>()
    }

    static func watchdog(_ v: ShardedVar) {
        go {
            var value = 0
            while true {
                try await select {
                    v.writer.onReceive { new in value = new! }   // case value = <-v.writer:
                    v.reader.onSend(value) {}                     // case v.reader <- value:
                }
            }
        }
    }

    func main() async throws {
        let v = ShardedVar()
        SharedVariableWatchdog.watchdog(v)
        fmt.println(try await v.reader.receive()!)
        try await v.writer.send(1)
        fmt.println(try await v.reader.receive()!)
    }
}
