import Synchronization
final class MiniChan: Sendable {
    struct S { var receiver: UnsafeContinuation<Int, Never>?; var sender: (Int, UnsafeContinuation<Void, Never>)? }
    let s = Mutex(S())
    func send(_ v: Int) async {
        if let r = s.withLock({ st -> UnsafeContinuation<Int, Never>? in let r = st.receiver; st.receiver = nil; return r }) { r.resume(returning: v); return }
        await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
            let r = s.withLock { st -> UnsafeContinuation<Int, Never>? in
                if let r = st.receiver { st.receiver = nil; return r }
                st.sender = (v, c); return nil }
            if let r { r.resume(returning: v); c.resume() }
        }
    }
    func receive() async -> Int {
        if let (v, c) = s.withLock({ st -> (Int, UnsafeContinuation<Void, Never>)? in let x = st.sender; st.sender = nil; return x }) { c.resume(); return v }
        return await withUnsafeContinuation { (c: UnsafeContinuation<Int, Never>) in
            let x = s.withLock { st -> (Int, UnsafeContinuation<Void, Never>)? in
                if let x = st.sender { st.sender = nil; return x }
                st.receiver = c; return nil }
            if let (v, sc) = x { sc.resume(); c.resume(returning: v) }
        }
    }
}
func miniPingpong(_ n: Int) async throws {
    let a = MiniChan(), b = MiniChan()
    spawn { while true { let v = await a.receive(); if v < 0 { break }; await b.send(v + 1) } }
    for i in 0..<n { await a.send(i); let r = await b.receive(); precondition(r == i + 1) }
    await a.send(-1)
}
