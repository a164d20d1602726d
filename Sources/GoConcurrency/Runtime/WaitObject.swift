// What goroutines park on (a channel, a sync primitive), as the deadlock
// detector sees it: whether code outside the runtime's goroutines may use it.
// `ChannelCore` and `SyncStorage` are its subclasses; this class keeps the one
// copy of that bookkeeping.
//
// An object is shared with the outside from the start if it was made outside
// goroutines, and from the moment such code (not a goroutine's child task or
// a plain task a goroutine of the same runtime started) parks on it or uses
// it from a plain thread (`blockingSend`, `blockingReceive`), or a program says so
// (`Chan.markUsedOutsideGoroutines`). It never stops being shared. When an
// object made by a runtime's goroutine becomes shared, that runtime is open
// to the outside for good: the outside code may hold its other objects too.
//
// Invariants:
// - `outside` only ever goes from false to true; `madeByID` never changes.

import Synchronization

@usableFromInline
class WaitObject: @unchecked Sendable {
    /// Whether code outside goroutines may use it.
    @usableFromInline final let outside: Atomic<Bool>
    /// The `GoRuntime.id` of the goroutine that made it, 0 if none did: an
    /// id, compared on every park without touching the runtime's reference
    /// count, which every processor shares.
    @usableFromInline final let madeByID: UInt

    @inlinable
    init() {
        let maker = Goroutine.current?.runtimeID ?? 0
        self.madeByID = maker
        self.outside = Atomic(maker == 0)
    }

    @inlinable
    final var isSharedWithOutside: Bool { outside.load(ordering: .relaxed) }

    /// The runtime of the goroutine that made it, if a goroutine did.
    @inlinable
    final var madeBy: GoRuntime? { GoRuntime.live(id: madeByID) }

    /// Marks it shared with the outside; the first time, the runtime whose
    /// goroutine made it is opened to the outside for good.
    @inlinable
    final func shareWithOutside() {
        if !isSharedWithOutside, !outside.exchange(true, ordering: .relaxed) {
            madeBy?.openToOutside()
        }
    }

    /// Whether something outside the goroutines of the runtime whose
    /// `GoRuntime.id` is `runtime` may use it: code outside goroutines, or the
    /// goroutines of another runtime (which `runtime`'s deadlock check does
    /// not watch).
    @inlinable
    final func mayBeUsedOutside(of runtime: UInt) -> Bool {
        isSharedWithOutside || madeByID != runtime
    }

    /// A task that is not a goroutine's root parks on it: it is shared with
    /// the outside unless the task belongs to a goroutine of the runtime that
    /// made it — a plain task a goroutine started (counted through the
    /// goroutine's handle while it lives) or a child task (whose first job on
    /// the runtime already opened it: see `SwiftRuntimeABI.isChildTask`).
    @usableFromInline
    final func shareWithOutsideUnlessFamily() {
        if isSharedWithOutside { return }
        if madeByID != 0, Goroutine.current?.runtimeID == madeByID { return }
        shareWithOutside()
    }
}
