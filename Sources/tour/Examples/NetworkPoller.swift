// 「goroutine实现基础」, its last paragraph: a goroutine that does network I/O
// is detached from its logical processor and parked on the runtime's network
// poller until its socket is ready, so blocked connections cost no threads.

import Foundation
import GoConcurrency

extension Examples {
    static let networkPoller: [Example] = [
        Example(
            name: "netpoller",
            section: "goroutine实现基础",
            title: "Goroutines blocked on sockets wait on the network poller, not on threads",
            shows: "One logical processor, 100 connections, a goroutine reading each: the readers park on the runtime's network poller (`[IO wait]` in the goroutine dump) instead of holding a thread each, so a goroutine that counts to a million runs on the same processor meanwhile, no OS thread is started for them, and each reader wakes when its socket has data. Same output as Go, line for line.",
            seed: "如果goroutine需要进行网络IO调用,这个过程会有一点不一样.在这种情况下,这个goroutine会和逻辑processor分离,然后移到运行时集成的network poller(runtime integrated network poller).一个这个poller指示一个可读/写操作以及就绪,这个goroutine就被分配回这个逻辑的processor去处理这个操作.",
            go: """
                runtime.GOMAXPROCS(1)                                   // +
                before := threads() // Threads: in /proc/self/status    // +
                ln, _ := net.Listen("tcp", "127.0.0.1:0")               // +
                for i := 0; i < 100; i++ {                              // +
                    go func() {                                         // +
                        c, _ := ln.Accept()                             // +
                        buf := make([]byte, 64)                         // +
                        n, _ := c.Read(buf)                             // +
                        c.Write(buf[:n])                                // +
                        c.Close()                                       // +
                    }()                                                 // +
                }                                                       // +
                conns := make([]net.Conn, 100)                          // +
                for i := range conns {                                  // +
                    conns[i], _ = net.Dial("tcp", ln.Addr().String())   // +
                }                                                       // +
                // ioWaits: the [IO wait] entries of runtime.Stack(buf, true) // +
                for n, _ := ioWaits(); n < 100; n, _ = ioWaits() {      // +
                    time.Sleep(time.Millisecond)                        // +
                }                                                       // +
                sum := make(chan int)                                   // +
                go func() {                                             // +
                    total := 0                                          // +
                    for i := 1; i <= 1000000; i++ {                     // +
                        total += i                                      // +
                    }                                                   // +
                    sum <- total                                        // +
                }()                                                     // +
                fmt.Println("counted to 1000000 while 100 goroutines wait on sockets:", <-sum) // +
                count, first := ioWaits()                               // +
                fmt.Println("goroutines in [IO wait]:", count, "- one of them:", // +
                    strings.Fields(first)[0], "N", strings.Fields(first)[2], strings.Fields(first)[3]) // +
                fmt.Println("OS threads started for them:", threads()-before) // +
                echoed := 0                                             // +
                for i, c := range conns {                               // +
                    msg := []byte(fmt.Sprintf("ping %d", i))            // +
                    c.Write(msg)                                        // +
                    buf := make([]byte, 64)                             // +
                    n, _ := c.Read(buf)                                 // +
                    if bytes.Equal(buf[:n], msg) {                      // +
                        echoed++                                        // +
                    }                                                   // +
                }                                                       // +
                fmt.Println("echoes back:", echoed)                     // +
                """,
            goOutput: """
                counted to 1000000 while 100 goroutines wait on sockets: 500000500000
                goroutines in [IO wait]: 100 - one of them: goroutine N [IO wait]:
                OS threads started for them: 0
                echoes back: 100

                """,
            program: NetworkPollerProgram.self
        ),
    ]
}

/// 100 goroutines each block reading a connection. Each read finds no data,
/// so its goroutine parks on the runtime's network poller (the dump says
/// `[IO wait]`) and the processor runs the next goroutine: the counter runs to
/// a million on the only processor meanwhile, and no thread is started for the
/// readers (with `blocking { read(...) }` each would hold one). When the main
/// goroutine writes, the poller finds each socket readable and puts its reader
/// back on the run queue.
struct NetworkPollerProgram: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let previous = GoRuntime.shared.processorCount
        await GoRuntime.shared.setProcessorCount(1)           // runtime.GOMAXPROCS(1)
        defer { GoRuntime.shared.processorCount = previous }
        let before = threads()
        let listener = try Net.listen(.tcp, "127.0.0.1:0")
        defer { listener.close() }
        for _ in 0..<100 {
            go {
                let conn = try await listener.accept()
                defer { conn.close() }
                var buffer = [UInt8](repeating: 0, count: 64)
                let n = try await conn.read(into: &buffer)
                try await conn.write(buffer[..<n])
            }
        }
        var conns: [Conn] = []
        for _ in 0..<100 {
            conns.append(try await Net.dial(.tcp, listener.address.description))
        }
        while ioWaits().count < 100 {
            try await sleep(for: .milliseconds(1))
        }
        let sum = Chan<Int>()
        go {
            var total = 0
            for i in 1...1_000_000 {
                total += i
            }
            try await sum.send(total)
        }
        fmt.println("counted to 1000000 while 100 goroutines wait on sockets:", try await sum.receive()!)
        let (count, first) = ioWaits()
        let words = first.split(separator: " ")
        fmt.println("goroutines in [IO wait]:", count, "- one of them:", words[0], "N", words[2], words[3])
        fmt.println("OS threads started for them:", threads() - before)
        var echoed = 0
        for (i, conn) in conns.enumerated() {
            let message = Array("ping \(i)".utf8)
            try await conn.write(message)
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = try await conn.read(into: &buffer)
            if buffer[..<n].elementsEqual(message) {
                echoed += 1
            }
            conn.close()
        }
        fmt.println("echoes back:", echoed)
    }

    /// The goroutine dump's entries in `[IO wait]`: how many, and the first
    /// one's header line.
    func ioWaits() -> (count: Int, first: String) {
        let headers = GoRuntime.shared.dump().description
            .components(separatedBy: "\n\n")
            .compactMap { $0.split(separator: "\n").first.map(String.init) }
            .filter { $0.hasSuffix("[IO wait]:") }
        return (headers.count, headers.first ?? "")
    }

    /// The process's OS threads now (`Threads:` in /proc/self/status).
    func threads() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") }
        return line.flatMap { Int($0.dropFirst("Threads:".count).trimmingCharacters(in: .whitespaces)) } ?? -1
    }
}
