// Go's sync package (Guarantees, rule 34) and x/sync's semaphore and errgroup: what each
// primitive guarantees, under goroutines and plain tasks. Shared data is
// written without synchronization of its own (`Unsynchronized`), so the thread
// sanitizer checks the happens-before edges each primitive promises.

import Foundation
import Synchronization
import Testing
@_spi(Testing) @testable import GoConcurrency

@Suite("Sync (Guarantees, rule 34)", .timeLimit(Stress.timeLimit))
struct SyncTests {
    // MARK: WaitGroup

    @Test func rule34_waitgroup_wait_at_zero_returns_at_once() async throws {
        let group = Sync.WaitGroup()
        try await group.wait()
        group.add(2)
        group.done()
        group.done()
        try await group.wait()
        #expect(group.count == 0)
    }

    @Test func rule34_waitgroup_done_happens_before_the_wait_it_releases() async throws {
        let count = 100
        let group = Sync.WaitGroup()
        let slots = (0..<count).map { _ in Unsynchronized(0) }
        for index in 0..<count {
            group.go { slots[index].value = index + 1 }
        }
        try await group.wait()
        #expect(slots.map(\.value) == Array(1...count))
    }

    @Test func rule34_waitgroup_releases_every_waiter() async throws {
        let group = Sync.WaitGroup()
        group.add(1)
        let released = Counter()
        let done = Chan<Void>(capacity: 10)
        for _ in 0..<10 {
            go {
                try await group.wait()
                released.increment()
                try await done.send(())
            }
        }
        try await waitUntil("ten waiters queue") { group.waitingCount == 10 }
        #expect(released.value == 0)
        group.done()
        for _ in 0..<10 { _ = try await done.receive() }
        #expect(released.value == 10)
    }

    // MARK: Mutex

    @Test func rule34_mutex_excludes_across_suspension_points() async throws {
        let mutex = Sync.Mutex()
        let total = Unsynchronized(0)
        let inside = Counter()
        let group = Sync.WaitGroup()
        let workers = 50, rounds = Stress.size(20)
        for _ in 0..<workers {
            group.go {
                for _ in 0..<rounds {
                    try await mutex.withLock {
                        #expect(inside.increment() == 1, "two holders at once")
                        let seen = total.value
                        await GoRuntime.yield()  // suspended while holding it
                        total.value = seen + 1
                        inside.increment(by: -1)
                    }
                }
            }
        }
        try await group.wait()
        #expect(total.value == workers * rounds)
    }

    @Test func rule34_mutex_is_handed_to_waiters_in_order() async throws {
        let mutex = Sync.Mutex()
        try await mutex.lock()
        let order = Shared<[Int]>([])
        let done = Chan<Void>(capacity: 5)
        for index in 0..<5 {
            go {
                try await mutex.lock()
                order.append(index)
                mutex.unlock()
                try await done.send(())
            }
            // Each one is queued before the next starts (a goroutine is
            // listed as waiting just before it queues: the queue is the proof).
            try await waitUntil("waiter \(index) queues") { mutex.waitingCount == index + 1 }
        }
        mutex.unlock()
        for _ in 0..<5 { _ = try await done.receive() }
        #expect(order.value == [0, 1, 2, 3, 4])
        #expect(mutex.tryLock())
        #expect(!mutex.tryLock())
        mutex.unlock()
    }

    @Test func a_task_cancelled_while_waiting_for_a_mutex_does_not_get_it() async throws {
        let mutex = Sync.Mutex()
        try await mutex.lock()
        let waiter = Task {
            try await mutex.lock()
            mutex.unlock()
        }
        try await waitUntil("the task waits") { mutex.waitingCount == 1 }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(mutex.waitingCount == 0)
        mutex.unlock()
        #expect(mutex.tryLock(), "nobody else holds it")
        mutex.unlock()
    }

    // MARK: RWMutex

    @Test func rwmutex_admits_readers_together_and_a_writer_alone() async throws {
        let rw = Sync.RWMutex()
        let readers = Counter(), peakReaders = Shared(0)
        let writerInside = Flag()
        let data = Unsynchronized(0)
        let group = Sync.WaitGroup()
        for index in 0..<40 {
            group.go {
                if index % 8 == 0 {
                    try await rw.withLock {
                        #expect(readers.value == 0, "a writer with readers inside")
                        writerInside.set()
                        data.value += 1
                        await GoRuntime.yield()
                        writerInside.clear()
                    }
                } else {
                    try await rw.withReadLock {
                        let now = readers.increment()
                        peakReaders.withLock { $0 = max($0, now) }
                        #expect(!writerInside.isSet, "a reader with the writer inside")
                        _ = data.value
                        await GoRuntime.yield()
                        readers.increment(by: -1)
                    }
                }
            }
        }
        try await group.wait()
        #expect(data.value == 5)
    }

    @Test func rwmutex_a_waiting_writer_holds_back_new_readers() async throws {
        let rw = Sync.RWMutex()
        try await rw.readLock()
        let events = Shared<[String]>([])
        let done = Chan<Void>(capacity: 2)
        go {
            try await rw.lock()
            events.append("writer")
            rw.unlock()
            try await done.send(())
        }
        try await waitUntil("the writer queues") { rw.waitingCount == 1 }
        go {
            try await rw.readLock()
            events.append("reader")
            rw.readUnlock()
            try await done.send(())
        }
        try await waitUntil("the new reader queues behind it") { rw.waitingCount == 2 }
        rw.readUnlock()
        _ = try await done.receive()
        _ = try await done.receive()
        #expect(events.value == ["writer", "reader"])
    }

    @Test func rwmutex_try_locks_take_it_only_as_the_waiting_calls_would_at_once() async throws {
        let rw = Sync.RWMutex()
        // Free: either kind is taken.
        #expect(rw.tryLock())
        // Held for writing: neither.
        #expect(!rw.tryLock())
        #expect(!rw.tryReadLock())
        rw.unlock()
        // Held for reading: more readers, no writer.
        #expect(rw.tryReadLock())
        #expect(rw.tryReadLock())
        #expect(!rw.tryLock())
        rw.readUnlock()
        // A writer waiting for the last reader holds back new readers, the
        // trying ones too (Go's TryRLock fails while a writer is pending).
        let writerIn = Flag()
        let done = Chan<Void>(capacity: 1)
        go {
            try await rw.lock()
            writerIn.set()
            rw.unlock()
            try await done.send(())
        }
        try await waitUntil("the writer queues") { rw.waitingCount == 1 }
        #expect(!rw.tryReadLock())
        #expect(!rw.tryLock())
        #expect(!writerIn.isSet)
        rw.readUnlock()
        _ = try await done.receive()
        #expect(writerIn.isSet)
        // Free again once the writer let go.
        #expect(rw.tryReadLock())
        rw.readUnlock()
        #expect(rw.tryLock())
        rw.unlock()
    }

    // MARK: Once

    @Test func once_runs_its_work_once_and_everyone_waits_for_it() async throws {
        let once = Sync.Once()
        let runs = Counter()
        let value = Unsynchronized(0)
        let group = Sync.WaitGroup()
        let seen = Shared<[Int]>([])
        for _ in 0..<50 {
            group.go {
                try await once.run {
                    runs.increment()
                    await GoRuntime.yield()
                    value.value = 42
                }
                seen.append(value.value)  // the work happened before run returned
            }
        }
        try await group.wait()
        #expect(runs.value == 1)
        #expect(seen.value == Array(repeating: 42, count: 50))
        #expect(once.isDone)
    }

    // MARK: Semaphore

    @Test func semaphore_never_admits_more_than_its_capacity() async throws {
        let semaphore = Sync.Semaphore(capacity: 3)
        let inside = Counter(), peak = Shared(0)
        let group = Sync.WaitGroup()
        for index in 0..<30 {
            group.go {
                let weight = index % 3 + 1
                try await semaphore.acquire(weight)
                let now = inside.increment(by: weight)
                peak.withLock { $0 = max($0, now) }
                await GoRuntime.yield()
                inside.increment(by: -weight)
                semaphore.release(weight)
            }
        }
        try await group.wait()
        #expect(peak.value <= 3)
        #expect(semaphore.inUse == 0)
        #expect(semaphore.tryAcquire(3))
        #expect(!semaphore.tryAcquire(1))
        semaphore.release(3)
    }

    @Test func semaphore_a_large_request_is_not_starved_by_small_ones() async throws {
        let semaphore = Sync.Semaphore(capacity: 2)
        try await semaphore.acquire(1)
        let order = Shared<[String]>([])
        let done = Chan<Void>(capacity: 2)
        go {
            try await semaphore.acquire(2)
            order.append("large")
            semaphore.release(2)
            try await done.send(())
        }
        try await waitUntil("the large request waits") { semaphore.waitingCount == 1 }
        // One unit is free, but the small request must queue behind the large one.
        #expect(!semaphore.tryAcquire(1))
        go {
            try await semaphore.acquire(1)
            order.append("small")
            semaphore.release(1)
            try await done.send(())
        }
        try await waitUntil("the small request waits too") { semaphore.waitingCount == 2 }
        semaphore.release(1)
        _ = try await done.receive()
        _ = try await done.receive()
        #expect(order.value == ["large", "small"])
    }

    // MARK: ErrorGroup

    struct Failure: Error, Equatable { let id: Int }

    @Test func errorgroup_returns_the_first_error_and_cancels_the_rest() async throws {
        let group = Sync.ErrorGroup()
        let cancelled = Counter()
        let never = Chan<Int>()
        for _ in 0..<10 {
            group.go {
                do {
                    _ = try await never.receive()
                } catch is CancellationError {
                    cancelled.increment()
                    throw CancellationError()
                }
            }
        }
        try await waitUntil("the ten wait") { never.parkedReceivers == 10 }
        group.go { throw Failure(id: 7) }
        await #expect(throws: Failure(id: 7)) { try await group.wait() }
        #expect(cancelled.value == 10)
        #expect(group.hasFailed)
        expectNoWaiters(on: never)
    }

    @Test func errorgroup_members_started_after_a_failure_start_cancelled() async throws {
        let group = Sync.ErrorGroup()
        group.go { throw Failure(id: 1) }
        await #expect(throws: Failure(id: 1)) { try await group.wait() }
        // Each body looks at once: the group's late `cancel()` of its task
        // could come after, on another processor.
        let seen = Chan<Bool>(capacity: 200)
        for _ in 0..<200 {
            group.go { _ = seen.trySend(Task.isCancelled) }
        }
        await #expect(throws: Failure(id: 1)) { try await group.wait() }
        var notCancelled = 0
        for _ in 0..<200 where try await seen.receive() == false { notCancelled += 1 }
        #expect(notCancelled == 0, "\(notCancelled) of 200 late members ran uncancelled")
    }

    @Test func errorgroup_without_errors_waits_for_every_member() async throws {
        let group = Sync.ErrorGroup()
        let finished = Counter()
        for _ in 0..<20 {
            group.go {
                try await sleep(for: .milliseconds(1))
                finished.increment()
            }
        }
        try await group.wait()
        #expect(finished.value == 20)
        #expect(!group.hasFailed)
    }
}
