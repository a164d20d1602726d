// The state behind a Timer, a Ticker, `after` and `afterFunc`: one armed entry
// on the runtime's timer heap at a time, and what to do when it fires (send the
// scheduled time on the channel, or start a goroutine).
//
// Invariants (protected by `lock`):
// - `entry` is the one armed heap entry, or nil when the timer is stopped or
//   has fired (a ticker re-arms before its fire returns). A fire clears it
//   before it sends, so `entry != nil` means nothing of this setting was sent.
// - `generation` grows on every stop and reset. A fire whose generation is not
//   the current one does nothing, so no value from an earlier setting is sent.
// - A fire sends into the channel while holding `lock`, and stop and reset
//   empty the channel's buffer while holding it: once stop or reset returns,
//   no value of the earlier setting can be received (Guarantees, rules 28, 29). Lock order:
//   this lock, then the channel's. A receiver woken by the send is resumed
//   after both are released.
// - The channel owns the core (`ChannelStorage.timer`); the core and its heap
//   entry refer to the channel and the core weakly, so a timer nobody
//   references is deallocated and its entry cancelled (Guarantees, rule 30).

import Synchronization

final class TimerCore: @unchecked Sendable {
    typealias Instant = ContinuousClock.Instant

    enum Kind {
        /// Sends the scheduled time on `channel`, once.
        case timer
        /// Sends it every `period` nanoseconds, dropping ticks nobody took.
        case ticker(period: UInt64)
        /// Starts `function` as a goroutine, once (a synchronous function
        /// too: `afterFunc` takes both as this one type).
        case function(@Sendable () async throws -> Void)
    }

    private let lock = Lock()
    private var kind: Kind
    private weak var channel: ChannelStorage<Instant>?
    private var entry: TimerEntry?
    private var generation: UInt64 = 0
    private let queue: TimerQueue

    init(kind: Kind, channel: ChannelStorage<Instant>?, queue: TimerQueue = .current) {
        self.kind = kind
        self.channel = channel
        self.queue = queue
    }

    deinit {
        if let entry {
            queue.cancel(entry)
        }
    }

    /// Arms the timer `delay` nanoseconds from now, replacing any earlier
    /// setting; true if the earlier setting was still active (armed, or fired
    /// with its value not yet received).
    @discardableResult
    func arm(after delay: UInt64, kind newKind: Kind? = nil) -> Bool {
        let now = queue.now()
        let instant = queue.instant(at: now &+ delay, now: now)
        lock.lock()
        let wasActive = disarmLocked()
        if let newKind { kind = newKind }
        armLocked(at: now &+ delay, instant: instant)
        lock.unlock()
        return wasActive
    }

    /// The armed heap entry, if any (for tests).
    var armedEntry: TimerEntry? {
        lock.lock()
        defer { lock.unlock() }
        return entry
    }

    /// Stops the timer; true if it was active (armed, or fired with its value
    /// not yet received), which it no longer is.
    @discardableResult
    func stop() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return disarmLocked()
    }

    /// Called with `lock` held.
    private func disarmLocked() -> Bool {
        generation &+= 1
        var wasActive = false
        if let entry {
            // Still armed as far as this core knows: its fire has not run (a
            // fire that is already under way finds the generation changed and
            // does nothing), so it was active.
            queue.cancel(entry)
            self.entry = nil
            wasActive = true
        }
        if let channel, channel.discardBuffered() {
            wasActive = true
        }
        return wasActive
    }

    /// Called with `lock` held.
    private func armLocked(at deadline: UInt64, instant: Instant) {
        let firing = generation
        if case .function = kind {
            // Go's AfterFunc runs its function whether or not anyone keeps the
            // timer: the heap holds this one until it fires or is stopped
            // (both drop `entry`, which ends the cycle).
            entry = queue.schedule(at: deadline) { [self] in
                fire(generation: firing, deadline: deadline, instant: instant)
            }
            return
        }
        entry = queue.schedule(at: deadline) { [weak self] in
            self?.fire(generation: firing, deadline: deadline, instant: instant)
        }
    }

    /// The heap entry of `generation` is due.
    private func fire(generation firing: UInt64, deadline: UInt64, instant: Instant) {
        var wake: ReceiverWake<Instant>?
        var start: (@Sendable () async throws -> Void)?
        lock.lock()
        guard firing == generation else {
            lock.unlock()
            return
        }
        entry = nil
        switch kind {
        case .timer:
            wake = send(instant)
        case .ticker(let period):
            // The next tick is one period after this one, skipping the periods
            // that already passed (Guarantees, rule 31): no burst after a stall.
            let next = TimerCore.nextTick(after: deadline, period: period, now: queue.now())
            let nextInstant = instant.advanced(by: .nanoseconds(Int64(clamping: next &- deadline)))
            armLocked(at: next, instant: nextInstant)
            wake = send(instant)  // a tick nobody has taken yet: this one is dropped
        case .function(let function):
            start = function
        }
        lock.unlock()
        wake?.resume()
        if let start {
            // On the runtime that armed it (as Go runs an AfterFunc's function
            // in its own goroutine of the same program): its deadlock check
            // and its panic handler must see that goroutine.
            go(on: queue.runtime, start)
        }
    }

    /// The deadline of a ticker's next tick after the one due at `deadline`:
    /// one period later, or, if that has passed already, the first multiple of
    /// the period after `now` (Go's `when + period * (1 + (now - when) / period)`).
    static func nextTick(after deadline: UInt64, period: UInt64, now: UInt64) -> UInt64 {
        let next = deadline &+ period
        if next > now { return next }
        return deadline &+ ((now &- deadline) / period &+ 1) &* period
    }

    /// Puts `instant` in the channel if there is room (a waiting receiver or
    /// the one-value buffer). Called with `lock` held.
    private func send(_ instant: Instant) -> ReceiverWake<Instant>? {
        guard let channel else { return nil }
        switch channel.withLock({ $0.send(instant) }) {
        case .sent(let wake):
            return wake
        case .closed, .wouldBlock:
            return nil
        }
    }
}
