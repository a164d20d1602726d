// One open descriptor registered with its runtime's poller (Go's pollDesc,
// with the reference count of its fdMutex): a read slot and a write slot,
// each empty, holding a readiness not yet consumed, or holding the one waiter
// parked for that direction; each direction's deadline; and the references
// of the calls in flight, which keep the descriptor's number from being
// closed (and reused by another open) under them.
//
// A wait consumes a pending readiness without parking, so a readiness that
// arrives between a system call's EAGAIN and the wait is not lost. Readiness,
// a deadline, close and cancellation each claim a parked waiter through the
// `Waiter`'s one compare-and-swap, so exactly one of them resumes it. A
// goroutine's wait goes through the runtime's one parking path as "IO wait"
// at its caller's line; the deadlock check never counts it as stuck (the
// descriptor's peer is outside the runtime).
//
// Deadlines follow Go's: absolute times (in the runtime timer queue's time,
// so a `ManualClock` runtime fires them when the test moves the clock); a
// deadline applies to the wait in progress and to later ones; one already
// past fails the wait at once; once expired, every wait and `prepare` of
// that direction fails with `.timeout` until the deadline is reset.
//
// Invariants:
// - `state` is a `Locked` `PollDescriptorState`, the pure state machine,
//   which never resumes and never touches the poller's counts. Its lock is
//   taken before the poller's (close deregisters under it), never after.
// - A waiter is in a slot at most once; whoever takes it out (readiness,
//   deadline, close, the canceller's owner) subtracts it from the poller's
//   `waiters`, and whoever claims it resumes it, with no lock held.
// - A readiness that took a waiter out but lost the claim to a canceller
//   puts the readiness back, so that the next wait sees it.
// - Deadline timers carry their slot's generation, which every
//   `setDeadline` and close advances: a timer that fires after its deadline
//   was changed does nothing.
// - The number is closed once, when the descriptor is closed and no
//   reference is left, after it left epoll.
// - `tag` is written once, by `Poller.register` under the poller's lock,
//   before the descriptor is handed out.

/// Which direction a wait is for.
@usableFromInline
enum PollMode: Sendable {
    case read, write
}

/// Directions, for deadlines and readiness.
@usableFromInline
struct PollModes: OptionSet, Sendable {
    @usableFromInline let rawValue: UInt8
    @inlinable init(rawValue: UInt8) { self.rawValue = rawValue }
    @usableFromInline static let read = PollModes(rawValue: 1)
    @usableFromInline static let write = PollModes(rawValue: 2)
    @usableFromInline static let both: PollModes = [.read, .write]
    /// With a readiness: the peer closed its side, the socket failed, or
    /// urgent (out-of-band) data arrived (EPOLLRDHUP, EPOLLHUP, EPOLLERR,
    /// EPOLLPRI): from then on a short read does not show an empty receive
    /// buffer.
    @usableFromInline static let readExceptional = PollModes(rawValue: 4)
}

/// Why a descriptor wait ended without readiness.
@usableFromInline
enum PollWaitError: Error, Sendable, Equatable {
    /// The descriptor was closed (before or during the wait), or its runtime ended.
    case closed
    /// The direction's deadline has passed (before or during the wait).
    case timeout
    /// The waiting task (a plain task, or a cancellable goroutine) was cancelled.
    case cancelled
}

#if os(Linux)
import DequeModule
import Glibc
import Synchronization
import SystemPackage

/// One open descriptor registered with a runtime's poller.
@usableFromInline
final class PollDescriptor: @unchecked Sendable {
    /// The descriptor's number.
    @usableFromInline let fd: Int32
    /// The runtime whose poller and timers it uses.
    @usableFromInline let runtime: GoRuntime
    /// Nil when it was registered after its runtime ended (it is then closed
    /// for waits from the start).
    private let poller: Poller?
    /// The poller's tag of its registration (slot index and sequence).
    var tag: UInt64 = 0
    /// The state machine, under its lock (also `PollDescriptorTurns`').
    let state = Locked(PollDescriptorState())

    private init(fd: Int32, runtime: GoRuntime, poller: Poller?) {
        self.fd = fd
        self.runtime = runtime
        self.poller = poller
        if poller == nil { state.state.evicted = true }
    }

    /// Registers `fd` (already non-blocking) with `runtime`'s poller, made
    /// on first use: edge-triggered, both directions, once. On a runtime that
    /// has ended, the descriptor's waits fail with `.closed`.
    ///
    /// - Throws: The errno of epoll_create1, eventfd or epoll_ctl.
    @usableFromInline
    static func register(_ fd: Int32, on runtime: GoRuntime) throws(Errno) -> PollDescriptor {
        guard let poller = try runtime.makePoller() else {
            return PollDescriptor(fd: fd, runtime: runtime, poller: nil)
        }
        let descriptor = PollDescriptor(fd: fd, runtime: runtime, poller: poller)
        if try !poller.register(descriptor) {
            descriptor.state.withLock { $0.evicted = true }
        }
        return descriptor
    }

    /// Takes a reference for a call in flight (Go's incref): false once the
    /// descriptor is closed. While any is held its number stays open.
    @usableFromInline
    func acquire() -> Bool {
        state.withLock { state in
            if state.closed { return false }
            state.references += 1
            return true
        }
    }

    /// Releases a reference; the last one after `close` closes the number.
    @usableFromInline
    func release() {
        let closeNumber = state.withLock { state -> Bool in
            if state.references <= 0 { goPanic("PollDescriptor: release without acquire") }
            state.references -= 1
            return state.takeNumberToClose()
        }
        if closeNumber { closeNumberNow() }
    }

    /// Closes the number: once, when `takeNumberToClose` said so.
    func closeNumberNow() {
        Glibc.close(fd)
    }

    /// Before a system call: throws `.closed` or `.timeout` if `mode` cannot
    /// proceed (Go's pollReset); otherwise forgets a readiness left over
    /// from before, which the call itself will see.
    @usableFromInline
    func prepare(_ mode: PollMode) throws(PollWaitError) {
        if let failure = state.withLock({ $0.prepare(mode) }) { throw failure }
    }

    /// Parks the caller until the descriptor may be ready for `mode` (at
    /// once if a readiness arrived since the last wait), or throws `.closed`,
    /// `.timeout` or `.cancelled` (a plain task's or a cancellable
    /// goroutine's wait). A goroutine's wait is listed as "IO wait" at
    /// `file`:`line`. One waiter per direction at a time.
    @usableFromInline
    nonisolated(nonsending) func wait(
        _ mode: PollMode, file: StaticString = #fileID, line: UInt = #line
    ) async throws(PollWaitError) {
        // Settled without parking: a readiness to consume, a close, a deadline.
        switch state.withLock({ $0.settle(mode) }) {
        case .ready: return
        case .failed(let failure): throw failure
        case .mustPark: break
        }
        let waiter = Waiter(reason: .ioWait, location: SourceLocation(fileID: file, line: line))
        var settled: PollWaitError?
        var consumed = false  // a readiness, taken while registering
        // What it waits on is a descriptor, whose peer is outside the
        // runtime: the wait may be ended from outside.
        await Parking.park(waiter, on: { _ in true }) { waiter in
            let poller = poller.unsafelyUnwrapped
            let outcome = state.withLock { state -> PollDescriptorState.Settled in
                let outcome = state.park(waiter, for: mode)
                if case .mustPark = outcome { poller.waiters.add(1, ordering: .sequentiallyConsistent) }
                return outcome
            }
            switch outcome {
            case .mustPark:
                poller.waiterParked(on: runtime)
            case .ready, .failed:
                if case .failed(let failure) = outcome { settled = failure } else { consumed = true }
                if waiter.tryClaim(.aborted) { waiter.resume() }
            }
        }
        switch waiter.outcome {
        case PollDescriptor.readyOutcome:
            return
        case PollDescriptor.closedOutcome:
            throw .closed
        case .timedOut:
            throw .timeout
        case .cancelled:
            var handTo: Waiter?
            let unparked = state.withLock { state -> Bool in
                // A readiness it consumed before the cancel won stays for the
                // next wait (handed to it if it has parked meanwhile).
                if consumed { handTo = state.keepReadiness(mode) }
                return state.unpark(waiter, for: mode)
            }
            if unparked {
                poller.unsafelyUnwrapped.waiters.subtract(1, ordering: .sequentiallyConsistent)
            }
            if let handTo {
                handReadiness(to: handTo, for: mode) { $0.resume() }
            }
            throw .cancelled
        default:  // .aborted: settled while registering
            if let settled { throw settled }
        }
    }

    /// Sets (or clears, with nil) the deadline of the directions in `modes`:
    /// an absolute time in the runtime timer queue's time (`TimerQueue.now()`,
    /// `TimerQueue.deadline(for:)`). It applies to the wait in progress and
    /// later ones; one already past fails them at once; an expired deadline
    /// keeps failing until it is set again.
    @usableFromInline
    func setDeadline(_ deadline: UInt64?, for modes: PollModes) {
        let timers = runtime.timers
        let now = timers.now()
        var expired: [Waiter] = []
        var stale: [TimerEntry] = []
        var arm: [(PollMode, UInt64)] = []
        state.withLock { state in
            for mode in [PollMode.read, .write] where modes.contains(mode == .read ? .read : .write) {
                if let timer = state[mode].timer { stale.append(timer) }
                switch state.setDeadline(deadline, for: mode, now: now) {
                case .none: break
                case .expired(let waiter): if let waiter { expired.append(waiter) }
                case .arm(let generation): arm.append((mode, generation))
                }
            }
        }
        for timer in stale { timers.cancel(timer) }
        finish(expired, as: .timedOut)
        for (mode, generation) in arm {
            let timer = timers.schedule(at: deadline!) { [self] in deadlinePassed(mode, generation: generation) }
            let keep = state.withLock { state -> Bool in
                guard state[mode].generation == generation else { return false }
                state[mode].timer = timer
                return true
            }
            if !keep { timers.cancel(timer) }
        }
    }

    /// A deadline timer fired.
    private func deadlinePassed(_ mode: PollMode, generation: UInt64) {
        let waiter = state.withLock { $0.deadlinePassed(mode, generation: generation) }
        if let waiter { finish([waiter], as: .timedOut) }
    }

    /// Closes it for calls (Go's evict, then its close): every parked reader
    /// and writer wakes with `.closed`, later waits and prepares throw
    /// `.closed`, `acquire` fails; it leaves epoll now, and its number is
    /// closed when the last reference is released.
    @usableFromInline
    func close() {
        let closing = state.withLock { state -> ([Waiter], [TimerEntry], Bool)? in
            if state.closed { return nil }
            state.closed = true
            // Out of epoll while the number is surely still this descriptor's
            // (the last release closes it only once the lock is free).
            poller?.deregister(self)
            let (waiters, timers) = state.evict()
            return (waiters, timers, state.takeNumberToClose())
        }
        guard let (waiters, timers, closeNumber) = closing else { return }
        for timer in timers { runtime.timers.cancel(timer) }
        finish(waiters, as: PollDescriptor.closedOutcome)
        if closeNumber { closeNumberNow() }
    }

    /// The runtime ended: waits fail with `.closed` (the number stays open
    /// until `close`).
    func evict() {
        let (waiters, timers) = state.withLock { $0.evict() }
        for timer in timers { runtime.timers.cancel(timer) }
        finish(waiters, as: PollDescriptor.closedOutcome)
    }

    /// Whether the descriptor's number was closed (for tests).
    var isNumberClosed: Bool { state.withLock { $0.numberClosed } }

    /// Whether the last read came back short, so the next one waits for a
    /// readiness before its system call (for tests).
    var isReadDrained: Bool { state.withLock { $0.readDrained } }

    /// Whether the poller reported the read side closed, an error or urgent
    /// data (for tests).
    var isReadExceptional: Bool { state.withLock { $0.readExceptional } }

    /// Whether a readiness for `mode` waits to be consumed (for tests).
    func isReady(_ mode: PollMode) -> Bool {
        state.withLock { if case .ready = $0[mode].readiness { true } else { false } }
    }

    /// The poller found the descriptor ready for `modes`: wakes the waiters
    /// parked there (appended to `ready`, claimed, for the poller's caller to
    /// resume), or records the readiness for the next wait.
    func readied(_ modes: PollModes, into ready: inout [Waiter]) {
        let (reader, writer) = state.withLock { $0.readied(modes) }
        for (waiter, mode) in [(reader, PollMode.read), (writer, .write)] {
            guard let waiter else { continue }
            handReadiness(to: waiter, for: mode) { ready.append($0) }
        }
    }

    /// Claims `waiter`, taken out of its slot, for a readiness of `mode`, and
    /// gives it to `deliver` to resume. If a cancellation claimed it first,
    /// the readiness goes to the next wait instead, parked already (claimed
    /// the same way) or to come: edge-triggered, it would not come again.
    private func handReadiness(to waiter: Waiter, for mode: PollMode, _ deliver: (Waiter) -> Void) {
        var next: Waiter? = waiter
        while let candidate = next {
            poller.unsafelyUnwrapped.waiters.subtract(1, ordering: .sequentiallyConsistent)
            if candidate.tryClaim(PollDescriptor.readyOutcome) {
                deliver(candidate)
                return
            }
            next = state.withLock { $0.keepReadiness(mode) }
        }
    }

    /// Claims and resumes waiters taken out of their slots.
    private func finish(_ waiters: [Waiter], as outcome: Waiter.Outcome) {
        for waiter in waiters {
            poller.unsafelyUnwrapped.waiters.subtract(1, ordering: .sequentiallyConsistent)
            if waiter.tryClaim(outcome) { waiter.resume() }
        }
    }

    /// How a wait's waiter is claimed when its descriptor is ready, or closed.
    static let readyOutcome = Waiter.Outcome.selected(0)
    static let closedOutcome = Waiter.Outcome.selected(1)
}

/// The state machine behind a `PollDescriptor` (under its lock).
struct PollDescriptorState {
    /// One direction's slot and deadline.
    struct Slot {
        enum Readiness {
            case none
            case ready
            case parked(Waiter)
        }
        var readiness = Readiness.none
        /// Set once the deadline passed, until it is set again.
        var expired = false
        var timer: TimerEntry?
        /// Advanced by every deadline change and by eviction.
        var generation: UInt64 = 0
    }

    var read = Slot()
    var write = Slot()
    /// `close` was called: `acquire` fails.
    var closed = false
    /// Waits and prepares fail with `.closed` (closed, or the runtime ended).
    var evicted = false
    var references = 0
    var numberClosed = false
    /// The last read of a stream socket came back short of its buffer, so
    /// the socket's receive buffer was empty after it: until a readiness
    /// arrives, the next read's system call would only say EAGAIN, and it
    /// waits first instead. Edge-triggered registration makes this safe: any
    /// byte that arrives after that read raises a readiness. (Tokio clears
    /// its readiness on a short read for the same reason.) Not once the
    /// poller reported the peer's end of stream, an error or urgent data
    /// (`readExceptional`): the end of stream or the error may have come with
    /// the bytes the short read took, and the read that would return 0 or
    /// the error must not wait for another readiness; and TCP stops a read
    /// at the urgent mark, short, with bytes still in the buffer behind it.
    var readDrained = false
    /// The poller reported the read side closed, the socket failed, or
    /// urgent data; it stays so (short reads no longer count as drained).
    var readExceptional = false
    /// Each direction's turn (`PollDescriptorTurns`): held, and who waits.
    var readTurnHeld = false
    var writeTurnHeld = false
    var readTurnQueue = Deque<Waiter>()
    var writeTurnQueue = Deque<Waiter>()

    subscript(mode: PollMode) -> Slot {
        get { mode == .read ? read : write }
        set {
            if mode == .read { read = newValue } else { write = newValue }
        }
    }

    enum Settled {
        case ready
        case failed(PollWaitError)
        case mustPark
    }

    /// Before a system call (`PollDescriptor.prepare`, `beginCall`): the
    /// failure, or nil after forgetting a readiness left from before (and
    /// with it a drained read's hint: data may have come since).
    mutating func prepare(_ mode: PollMode) -> PollWaitError? {
        if let failure = failure(mode) { return failure }
        if case .ready = self[mode].readiness {
            self[mode].readiness = .none
            if mode == .read { readDrained = false }
        }
        return nil
    }

    func failure(_ mode: PollMode) -> PollWaitError? {
        if evicted { return .closed }
        if self[mode].expired { return .timeout }
        return nil
    }

    /// A wait's first look: consumes a readiness, or fails.
    mutating func settle(_ mode: PollMode) -> Settled {
        if let failure = failure(mode) { return .failed(failure) }
        if case .ready = self[mode].readiness {
            self[mode].readiness = .none
            return .ready
        }
        return .mustPark
    }

    /// The same look, then parks `waiter` in the slot if nothing settles it.
    mutating func park(_ waiter: Waiter, for mode: PollMode) -> Settled {
        let settled = settle(mode)
        guard case .mustPark = settled else { return settled }
        if case .parked = self[mode].readiness {
            goPanic("runtime: double wait", detail: "two waits for the same direction of one descriptor at once")
        }
        self[mode].readiness = .parked(waiter)
        return .mustPark
    }

    /// Takes `waiter` back out of its slot (its task was cancelled). True if
    /// it was still there.
    mutating func unpark(_ waiter: Waiter, for mode: PollMode) -> Bool {
        guard case .parked(let parked) = self[mode].readiness, parked === waiter else { return false }
        self[mode].readiness = .none
        return true
    }

    /// Readiness for `modes`: the waiters to wake (read, write); a slot with
    /// none records it.
    mutating func readied(_ modes: PollModes) -> (Waiter?, Waiter?) {
        if modes.contains(.readExceptional) { readExceptional = true }
        var woken: (Waiter?, Waiter?) = (nil, nil)
        if modes.contains(.read) { woken.0 = ready(.read) }
        if modes.contains(.write) { woken.1 = ready(.write) }
        return woken
    }

    private mutating func ready(_ mode: PollMode) -> Waiter? {
        switch self[mode].readiness {
        case .parked(let waiter):
            self[mode].readiness = .none
            return waiter
        case .none, .ready:
            self[mode].readiness = .ready
            return nil
        }
    }

    /// A readiness whose waiter was cancelled before it could be claimed:
    /// kept for the next wait, or, if that wait has parked meanwhile (the
    /// cancelled task ran on and another waited), handed to it: the waiter to
    /// claim. Registration is edge-triggered, so a readiness dropped here
    /// would never come again.
    mutating func keepReadiness(_ mode: PollMode) -> Waiter? {
        if evicted { return nil }
        switch self[mode].readiness {
        case .none:
            self[mode].readiness = .ready
            return nil
        case .ready:
            return nil
        case .parked:
            return takeParked(mode)
        }
    }

    enum DeadlineChange {
        case none
        case expired(Waiter?)
        case arm(generation: UInt64)
    }

    /// Sets a direction's deadline; the caller cancels the timer it had.
    mutating func setDeadline(_ deadline: UInt64?, for mode: PollMode, now: UInt64) -> DeadlineChange {
        self[mode].generation &+= 1
        self[mode].timer = nil
        if evicted { return .none }  // every wait fails with .closed anyway
        guard let deadline else {
            self[mode].expired = false
            return .none
        }
        if deadline <= now {
            self[mode].expired = true
            return .expired(takeParked(mode))
        }
        self[mode].expired = false
        return .arm(generation: self[mode].generation)
    }

    /// A deadline timer of `generation` fired: the waiter to time out.
    mutating func deadlinePassed(_ mode: PollMode, generation: UInt64) -> Waiter? {
        guard self[mode].generation == generation, !self[mode].expired else { return nil }
        self[mode].expired = true
        self[mode].timer = nil
        return takeParked(mode)
    }

    private mutating func takeParked(_ mode: PollMode) -> Waiter? {
        guard case .parked(let waiter) = self[mode].readiness else { return nil }
        self[mode].readiness = .none
        return waiter
    }

    /// Fails every wait from now on: the parked waiters to wake with
    /// `.closed` and the deadline timers to cancel.
    mutating func evict() -> ([Waiter], [TimerEntry]) {
        evicted = true
        var waiters: [Waiter] = []
        var timers: [TimerEntry] = []
        for mode in [PollMode.read, .write] {
            if let waiter = takeParked(mode) { waiters.append(waiter) }
            if let timer = self[mode].timer { timers.append(timer) }
            self[mode].timer = nil
            self[mode].generation &+= 1
            self[mode].readiness = .none
        }
        return (waiters, timers)
    }

    /// Whether the number is to be closed now (closed, no reference left,
    /// not closed yet); if so, it counts as closed from here.
    mutating func takeNumberToClose() -> Bool {
        guard closed, references == 0, !numberClosed else { return false }
        numberClosed = true
        return true
    }
}
#else
// The poller is built on epoll; on other systems (kqueue) it is not
// implemented yet, and code that uses it does not compile, rather than
// falling back to something else.
@available(*, unavailable, message: "GoConcurrency's network poller needs epoll (Linux); kqueue is not implemented")
@usableFromInline
final class PollDescriptor {}
#endif
