// Not in the Go anchor: the floor under `task_pingpong`. The same ping-pong
// between a plain task (on Swift's global executor) and a task on an executor
// of its own (one thread, as a processor is), through bare continuations
// (`FloorSlot`), with none of GoConcurrency in it. Every hand-off crosses
// from one pool of threads to the other, and the thread on the far side is
// asleep by then: what a round trip costs here is two thread wake-ups, which
// no channel code can take away. On `-route global` the plain task runs on
// the runtime's processors, and task_pingpong becomes pingpong.

func floorTaskPingpong(_ n: Int) async throws {
    let executor = OneThreadExecutor()
    defer { executor.stop() }
    let ping = FloorSlot(), pong = FloorSlot()
    let echo = Task(executorPreference: executor) { await floorEcho(n, from: ping, to: pong) }
    let driver = Task.detached { await floorRoundTrips(n, through: ping, and: pong) }
    let correct = await driver.value
    await echo.value
    try check(correct, "floor_task_pingpong: wrong value")
}

/// A floor ping-pong's echo side: `n` values back, each plus one.
func floorEcho(_ n: Int, from ping: FloorSlot, to pong: FloorSlot) async {
    for _ in 0..<n {
        await pong.send(await ping.receive() + 1)
    }
}

/// A floor ping-pong's driving side: `n` round trips; whether every reply was
/// right. It makes them all, even after a wrong reply, since the echo side
/// waits for every value.
func floorRoundTrips(_ n: Int, through ping: FloorSlot, and pong: FloorSlot) async -> Bool {
    var correct = true
    for i in 0..<n {
        await ping.send(i)
        if await pong.receive() != i + 1 { correct = false }
    }
    return correct
}
