import GoConcurrency

let a = Chan<Int>(), b = Chan<Int>()
let t = Task {
    for await v in a { try await b.send(v + 1) }
    try b.close()
}
for i in 0..<100_000 {
    try await a.send(i)
    let r = try await b.receive(); precondition(r == i + 1)
}
try a.close()
print("pingpong ok", try await b.receive() as Any)

let q = Chan<String>(capacity: 2)
try await q.send("one"); try await q.send("two"); try q.close()
for await e in q { print(e) }

let c1 = Chan<String>(), c2 = Chan<String>()
Task { try await sleep(for: .milliseconds(100)); try await c1.send("one") }
Task { try await sleep(for: .milliseconds(200)); try await c2.send("two") }
for _ in 0..<2 {
    try await select {
        c1.onReceive { print("received", $0!) }
        c2.onReceive { print("received", $0!) }
    }
}
let c3 = Chan<String>()
try await select {
    c3.onReceive { print($0!) }
    after(.milliseconds(100)) { print("timeout 1") }
}
let m = Chan<String>()
try await select {
    m.onSend("msg") { print("sent message") }
    otherwise { print("no message sent") }
}
let x: String = try await select {
    m.onReceive { "got \($0!)" }
    otherwise { "nothing" }
}
print(x)
