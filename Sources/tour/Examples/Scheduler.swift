// 「goroutine实现基础」: the scheduler the seed describes — logical processors
// (GOMAXPROCS), their run queues, and the hand-off of a processor from a
// thread blocked in a system call to another thread.

import GoConcurrency

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension Examples {
    static let scheduler: [Example] = [
        Example(
            name: "gomaxprocs",
            section: "goroutine实现基础",
            title: "One logical processor: goroutines take turns, the last one started first",
            shows: "With one logical processor (GOMAXPROCS 1) two goroutines cannot run at the same time: each prints all its letters before the other starts, and the goroutine started last runs first, because a new goroutine takes its processor's runnext slot. Same output as Go, letter for letter.",
            seed: "GOMAXPROCS可以修改调度器使用logical processors的数量.",
            go: """
                runtime.GOMAXPROCS(1)                                   // +
                done := make(chan bool)                                 // +
                go func() {                                             // +
                    for count := 0; count < 3; count++ {                // +
                        for char := 'a'; char < 'a'+26; char++ {        // +
                            fmt.Printf("%c ", char)                     // +
                        }                                               // +
                    }                                                   // +
                    done <- true                                        // +
                }()                                                     // +
                go func() {                                             // +
                    for count := 0; count < 3; count++ {                // +
                        for char := 'A'; char < 'A'+26; char++ {        // +
                            fmt.Printf("%c ", char)                     // +
                        }                                               // +
                    }                                                   // +
                    done <- true                                        // +
                }()                                                     // +
                <-done                                                  // +
                <-done                                                  // +
                fmt.Println()                                           // +
                """,
            goOutput: String(repeating: "A B C D E F G H I J K L M N O P Q R S T U V W X Y Z ", count: 3)
                + String(repeating: "a b c d e f g h i j k l m n o p q r s t u v w x y z ", count: 3) + "\n",
            program: OneProcessor.self
        ),
        Example(
            name: "syscall",
            section: "goroutine实现基础",
            title: "A blocking system call hands its processor to another thread",
            shows: "A goroutine blocked in a system call (read(2) on an empty pipe) does not hold up the others: wrapped in `blocking { }`, the call hands the only processor to another thread, so the second goroutine runs and writes what the first one is waiting to read.",
            seed: "每当goroutine进行一个阻塞的syscall,调度器就把这个线程(M2)和这个goroutine(G4) 和逻辑processor 分离(detach),然后创建一个新的线程(M3)去服务这个processor,再从local run queue中选择另一个goroutine去运行.",
            go: """
                runtime.GOMAXPROCS(1)                                   // +
                var p [2]int                                            // +
                syscall.Pipe(p[:])                                      // +
                done := make(chan bool)                                 // +
                go func() {                                             // +
                    fmt.Println("G2 runs while G1's thread is blocked in read(2)") // +
                    syscall.Write(p[1], []byte("hello"))                // +
                }()                                                     // +
                go func() {                                             // +
                    buf := make([]byte, 5)                              // +
                    n, _ := syscall.Read(p[0], buf)                     // +
                    fmt.Println("G1 read", string(buf[:n]))             // +
                    done <- true                                        // +
                }()                                                     // +
                <-done                                                  // +
                """,
            goOutput: "G2 runs while G1's thread is blocked in read(2)\nG1 read hello\n",
            program: SystemCallHandOff.self
        ),
    ]
}

/// With one logical processor, the two goroutines cannot run in parallel. The
/// one started last runs first (it went to the processor's `runnext` slot),
/// and each prints all it has without blocking, so the other waits its turn.
struct OneProcessor: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let previous = GoRuntime.shared.processorCount
        await GoRuntime.shared.setProcessorCount(1)           // runtime.GOMAXPROCS(1)
        defer { GoRuntime.shared.processorCount = previous }  // (the tour goes on)
        let done = Chan<Bool>()
        for first in ["a", "A"] {
            go {
                let start = first.unicodeScalars.first!.value
                for _ in 0..<3 {
                    for char in start..<start + 26 {
                        fmt.print("\(Character(UnicodeScalar(char)!)) ")
                    }
                }
                try await done.send(true)
            }
        }
        _ = try await done.receive()
        _ = try await done.receive()
        fmt.println()
    }
}

/// G1 blocks its thread in read(2) on a pipe; `blocking` hands the only
/// processor to another thread meanwhile, so G2 runs and writes what G1 reads.
/// Without `blocking`, G1 would hold the processor and G2 could never run.
struct SystemCallHandOff: TourProgram {
    let fmt: Output
    let time: TourTime

    func main() async throws {
        let previous = GoRuntime.shared.processorCount
        await GoRuntime.shared.setProcessorCount(1)           // runtime.GOMAXPROCS(1)
        defer { GoRuntime.shared.processorCount = previous }
        var pipeEnds: [Int32] = [0, 0]
        guard pipe(&pipeEnds) == 0 else { throw TourError("pipe(2) failed") }
        let (reader, writer) = (pipeEnds[0], pipeEnds[1])
        defer { close(reader); close(writer) }
        let done = Chan<Bool>()
        go {
            fmt.println("G2 runs while G1's thread is blocked in read(2)")
            _ = Array("hello".utf8).withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }
        }
        go {
            var buffer = [UInt8](repeating: 0, count: 5)
            let count = try blocking {                          // the system call
                buffer.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
            }
            fmt.println("G1 read", String(decoding: buffer.prefix(max(0, count)), as: UTF8.self))
            try await done.send(true)
        }
        _ = try await done.receive()
    }
}
