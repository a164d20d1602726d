// The parked party of every blocking operation: one goroutine (task) or one
// OS thread waiting in send, receive, select or sleep.
//
// Invariants:
// - `state` (an `Outcome`'s raw value) leaves `Outcome.waiting` exactly once,
//   by compare-and-swap. The party whose swap succeeds has *claimed* the
//   waiter: its swap sets the outcome, and it alone fills in what goes with it
//   and resumes it. Everyone else who finds the waiter claimed leaves it alone.
// - `continuation` (or `thread`) is written by the parked party before any node
//   of it is queued on a channel or armed on a timer, so a claimer that found the
//   waiter there reads it without a lock (the channel lock orders the two).
// - A canceller can claim before the continuation exists. `gate` settles who
//   resumes then: bit 1 is set when the continuation is published, bit 2 when a
//   canceller has claimed; whoever sets the second bit resumes.
// - A waiter is used for one wait at a time. A select's waiter is used again
//   (`forSelect`, `recycle`) only once nothing but its select refers to it:
//   no queue entry (a stale node holds its waiter), no armed timer, no
//   claimer (each holds a reference while it touches the waiter, and the last
//   thing it does is resume it). A retry of a plain operation makes a new one.
// - Fields are `@exclusivity(unchecked)`: the ownership rules above, not
//   dynamic checks, keep accesses apart, and the checks cost a tenth of a
//   hand-off.

import CGoConcurrencyRuntime
import Dispatch
import Synchronization

@usableFromInline
final class Waiter: @unchecked Sendable {
    /// How a wait ended: who claimed the waiter, and for what. Stored in
    /// `state` as its raw integer, so claiming is one compare-and-swap.
    @usableFromInline
    struct Outcome: RawRepresentable, Equatable, Sendable {
        @usableFromInline let rawValue: Int

        @inlinable
        init(rawValue: Int) { self.rawValue = rawValue }

        /// Not yet claimed.
        @inlinable static var waiting: Outcome { Outcome(rawValue: 0) }
        /// Claimed by the task's cancellation handler.
        @inlinable static var cancelled: Outcome { Outcome(rawValue: -1) }
        /// Claimed by the parked party itself: while registering it found a
        /// case ready, so it unregisters and runs the whole operation again.
        @inlinable static var aborted: Outcome { Outcome(rawValue: -2) }
        /// Claimed by the waiter's timer: a sleep's deadline or a select's
        /// timeout passed.
        @inlinable static var timedOut: Outcome { Outcome(rawValue: -3) }
        /// Claimed for case `index` (of a select; 0 for a single operation)
        /// by the operation that completed it.
        @inlinable static func selected(_ index: Int) -> Outcome { Outcome(rawValue: index &+ 1) }

        /// The case a `selected` outcome names; nil for any other outcome.
        @inlinable
        var selectedCase: Int? { rawValue > 0 ? rawValue &- 1 : nil }
    }

    @usableFromInline let state = Atomic<Int>(0)
    @usableFromInline let gate = Atomic<UInt8>(0)
    @usableFromInline @exclusivity(unchecked) var continuation: UnsafeContinuation<Void, Never>?
    @usableFromInline @exclusivity(unchecked) var thread: ThreadParker?
    /// What is waited on and where: the record the runtime reports. Set
    /// before the waiter is queued anywhere (written again only when a
    /// select uses it again, when no one else refers to it).
    @usableFromInline @exclusivity(unchecked) var reason: WaitReason
    @usableFromInline @exclusivity(unchecked) var location: SourceLocation
    /// For a receiving case: the value handed over, stored by the claimer
    /// before it resumes (an existential, so that nodes need not be generic;
    /// small values are stored inline, without allocation).
    @usableFromInline @exclusivity(unchecked) var received: Any?
    /// Set by the claimer when it was the channel's close that chose the case.
    @usableFromInline @exclusivity(unchecked) var closed = false

    @inlinable
    init(reason: WaitReason, location: SourceLocation) {
        self.reason = reason
        self.location = location
    }

    /// A waiter for a select's park: the calling thread's spare one, if it
    /// has one, or a new one. A select in a busy loop (gobench's select4)
    /// parks about once per two values, and allocating a waiter and
    /// releasing it cost about 220 instructions a park (callgrind: 58 and
    /// 160); taking and giving back the spare, about 30. A runtime's worker
    /// thread drops its spare as it leaves (`dropThreadSpare`); any other
    /// thread that ends keeps its one small object for good.
    @inlinable
    static func forSelect(reason: WaitReason, location: SourceLocation) -> Waiter {
        guard let spare = goconcurrency_take_spare_waiter() else {
            return Waiter(reason: reason, location: location)
        }
        let waiter = Unmanaged<Waiter>.fromOpaque(spare).takeRetainedValue()
        waiter.reason = reason
        waiter.location = location
        return waiter
    }

    /// Releases the calling thread's spare waiter, if it has one: a
    /// runtime's worker thread, as it leaves (a checked run's threads end
    /// with their runtime, and a program may make many).
    static func dropThreadSpare() {
        if let spare = goconcurrency_take_spare_waiter() {
            Unmanaged<Waiter>.fromOpaque(spare).release()
        }
    }

    /// A select is done with `waiter` (its outcome and value read): it
    /// becomes the calling thread's spare if nothing else refers to it and
    /// the thread has none. Anything that still refers to it (a stale node
    /// in a long queue, a cancelled timer not yet dropped, a claimer that
    /// has not let go) keeps it from being used again: it is then released
    /// as before, when the last of them lets go.
    @inlinable
    static func recycle(_ waiter: consuming Waiter) {
        var waiter = consume waiter
        guard isKnownUniquelyReferenced(&waiter), goconcurrency_has_no_spare_waiter() != 0 else { return }
        // Only this thread refers to it: plain stores. Whoever claimed it
        // last resumed this select after its last access, so those
        // accesses happen before these.
        waiter.state.store(Outcome.waiting.rawValue, ordering: .relaxed)
        waiter.gate.store(0, ordering: .relaxed)
        waiter.continuation = nil
        waiter.closed = false
        waiter.received = nil  // nil already, unless a value was never taken
        // The select's reference moves into the slot (`consume`: no retain
        // for the slot and release of the local).
        goconcurrency_keep_spare_waiter(Unmanaged.passRetained(consume waiter).toOpaque())
    }

    /// The owner of a channel queue's removed entries (a cancelled task's
    /// place, kept so that no other entry moves): claimed for good, so that
    /// every removed entry is a stale node no one can claim or resume.
    @usableFromInline
    static let removedEntry: Waiter = {
        let waiter = Waiter(reason: .channelReceive, location: SourceLocation(fileID: #fileID, line: #line))
        _ = waiter.tryClaim(.aborted)
        return waiter
    }()

    /// Claims the waiter with `outcome`; true if this call won.
    @inlinable
    final func tryClaim(_ outcome: Outcome) -> Bool {
        state.compareExchange(expected: Outcome.waiting.rawValue, desired: outcome.rawValue, ordering: .acquiringAndReleasing).exchanged
    }

    @inlinable
    final var isWaiting: Bool { state.load(ordering: .acquiring) == Outcome.waiting.rawValue }

    @inlinable
    final var outcome: Outcome { Outcome(rawValue: state.load(ordering: .acquiring)) }

    /// What a receiving case got: its value, or nil if the channel closed.
    /// Read once, by the owner after it woke.
    @inlinable
    final func takeReceived<Element>(_ type: Element.Type) -> Element? {
        if closed { return nil }
        return received.take().map { $0 as! Element }
    }

    /// Wakes the parked party. Only the claimer calls this, once, with no lock held.
    @inlinable
    final func resume() {
        if let continuation {
            continuation.resume()
        } else {
            thread.unsafelyUnwrapped.unpark()
        }
    }

    /// The parked party publishes its continuation. True if a canceller already
    /// claimed the waiter: the caller must then resume it.
    @inlinable
    final func publishContinuation() -> Bool {
        gate.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue & 2 != 0
    }

    /// A canceller that claimed the waiter. True if the continuation is already
    /// published: the canceller must then resume it.
    @inlinable
    final func cancellerClaimed() -> Bool {
        gate.bitwiseOr(2, ordering: .acquiringAndReleasing).oldValue & 1 != 0
    }
}
