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
// per slot operation, of the same kind as GoConcurrency's: one atomic word),
// so this is an upper bound on the runtime's floor, not its proof; but the runtime's share of its profile is
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
    let echo = Task(executorPreference: executor) { await floorEcho(n, from: ping, to: pong) }
    let driver = Task(executorPreference: executor) { await floorRoundTrips(n, through: ping, and: pong) }
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

/// The floor's lock: one atomic word, taken by one compare-and-swap and
/// released by one store, spinning (and then yielding) while another thread
/// holds it. The same kind of lock GoConcurrency's structures take, so that
/// the floor pays what the library pays for a lock and no more:
/// `Synchronization.Mutex` asks the kernel for the thread's id (`gettid`) on
/// every lock, and a pthread mutex costs a call and its bookkeeping.
struct FloorLock: ~Copyable, @unchecked Sendable {
    private let word = Atomic<UInt32>(0)

    init() {}

    @inline(__always)
    borrowing func lock() {
        while !word.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            while word.load(ordering: .relaxed) != 0 { sched_yield() }
        }
    }

    @inline(__always)
    borrowing func unlock() {
        word.store(0, ordering: .releasing)
    }
}

/// A task executor with one thread: a job enqueued from that thread runs next
/// (the one it displaces goes to the queue's tail), any other job queues.
final class OneThreadExecutor: TaskExecutor, @unchecked Sendable {
    private let lock = FloorLock()
    // Guarded by `lock`; unchecked, as the lock (not a dynamic exclusivity
    // check) keeps accesses apart.
    @exclusivity(unchecked) private var next: UnownedJob?
    @exclusivity(unchecked) private var queue: [UnownedJob] = []
    @exclusivity(unchecked) private var sleeping = false
    @exclusivity(unchecked) private var stopped = false

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    @exclusivity(unchecked) private var wakeups = 0  // guarded by `mutex`
    // Written once, by `pthread_create` before the thread runs.
    @exclusivity(unchecked) private var thread = pthread_t()

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
            lock.lock()
            if let displaced = next { queue.append(displaced) }
            next = job
            lock.unlock()
            return
        }
        lock.lock()
        queue.append(job)
        let wake = sleeping
        sleeping = false
        lock.unlock()
        if wake { signal() }
    }

    /// Ends the thread's loop once nothing is left to run.
    func stop() {
        lock.lock()
        stopped = true
        lock.unlock()
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
            lock.lock()
            var job: UnownedJob? = nil
            if let first = next {
                next = nil
                job = first
            } else if !queue.isEmpty {
                job = queue.removeFirst()
            } else {
                sleeping = true
            }
            let stopped = self.stopped
            lock.unlock()
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
final class FloorSlot: @unchecked Sendable {
    private enum State {
        case empty
        case receiver(UnsafeContinuation<Int, Never>)
        case sender(Int, UnsafeContinuation<Void, Never>)
    }

    private let lock = FloorLock()
    @exclusivity(unchecked) private var state = State.empty  // guarded by `lock`

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
        lock.lock()
        defer { lock.unlock() }
        switch state {
        case .receiver(let receiver):
            state = .empty
            return receiver
        case .empty:
            if let sender { state = .sender(value, sender) }
            return nil
        case .sender:
            fatalError("FloorSlot: a second sender")
        }
    }

    /// The parked sender and its value, if any; otherwise parks `receiver`
    /// (when given).
    private func takeSender(parkingReceiver receiver: UnsafeContinuation<Int, Never>?) -> (Int, UnsafeContinuation<Void, Never>)? {
        lock.lock()
        defer { lock.unlock() }
        switch state {
        case .sender(let value, let sender):
            state = .empty
            return (value, sender)
        case .empty:
            if let receiver { state = .receiver(receiver) }
            return nil
        case .receiver:
            fatalError("FloorSlot: a second receiver")
        }
    }
}
