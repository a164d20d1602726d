// The parked party of every blocking operation: one goroutine (task) or one
// OS thread waiting in send, receive, select or sleep.
//
// Invariants:
// - `state` leaves `Waiter.waiting` exactly once, by compare-and-swap. The party
//   whose swap succeeds has *claimed* the waiter: it alone fills in the outcome
//   and resumes it. Everyone else who finds the waiter claimed leaves it alone.
// - `continuation` (or `thread`) is written by the parked party before any node
//   of it is queued on a channel or armed on a timer, so a claimer that found the
//   waiter there reads it without a lock (the channel lock orders the two).
// - A canceller can claim before the continuation exists. `gate` settles who
//   resumes then: bit 1 is set when the continuation is published, bit 2 when a
//   canceller has claimed; whoever sets the second bit resumes.
// - A waiter is used for one wait only; a retry makes a new one.
// - Fields are `@exclusivity(unchecked)`: the ownership rules above, not
//   dynamic checks, keep accesses apart, and the checks cost a tenth of a
//   hand-off.

import Dispatch
import Synchronization

@usableFromInline
final class Waiter: @unchecked Sendable {
    /// Not yet claimed.
    @usableFromInline static var waiting: Int { 0 }
    /// Claimed by the task's cancellation handler.
    @usableFromInline static var cancelled: Int { -1 }
    /// Claimed by the parked party itself: while registering it found a case
    /// ready, so it unregisters and runs the whole operation again.
    @usableFromInline static var aborted: Int { -2 }
    /// A claim for case `index` is stored as `index + 1`.
    @inlinable static func selected(_ index: Int) -> Int { index + 1 }

    @usableFromInline let state = Atomic<Int>(0)
    @usableFromInline let gate = Atomic<UInt8>(0)
    @usableFromInline @exclusivity(unchecked) var continuation: UnsafeContinuation<Void, Never>?
    @usableFromInline @exclusivity(unchecked) var thread: ThreadParker?
    /// What is waited on and where: the record the runtime reports.
    @usableFromInline let reason: WaitReason
    @usableFromInline let location: SourceLocation
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

    /// The owner of a channel queue's removed entries (a cancelled task's
    /// place, kept so that no other entry moves): claimed for good, so that
    /// every removed entry is a stale node no one can claim or resume.
    @usableFromInline
    static let removedEntry: Waiter = {
        let waiter = Waiter(reason: .channelReceive, location: SourceLocation(fileID: #fileID, line: #line))
        _ = waiter.tryClaim(Waiter.aborted)
        return waiter
    }()

    /// Claims the waiter with `outcome`; true if this call won.
    @inlinable
    final func tryClaim(_ outcome: Int) -> Bool {
        state.compareExchange(expected: Waiter.waiting, desired: outcome, ordering: .acquiringAndReleasing).exchanged
    }

    @inlinable
    final var isWaiting: Bool { state.load(ordering: .acquiring) == Waiter.waiting }

    @inlinable
    final var outcome: Int { state.load(ordering: .acquiring) }

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
