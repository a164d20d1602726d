// Go's sync.Cond for tasks: a thin type over a `NotifyStorage` (Go's notify
// list, its lock and its parked waiters).
//
// Invariants (in the storage, under its lock, besides the notify list's):
// a wait takes its ticket before it unlocks the mutex, so a signal sent once
// the mutex is free reaches it, parked or not; a signal notifies one live
// ticket (the oldest), a broadcast all of them, and a notify that finds none
// is lost. The mutex is the caller's: `wait` unlocks it after joining and
// locks it again before returning, however the wait ends.

extension Sync {
    /// A condition variable (Go: `sync.Cond`): tasks wait on it, holding its
    /// ``mutex``, until another signals that the condition they wait for may
    /// have changed.
    ///
    /// ```go
    /// mu := sync.Mutex{}
    /// ready := sync.NewCond(&mu)
    ///
    /// mu.Lock()
    /// for len(queue) == 0 {
    ///     ready.Wait()
    /// }
    /// job := queue[0]
    /// queue = queue[1:]
    /// mu.Unlock()
    ///
    /// // elsewhere
    /// mu.Lock()
    /// queue = append(queue, job)
    /// mu.Unlock()
    /// ready.Signal()
    /// ```
    ///
    /// ```swift
    /// let mutex = Sync.Mutex()
    /// let ready = Sync.Cond(mutex)
    ///
    /// try await mutex.lock()
    /// while queue.isEmpty {
    ///     try await ready.wait()
    /// }
    /// let job = queue.removeFirst()
    /// mutex.unlock()
    ///
    /// // elsewhere
    /// try await mutex.lock()
    /// queue.append(job)
    /// mutex.unlock()
    /// ready.signal()
    /// ```
    ///
    /// As in Go: ``wait(file:line:)`` joins the list of waiters before it
    /// unlocks the mutex, so a signal sent after that (once the mutex is
    /// free) is never missed, even by a waiter that has not parked yet; a
    /// ``signal()`` wakes the longest-waiting task, a ``broadcast()`` every
    /// one; a signal or broadcast with nobody waiting is lost. A waiter
    /// relocks the mutex before it returns, so it checks its condition again
    /// in a loop: another task may have taken the mutex first and changed it.
    ///
    /// Waiting goroutines park (never their thread), are listed in dumps as
    /// `sync.Cond.Wait` with the line of the wait, and count for the deadlock
    /// check: a goroutine waiting on a `Cond` that nobody can signal is
    /// stuck. Often a channel says the same more simply (closed to broadcast,
    /// one value per waiter to signal), and it works in `select`; a `Cond`
    /// fits when the condition is a state several tasks read and change
    /// under one mutex.
    public final class Cond: Sendable {
        /// The mutex held while the condition is checked or changed (Go: `L`).
        public let mutex: Sync.Mutex
        private let storage = NotifyStorage(())

        /// A condition variable on `mutex` (Go: `sync.NewCond(&mu)`).
        public init(_ mutex: Sync.Mutex) {
            self.mutex = mutex
        }

        /// Unlocks ``mutex`` and waits until a ``signal()`` or
        /// ``broadcast()`` reaches this wait, then locks it again (Go:
        /// `c.Wait()`). Joining the waiters and unlocking are one step for a
        /// signaller: a signal sent once the mutex is free reaches this wait.
        ///
        /// It always returns holding ``mutex``, also when it throws. While it
        /// waits to lock it again, a dump lists it as `sync.Mutex.Lock` at
        /// the same line.
        ///
        /// - Precondition: the caller holds ``mutex`` ("sync: unlock of
        ///   unlocked mutex", as in Go).
        /// - Throws: `CancellationError` if the waiting task is cancelled
        ///   before a signal reaches it: it stops waiting (its place on the
        ///   list is given up, so no later signal is spent on it), locks
        ///   ``mutex`` again, whatever the cancellation, and then throws,
        ///   holding the mutex; release it as after any other wait. A
        ///   signal that reached it first is kept: it returns normally, and a
        ///   cancelled task's next wait throws.
        public func wait(file: StaticString = #fileID, line: UInt = #line) async throws {
            let location = SourceLocation(fileID: file, line: line)
            let ticket = storage.updateList { list in (list.join(), []) }
            mutex.unlock()
            var cancelled = false
            do {
                try await storage.wait(for: ticket, reason: .condWait, at: location)
            } catch {
                cancelled = true  // parks throw nothing else
            }
            await mutex.lockIgnoringCancellation(at: location)
            if cancelled { throw CancellationError() }
        }

        /// Wakes the task that has waited longest, if any (Go: `c.Signal()`).
        /// With nobody waiting, the signal is lost. The caller may, but need
        /// not, hold ``mutex``.
        public func signal() {
            storage.updateList { list in
                if case .parked(let waiter) = list.notifyOne() { return ((), [waiter]) }
                return ((), [])
            }
        }

        /// Wakes every waiting task (Go: `c.Broadcast()`). The caller may,
        /// but need not, hold ``mutex``.
        public func broadcast() {
            storage.updateList { list in ((), list.notifyAll().parked) }
        }

        /// How many tasks are parked in ``wait(file:line:)`` (for tests:
        /// `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            storage.parkedCount
        }
    }
}
