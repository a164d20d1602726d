// Calls in one direction of a descriptor take turns (Go's fdMutex read and
// write locks): a read and a write may be in flight at once, never two reads
// or two writes, so one write's bytes are never interleaved with another's
// and a slot never holds two waiters. A turn is a flag and a queue of waiters
// in the descriptor's own state, under its lock: a connection that is never
// shared pays two flags and two empty queues, not two lock objects (which
// were a third of what an idle connection cost beyond its buffer).
//
// Invariants (the state's, under the descriptor's lock):
// - A direction's turn flag is set from a call's `takeTurn` to its
//   `giveTurn`; while it is set, callers queue (each waiter at most once).
// - `giveTurn` hands the turn to the first queued waiter whose claim it wins,
//   the flag staying set; a waiter whose cancellation won is skipped (it holds
//   nothing and throws); with nobody left, the flag drops.
// - A waiter granted the turn while registering, whose cancellation then won
//   the claim, gives the turn on before it throws.
// - Waiters are resumed with no lock held.

#if os(Linux)
import DequeModule

extension PollDescriptor {
    /// Waits for this direction's turn (FIFO). Throws `.cancelled` if the
    /// waiting task is cancelled first; a goroutine's wait is listed as "IO
    /// wait" at `file`:`line`, as Go lists one waiting on fdMutex's semaphore.
    nonisolated(nonsending) func takeTurn(_ mode: PollMode, file: StaticString, line: UInt) async throws(PollWaitError) {
        if state.withLock({ $0.takeTurnAtOnce(mode) }) { return }
        let waiter = Waiter(reason: .ioWait, location: SourceLocation(fileID: file, line: line))
        var grantedWhileRegistering = false
        // The turn comes when the holder's call ends, which may wait on the
        // descriptor's peer: the wait may be ended from outside.
        await Parking.park(waiter, on: { _ in true }) { waiter in
            grantedWhileRegistering = state.withLock { $0.queueForTurn(waiter, mode) }
            if grantedWhileRegistering, waiter.tryClaim(PollDescriptor.readyOutcome) { waiter.resume() }
        }
        if waiter.outcome == PollDescriptor.readyOutcome { return }
        if grantedWhileRegistering {
            giveTurn(mode)
        } else {
            state.withLock { $0.leaveTurnQueue(waiter, mode) }
        }
        throw .cancelled
    }

    /// Ends this direction's turn: hands it to the next waiter, if any.
    func giveTurn(_ mode: PollMode) {
        handTurn(to: state.withLock { $0.nextForTurn(mode) }, mode)
    }

    /// Claims and resumes `next`, the waiter the turn was given to; if its
    /// cancellation won, gives the turn on to the one after.
    private func handTurn(to next: Waiter?, _ mode: PollMode) {
        var next = next
        while let waiter = next {
            if waiter.tryClaim(PollDescriptor.readyOutcome) {
                waiter.resume()
                return
            }
            // Cancelled meanwhile: the turn goes on to the one after.
            next = state.withLock { $0.nextForTurn(mode) }
        }
    }

    /// How a call's start went (`beginCall`).
    enum CallStart {
        /// It holds a reference (and its turn, if it takes turns): it runs,
        /// and `endCall` ends it.
        case started
        /// Started, but the last read drained the socket's buffer and no
        /// readiness has come since: wait (`wait`) before the first system
        /// call, which would only say EAGAIN.
        case startedDrained
        /// Another call has the turn: wait for it (`takeTurn`), then begin
        /// again without taking it.
        case waitForTurn
        /// Closed: it holds nothing.
        case closed
        /// `prepare` failed: it holds its reference and turn, for `endCall`.
        case failed(PollWaitError)
    }

    /// Everything a call does before its first system call, under one lock
    /// (it took five, uncontended, on every read and write): its turn if it
    /// takes turns and the turn is free, a reference (`acquire`), and the
    /// look `prepare` takes.
    func beginCall(_ mode: PollMode, takingTurn: Bool) -> CallStart {
        state.withLock { state in
            if state.closed { return .closed }
            if takingTurn, !state.takeTurnAtOnce(mode) { return .waitForTurn }
            state.references += 1
            if let failure = state.prepare(mode) { return .failed(failure) }
            return mode == .read && state.readDrained && !state.readExceptional ? .startedDrained : .started
        }
    }

    /// Ends a call `beginCall` started: its reference (`release`: the last
    /// one after a close closes the number) and, if it held one, its turn,
    /// under one lock. `drained`: a read that came back short, so the
    /// socket's buffer was empty after it (see `readDrained`).
    func endCall(_ mode: PollMode, givingTurn: Bool, drained: Bool = false) {
        let (closeNumber, next) = state.withLock { state -> (Bool, Waiter?) in
            if state.references <= 0 { goPanic("PollDescriptor: endCall without beginCall") }
            state.references -= 1
            if mode == .read { state.readDrained = drained }
            return (state.takeNumberToClose(), givingTurn ? state.nextForTurn(mode) : nil)
        }
        if closeNumber { closeNumberNow() }
        handTurn(to: next, mode)
    }
}

extension PollDescriptorState {
    /// Takes the turn if nobody has it.
    mutating func takeTurnAtOnce(_ mode: PollMode) -> Bool {
        if mode == .read {
            if readTurnHeld { return false }
            readTurnHeld = true
        } else {
            if writeTurnHeld { return false }
            writeTurnHeld = true
        }
        return true
    }

    /// Takes the turn (true), or queues `waiter` for it.
    mutating func queueForTurn(_ waiter: Waiter, _ mode: PollMode) -> Bool {
        if takeTurnAtOnce(mode) { return true }
        if mode == .read { readTurnQueue.append(waiter) } else { writeTurnQueue.append(waiter) }
        return false
    }

    /// A cancelled waiter leaves the queue (if a giver has not taken it out).
    mutating func leaveTurnQueue(_ waiter: Waiter, _ mode: PollMode) {
        if mode == .read {
            if let index = readTurnQueue.firstIndex(where: { $0 === waiter }) { readTurnQueue.remove(at: index) }
        } else {
            if let index = writeTurnQueue.firstIndex(where: { $0 === waiter }) { writeTurnQueue.remove(at: index) }
        }
    }

    /// The next waiter for the turn, taken out of the queue (the turn stays
    /// held for it), or nil, the turn then free.
    mutating func nextForTurn(_ mode: PollMode) -> Waiter? {
        if mode == .read {
            if let next = readTurnQueue.popFirst() { return next }
            readTurnHeld = false
        } else {
            if let next = writeTurnQueue.popFirst() { return next }
            writeTurnHeld = false
        }
        return nil
    }
}
#endif
