// Not in the Go anchor: the floor under pingpong. A minimal ping-pong on the
// route GoConcurrency takes by default (tasks with an executor preference),
// with none of GoConcurrency in it: two tasks whose preference is a one-thread executor that runs the job
// enqueued from its own thread next (runnext), handing an Int back and forth
// through two slots that hold one parked continuation each. No scheduler to
// speak of, no registry, no wait reasons, no deadlock check, no select, one
// sender and one receiver per slot.
//
// Each round trip makes two parks and two resumes, as GoConcurrency's does;
// what each costs is the runtime's: per park, a continuation await (a
// dependency record added to the task's status and removed on resume), a
// resume (the record updated under the task's status-record lock) and an
// enqueue and an executor switch that both look the preference up under that
// lock. The executor and the slots add costs of their own (a lock per job and
// per slot operation, an array for a queue), so this is an upper bound on the
// runtime's floor, not its proof; but the runtime's share of its profile is
// most of it, and by itself more than Go's whole round trip. `floor_pingpong`
// over Go's `pingpong` says how close to Go a Swift library can come on this
// route today; `pingpong` over `floor_pingpong` is about what GoConcurrency
// adds. `floor_stream` is the same for `unbuffered_stream`. They ignore
// `-procs` and `-route` (their executor is their own, and so is their route).

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

func floorPingpong(_ n: Int) async throws {
    let executor = OneThreadExecutor()
    defer { executor.stop() }
    let ping = FloorSlot(), pong = FloorSlot()
    let echo = Task(executorPreference: executor) {
        for _ in 0..<n {
            await pong.send(await ping.receive() + 1)
        }
    }
    let driver = Task(executorPreference: executor) { () -> Bool in
        // The whole run, even after a wrong reply: the echo task waits for
        // every value.
        var correct = true
        for i in 0..<n {
            await ping.send(i)
            if await pong.receive() != i + 1 { correct = false }
        }
        return correct
    }
    let correct = await driver.value
    await echo.value
    try check(correct, "floor_pingpong: wrong value")
}

/// unbuffered_stream's shape on the same floor: one task sends 0..<n through
/// one slot, another sums what it receives (Go's stream with capacity 0, but
/// with no close: the receiver knows n).
func floorStream(_ n: Int) async throws {
    let executor = OneThreadExecutor()
    defer { executor.stop() }
    let slot = FloorSlot()
    let sender = Task(executorPreference: executor) {
        for i in 0..<n {
            await slot.send(i)
        }
    }
    let receiver = Task(executorPreference: executor) { () -> Int in
        var sum = 0
        for _ in 0..<n {
            sum += await slot.receive()
        }
        return sum
    }
    let sum = await receiver.value
    await sender.value
    try check(sum == n * (n - 1) / 2, "floor_stream: lost values")
}

/// A task executor with one thread: a job enqueued from that thread runs next
/// (the one it displaces goes to the queue's tail), any other job queues.
final class OneThreadExecutor: TaskExecutor, @unchecked Sendable {
    private struct State: ~Copyable {
        var next: UnownedJob?
        var queue: [UnownedJob] = []
        var sleeping = false
        var stopped = false
    }

    private let state = Mutex(State())
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var wakeups = 0  // guarded by `mutex`
    private var thread = pthread_t()

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
        // The thread keeps the executor alive until `stop` ends its loop.
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            Unmanaged<OneThreadExecutor>.fromOpaque(context!).takeRetainedValue().loop()
            return nil
        }, context)
        precondition(result == 0, "OneThreadExecutor: cannot start a thread (\(result))")
        pthread_detach(thread)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if pthread_equal(pthread_self(), thread) != 0 {
            // Its own thread runs, so it does not sleep: nothing to wake.
            state.withLock { state in
                if let displaced = state.next { state.queue.append(displaced) }
                state.next = job
            }
            return
        }
        let wake = state.withLock { state -> Bool in
            state.queue.append(job)
            defer { state.sleeping = false }
            return state.sleeping
        }
        if wake { signal() }
    }

    /// Ends the thread's loop once nothing is left to run.
    func stop() {
        state.withLock { $0.stopped = true }
        signal()
    }

    private func signal() {
        pthread_mutex_lock(mutex)
        wakeups += 1
        pthread_cond_signal(condition)
        pthread_mutex_unlock(mutex)
    }

    private func loop() {
        let executor = asUnownedTaskExecutor()
        while true {
            let (job, stopped) = state.withLock { state -> (UnownedJob?, Bool) in
                if let job = state.next {
                    state.next = nil
                    return (job, false)
                }
                if !state.queue.isEmpty { return (state.queue.removeFirst(), false) }
                state.sleeping = true
                return (nil, state.stopped)
            }
            if let job {
                job.runSynchronously(on: executor)
                continue
            }
            if stopped { return }
            pthread_mutex_lock(mutex)
            while wakeups == 0 { pthread_cond_wait(condition, mutex) }
            wakeups = 0
            pthread_mutex_unlock(mutex)
        }
    }
}

/// An unbuffered hand-off of one Int between one sender and one receiver:
/// whichever comes first parks its continuation in the slot, and the other
/// takes it and resumes it after the lock is released.
final class FloorSlot: Sendable {
    private enum State: ~Copyable {
        case empty
        case receiver(UnsafeContinuation<Int, Never>)
        case sender(Int, UnsafeContinuation<Void, Never>)
    }

    private let state = Mutex(State.empty)

    func send(_ value: Int) async {
        if let receiver = takeReceiver(parkingSender: nil, value) {
            receiver.resume(returning: value)
            return
        }
        await withUnsafeContinuation { (sender: UnsafeContinuation<Void, Never>) in
            // Looked at again under the lock: the receiver may have come.
            if let receiver = takeReceiver(parkingSender: sender, value) {
                receiver.resume(returning: value)
                sender.resume()
            }
        }
    }

    func receive() async -> Int {
        if let (value, sender) = takeSender(parkingReceiver: nil) {
            sender.resume()
            return value
        }
        return await withUnsafeContinuation { (receiver: UnsafeContinuation<Int, Never>) in
            if let (value, sender) = takeSender(parkingReceiver: receiver) {
                sender.resume()
                receiver.resume(returning: value)
            }
        }
    }

    /// The parked receiver, if any; otherwise parks `sender` (when given).
    private func takeReceiver(parkingSender sender: UnsafeContinuation<Void, Never>?, _ value: Int) -> UnsafeContinuation<Int, Never>? {
        state.withLock { state in
            switch consume state {
            case .receiver(let receiver):
                state = .empty
                return receiver
            case .empty:
                state = sender.map { .sender(value, $0) } ?? .empty
                return nil
            case .sender:
                fatalError("FloorSlot: a second sender")
            }
        }
    }

    /// The parked sender and its value, if any; otherwise parks `receiver`
    /// (when given).
    private func takeSender(parkingReceiver receiver: UnsafeContinuation<Int, Never>?) -> (Int, UnsafeContinuation<Void, Never>)? {
        state.withLock { state in
            switch consume state {
            case .sender(let value, let sender):
                state = .empty
                return (value, sender)
            case .empty:
                state = receiver.map { .receiver($0) } ?? .empty
                return nil
            case .receiver:
                fatalError("FloorSlot: a second receiver")
            }
        }
    }
}
