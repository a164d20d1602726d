// How the idioms stop: a `done` channel, as Go's pipelines are cancelled.
// Every channel operation an idiom's goroutine would block in is a select
// beside `done`, so once `done` is closed none of them blocks again and the
// goroutine returns. Without a `done` they are plain operations, as before.

/// Sends `value` on `out`, unless `done` is closed first; true if it sent.
func send<Element: Sendable>(
    _ value: Element,
    on out: Chan<Element>,
    unlessDone done: ReceiveOnlyChan<Void>?
) async throws -> Bool {
    guard let done else {
        try await out.send(value)
        return true
    }
    // Closed already: stop now, not at whichever case a select picks.
    if done.isClosed { return false }
    return try await select {
        out.onSend(value) { true }
        done.onReceive { _ in false }
    }
}

/// The next value of `input`; nil once `input` is closed and drained, or once
/// `done` is closed.
func receive<Element: Sendable>(
    from input: ReceiveOnlyChan<Element>,
    unlessDone done: ReceiveOnlyChan<Void>?
) async throws -> Element? {
    guard let done else { return try await input.receive() }
    if done.isClosed { return nil }
    return try await select {
        input.onReceive { $0 }
        done.onReceive { _ in nil }
    }
}
