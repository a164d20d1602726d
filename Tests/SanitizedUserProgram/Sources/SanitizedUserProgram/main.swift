// Everyday GoConcurrency, race-free: goroutines handing values over channels,
// selects with timeouts, sleeps and timers, a WaitGroup, and plain tasks that
// wait on the same things. Under the thread sanitizer it must run without a
// single report.

import GoConcurrency

let rounds = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 20

for round in 0..<rounds {
    // Goroutines: a pipeline and a ping-pong.
    let numbers = Chan<Int>(), squares = Chan<Int>(capacity: 4)
    go {
        for value in 0..<200 { try await numbers.send(value) }
        try numbers.close()
    }
    go {
        for await value in numbers { try await squares.send(value * value) }
        try squares.close()
    }
    var sum = 0
    for await square in squares { sum += square }
    precondition(sum == (0..<200).reduce(0) { $0 + $1 * $1 })

    let ping = Chan<Int>(), pong = Chan<Int>()
    go {
        for await ball in ping { try await pong.send(ball + 1) }
    }
    var ball = 0
    for _ in 0..<100 {
        try await ping.send(ball)
        ball = try await pong.receive()!
    }
    try ping.close()
    precondition(ball == 100)

    // Timers: selects that time out, sleeps, a ticker, from goroutines and
    // from this plain task.
    let group = Sync.WaitGroup()
    let quiet = Chan<Int>()
    for index in 0..<8 {
        group.go {
            for step in 0..<10 {
                let outcome = try await select {
                    quiet.onReceive { _ in "value" }
                    after(.microseconds((index + step) % 5)) { "timeout" }
                }
                precondition(outcome == "timeout")
                try await sleep(for: .microseconds(step % 3))
            }
        }
    }
    for step in 0..<20 {
        try await sleep(for: .microseconds(step % 4))
        let outcome = try await select {
            quiet.onReceive { _ in "value" }
            after(.microseconds(step % 3)) { "timeout" }
        }
        precondition(outcome == "timeout")
    }
    try await group.wait()

    // A mutex-guarded counter and a buffered hand-off to this task.
    let mutex = Sync.Mutex()
    final class Box: @unchecked Sendable { var count = 0 }
    let box = Box()
    let results = Chan<Int>(capacity: 2)
    let workers = Sync.WaitGroup()
    for _ in 0..<4 {
        workers.go {
            for _ in 0..<50 {
                try await mutex.lock()
                box.count += 1
                mutex.unlock()
            }
        }
    }
    try await workers.wait()
    go { try await results.send(box.count) }
    let total = try await results.receive()
    precondition(total == 200)
    _ = round
}
print("SanitizedUserProgram: \(rounds) rounds, no race of its own")
