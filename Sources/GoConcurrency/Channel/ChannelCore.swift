// What every channel has, whatever its element type: its lock, and (from
// `WaitObject`) what the deadlock detector asks of a wait object.
// `ChannelStorage<Element>` is its only subclass.
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

@usableFromInline
class ChannelCore: WaitObject, @unchecked Sendable {
    @usableFromInline let lock = Lock()

    @inlinable
    override init() {
        super.init()
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
