// A processor's local run queue, alone: first in first out for its owner,
// the overflow to the global queue, stealing half, and exactly-once delivery
// while an owner and thieves race on plain threads.

import Foundation
import Synchronization
import Testing
@testable import GoConcurrency

@Suite("Local run queue")
struct LocalRunQueueTests {
    @Test func the_owner_takes_jobs_in_the_order_it_put_them() {
        let queue = LocalRunQueue()
        for job in 1...100 as ClosedRange<UInt> {
            #expect(queue.put(job) == nil)
        }
        #expect(queue.count == 100)
        for job in 1...100 as ClosedRange<UInt> {
            #expect(queue.take() == job)
        }
        #expect(queue.take() == nil)
        #expect(queue.count == 0)
    }

    @Test func the_ring_wraps_around() {
        let queue = LocalRunQueue()
        var next: UInt = 1, expected: UInt = 1
        // Many times its capacity, never more than 200 queued at once.
        for _ in 0..<50 {
            for _ in 0..<200 {
                #expect(queue.put(next) == nil)
                next += 1
            }
            for _ in 0..<200 {
                #expect(queue.take() == expected)
                expected += 1
            }
        }
        #expect(queue.count == 0)
    }

    @Test func a_full_ring_hands_its_older_half_and_the_new_job_to_the_global_queue() throws {
        let queue = LocalRunQueue()
        let capacity = UInt(LocalRunQueue.capacity)
        for job in 1...capacity {
            #expect(queue.put(job) == nil)
        }
        let overflow = try #require(queue.put(capacity + 1))
        #expect(overflow == Array(1...capacity / 2) + [capacity + 1])
        #expect(queue.count == Int(capacity / 2))
        #expect(queue.take() == capacity / 2 + 1)
    }

    @Test func a_batch_is_published_at_once_behind_what_is_queued_and_taken_in_order() throws {
        let queue = LocalRunQueue(), thief = LocalRunQueue()
        #expect(queue.put(1) == nil)
        var next: UInt = 2
        queue.putBatch(count: 100) { defer { next += 1 }; return next }
        #expect(queue.count == 101)
        // A thief sees the whole batch: half of it, rounded up, oldest first.
        let (job, taken) = try #require(queue.stealHalf(into: thief))
        #expect(taken == 51 && job == 51)
        for expected in 52...101 as ClosedRange<UInt> {
            #expect(queue.take() == expected)
        }
        #expect(queue.take() == nil)
        #expect(thief.count == 50)
    }

    @Test func a_thief_takes_the_older_half_rounded_up_and_runs_the_newest_of_them() throws {
        let victim = LocalRunQueue(), thief = LocalRunQueue()
        for job in 1...7 as ClosedRange<UInt> {
            _ = victim.put(job)
        }
        let (job, taken) = try #require(victim.stealHalf(into: thief))
        #expect(taken == 4)
        #expect(job == 4)
        #expect(thief.count == 3)
        #expect([thief.take(), thief.take(), thief.take()] == [1, 2, 3])
        #expect(victim.count == 3)
        #expect(victim.take() == 5)
        // One job left: a thief takes it.
        _ = victim.take()
        let last = try #require(victim.stealHalf(into: thief))
        #expect(last.job == 7 && last.taken == 1)
        #expect(thief.count == 0)
        #expect(victim.stealHalf(into: thief) == nil)
    }

    @Test func every_job_is_taken_exactly_once_while_thieves_race_the_owner() async {
        // An owner thread puts jobs (the overflow goes "to the global queue",
        // here straight to the tally) and takes some back; two thief threads
        // keep stealing into queues of their own and draining them. Every job
        // must come out exactly once.
        let total = Stress.size(200_000)
        let owner = LocalRunQueue()
        let seen = Shared<[UInt8]>(Array(repeating: 0, count: total + 1))
        let ownerDone = Flag()
        let record: @Sendable (UInt) -> Void = { job in seen.withLock { $0[Int(job)] &+= 1 } }
        let thief: @Sendable () -> Void = {
            let mine = LocalRunQueue()
            while true {
                let finished = ownerDone.isSet
                if let (job, _) = owner.stealHalf(into: mine) {
                    record(job)
                    while let job = mine.take() { record(job) }
                } else if finished {
                    return
                }
            }
        }
        async let thief1: Void = onThread(thief)
        async let thief2: Void = onThread(thief)
        await onThread {
            var random = SeededRandom(seed: Seeds.make(1)[0])
            var next: UInt = 1
            while next <= UInt(total) {
                for _ in 0..<Int.random(in: 1...300, using: &random) where next <= UInt(total) {
                    owner.put(next)?.forEach(record)
                    next += 1
                }
                for _ in 0..<Int.random(in: 0...100, using: &random) {
                    guard let job = owner.take() else { break }
                    record(job)
                }
            }
            while let job = owner.take() { record(job) }
            ownerDone.set()
        }
        _ = await (thief1, thief2)
        let counts = seen.value
        let lost = (1...total).filter { counts[$0] == 0 }
        let twice = (1...total).filter { counts[$0] > 1 }
        #expect(lost.count == 0, "lost jobs, e.g. \(lost.prefix(5))")
        #expect(twice.count == 0, "jobs taken more than once, e.g. \(twice.prefix(5))")
    }
}
