// What every channel has, whatever its element type: its lock, and what the
// deadlock detector asks of a wait object. `ChannelStorage<Element>` is its
// only subclass.
//
// A select reaches its channels through this class, unretained: taking the
// locks of all its channels, and telling the park what it waits on, need
// neither the element type nor a protocol witness, and a select looks at its
// cases many times without touching their reference counts.
//
// Invariants:
// - `lock` guards the subclass's channel state; a select holds it only in its
//   atomic poll before a default (`lockForSelect` / `unlockForSelect`), and
//   resumes nobody while it does.
// - `outside` only ever goes from false to true.

import Synchronization

@usableFromInline
class ChannelCore: @unchecked Sendable {
    @usableFromInline let lock = Lock()
    /// Whether code outside goroutines may use it (see `WaitObject`).
    @usableFromInline let outside: Atomic<Bool>
    /// The `GoRuntime.id` of the goroutine that made it, 0 if none did.
    @usableFromInline let madeByID: UInt

    @inlinable
    init() {
        let maker = Goroutine.current?.runtimeID ?? 0
        self.madeByID = maker
        self.outside = Atomic(maker == 0)
    }

    /// Takes the channel's lock for a select's atomic poll (Go's selectgo
    /// locks every channel of a select before it polls; a select with a
    /// default does so before it gives up, so that its "nothing was ready" is
    /// one snapshot across its channels: Guarantees, rule 24).
    @inlinable
    final func lockForSelect() {
        lock.lock()
    }

    @inlinable
    final func unlockForSelect() {
        lock.unlock()
    }
}

extension ChannelCore: WaitObject {
    @inlinable
    final var isSharedWithOutside: Bool { outside.load(ordering: .relaxed) }

    @inlinable
    final func markShared() -> Bool {
        !outside.exchange(true, ordering: .relaxed)
    }
}
