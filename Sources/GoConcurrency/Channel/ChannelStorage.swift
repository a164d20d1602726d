// The lock-owning core of a channel: runs `ChannelState` under the lock it
// inherits from `ChannelCore` and carries out the actions it returns, parking
// and waking.
//
// Invariants:
// - `channelState` is only touched with `lock` held (inside `withLock`, or
//   between `lock()` and `unlock()` where a closure would copy what it
//   captures). The lock and the state live in this one object, so a channel
//   is one allocation (its buffer aside).
// - A goroutine's `send` or `receive` that must wait keeps the lock from the
//   look that found the channel not ready until its continuation is queued
//   (`Parking.parkGoroutine`): in between it reads its task and goroutine and
//   writes its wait record, takes no other lock and does not suspend.
// - Nothing is resumed while the lock is held: every action that wakes someone
//   is carried out after the lock is released. Resuming under the lock could
//   deadlock with a cancellation handler or a select that is unregistering
//   (both take this lock), and would make the woken task wait for our unlock.
// - A parked task's continuation is resumed exactly once, by whoever removes
//   its entry from the queue under the lock: a partner operation, `close`, or
//   the task's cancellation handler.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

@usableFromInline
final class ChannelStorage<Element: Sendable>: ChannelCore, @unchecked Sendable {
    @usableFromInline typealias Node = WaitNode

    /// Protected by `lock` (in `ChannelCore`).
    @usableFromInline @exclusivity(unchecked) var channelState: ChannelState<Element>
    @usableFromInline let capacity: Int
    /// For the channel of a `Timer` or `Ticker`: the timer, which lives as long
    /// as its channel does (Go's `time.After` hands out only the channel).
    /// Such a channel buffers one value but reports count and capacity 0, as
    /// Go 1.23's timer channels do (Guarantees, rule 27). Set once, before it is shared.
    @usableFromInline var timer: AnyObject?

    @inlinable
    init(capacity: Int) {
        if capacity < 0 || !ChannelStorage.bufferFits(capacity) {
            goPanic("makechan: size out of range",
                    detail: "Chan<\(Element.self)>(capacity: \(capacity)): " + (capacity < 0
                        ? "a channel's capacity must be 0 or more."
                        : "a buffer of \(capacity) values of \(MemoryLayout<Element>.stride) bytes does not fit in this machine's memory (\(largestChannelBuffer) bytes)."))
        }
        self.capacity = capacity
        self.channelState = ChannelState(capacity: capacity)
        super.init()
    }

    /// Whether a buffer of `capacity` values can be allocated, Go's bound
    /// for `make(chan T, n)`: the element's size times the capacity must not
    /// overflow and must fit in memory. Go compares it with the largest
    /// allocation its heap can address; the buffer here is allocated when the
    /// channel is made, so the bound is this machine's physical memory, past
    /// which the allocation would fail (an obvious overcommit) or could never
    /// be filled. Values of zero size (`Void`, an empty struct) need no buffer:
    /// any capacity fits, as in Go.
    @inlinable
    static func bufferFits(_ capacity: Int) -> Bool {
        if MemoryLayout<Element>.size == 0 { return true }
        let (bytes, overflow) = capacity.multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
        // The machine's memory is looked up only for buffers past 16 MiB.
        return !overflow && (bytes <= 1 << 24 || bytes <= largestChannelBuffer)
    }

    /// Runs `body` on the channel's state under its lock.
    @inlinable
    func withLock<R>(_ body: (inout ChannelState<Element>) -> R) -> R {
        lock.lock()
        defer { lock.unlock() }
        return body(&channelState)
    }

    // MARK: Send

    // `send` and `receive` are always inlined: with a goroutine's park
    // inlined into them (`Parking`), the optimizer stopped inlining them into
    // their callers, so every buffered send made an async frame of its own
    // (select_timeout +156 instructions per operation).
    @inlinable @inline(__always)
    nonisolated(nonsending) func send(_ value: Element, at location: SourceLocation) async throws {
        // Locked here, not through `trySend`: a goroutine that must wait
        // queues itself before the lock is released (see below).
        lock.lock()
        switch channelState.send(value) {
        case .sent(let wake):
            lock.unlock()
            wake?.resume()
            return
        case .closed:
            lock.unlock()
            throw ChannelError.sendOnClosedChannel
        case .wouldBlock:
            break
        }
        let task = TaskIdentity.current
        if let goroutine = Parking.uncancellableGoroutine(at: task) {
            // Still locked: the goroutine's continuation is queued in the
            // critical section that found the channel full, and the lock is
            // released once it is (`Parking.parkGoroutine` says why that is
            // sound). No second look at the state, no second lock round.
            try await Parking.parkGoroutine(goroutine, task: task, reason: .channelSend, at: location, on: self) { (continuation: UnsafeContinuation<Void, any Error>) in
                channelState.senders.append(ParkedSender(task: task, value: value, continuation: continuation))
                lock.unlock()
            }
            return
        }
        lock.unlock()
        try await sendParking(value, task: task, at: location)
    }

    /// `send`'s wait for a task that is not an uncancellable goroutine's
    /// root (a plain task, a cancellable goroutine): out of line, so that
    /// the inlined `send` stays small in its callers. Such a task's wait
    /// costs thread wake-ups, far more than this call's async frame.
    @inlinable @inline(never)
    nonisolated(nonsending) func sendParking(_ value: Element, task: TaskIdentity, at location: SourceLocation) async throws {
        try await Parking.park(task: task, reason: .channelSend, at: location, on: self) { (continuation: UnsafeContinuation<Void, any Error>, cancellable) in
            switch withLock({ $0.parkSender(task, value, continuation, cancellable: cancellable) }) {
            case .parked:
                break
            case .sent(let wake):
                wake?.resume()
                continuation.resume()
            case .closed:
                continuation.resume(throwing: ChannelError.sendOnClosedChannel)
            case .cancelled:
                continuation.resume(throwing: CancellationError())
            }
        } onCancel: {
            if let continuation = self.withLock({ $0.senders.removeTask(task) })?.continuation {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    @inlinable
    func trySend(_ value: Element) -> TrySendResult {
        switch withLock({ $0.send(value) }) {
        case .sent(let wake):
            wake?.resume()
            return .sent
        case .closed:
            return .closed
        case .wouldBlock:
            return .full
        }
    }

    @inlinable
    func blockingSend(_ value: Element, at location: SourceLocation) throws {
        while true {
            switch trySend(value) {
            case .sent: return
            case .closed: throw ChannelError.sendOnClosedChannel
            case .full: break
            }
            let waiter = Waiter(reason: .channelSend, location: location)
            let node = Node(owner: waiter, caseIndex: 0)
            Parking.parkThread(waiter, on: self) { _ in
                if !self.enqueueSender(node, value), waiter.tryClaim(.aborted) {
                    waiter.resume()
                }
            }
            if waiter.outcome == .selected(0) {
                if waiter.closed { throw ChannelError.sendOnClosedChannel }
                return
            }
        }
    }

    // MARK: Receive

    @inlinable @inline(__always)
    nonisolated(nonsending) func receive(at location: SourceLocation) async throws -> Element? {
        // As `send`: a goroutine that must wait queues itself under the lock
        // that found the channel empty.
        lock.lock()
        switch channelState.receive() {
        case .value(let value, let wake):
            lock.unlock()
            wake?.resume()
            return value
        case .closed:
            lock.unlock()
            return nil
        case .wouldBlock:
            break
        }
        let task = TaskIdentity.current
        if let goroutine = Parking.uncancellableGoroutine(at: task) {
            return try await Parking.parkGoroutine(goroutine, task: task, reason: .channelReceive, at: location, on: self) { (continuation: UnsafeContinuation<Element?, any Error>) in
                channelState.receivers.append(ParkedReceiver(task: task, continuation: continuation))
                lock.unlock()
            }
        }
        lock.unlock()
        return try await receiveParking(task: task, at: location)
    }

    /// `receive`'s wait for a task that is not an uncancellable goroutine's
    /// root: out of line, as `sendParking`.
    @inlinable @inline(never)
    nonisolated(nonsending) func receiveParking(task: TaskIdentity, at location: SourceLocation) async throws -> Element? {
        return try await Parking.park(task: task, reason: .channelReceive, at: location, on: self) { (continuation: UnsafeContinuation<Element?, any Error>, cancellable) in
            switch withLock({ $0.parkReceiver(task, continuation, cancellable: cancellable) }) {
            case .parked:
                break
            case .value(let value, let wake):
                wake?.resume()
                continuation.resume(returning: value)
            case .closed:
                continuation.resume(returning: nil)
            case .cancelled:
                continuation.resume(throwing: CancellationError())
            }
        } onCancel: {
            if let continuation = self.withLock({ $0.receivers.removeTask(task) })?.continuation {
                continuation.resume(throwing: CancellationError())
            }
        }
    }

    @inlinable
    func tryReceive() -> TryReceiveResult<Element> {
        switch withLock({ $0.receive() }) {
        case .value(let value, let wake):
            wake?.resume()
            return .value(value)
        case .closed:
            return .closed
        case .wouldBlock:
            return .empty
        }
    }

    @inlinable
    func blockingReceive(at location: SourceLocation) -> Element? {
        while true {
            switch tryReceive() {
            case .value(let value): return value
            case .closed: return nil
            case .empty: break
            }
            let waiter = Waiter(reason: .channelReceive, location: location)
            let node = Node(owner: waiter, caseIndex: 0)
            Parking.parkThread(waiter, on: self) { _ in
                if !self.enqueueReceiver(node), waiter.tryClaim(.aborted) {
                    waiter.resume()
                }
            }
            if waiter.outcome == .selected(0) {
                return waiter.takeReceived(Element.self)
            }
        }
    }

    // MARK: Nodes (select cases and blocked threads)

    /// Queues `node` as a parked sender of `value`; false (and not queued) if
    /// a send could complete now.
    @inlinable
    func enqueueSender(_ node: consuming Node, _ value: Element) -> Bool {
        // Not `withLock`: a closure would capture a copy of the node (one
        // more retain and release of its waiter); consumed, the node moves
        // into the queue.
        lock.lock()
        defer { lock.unlock() }
        return channelState.enqueueSender(node, value)
    }

    /// Queues `node` as a parked receiver; false (and not queued) if a receive
    /// could complete now.
    @inlinable
    func enqueueReceiver(_ node: consuming Node) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return channelState.enqueueReceiver(node)
    }

    // MARK: Close and inspection

    @inlinable
    func close() throws {
        try finishClose(withLock { $0.close() })
    }

    /// Resumes what a close claimed under the lock: every parked receiver and
    /// sender. Called with no lock held; a caller that closes under a lock of
    /// its own (a context's canceller) calls it once that one is released.
    @inlinable
    func finishClose(_ action: ChannelState<Element>.CloseAction) throws {
        switch action {
        case .alreadyClosed:
            throw ChannelError.closeOfClosedChannel
        case .closed(let receivers, let senders):
            for receiver in receivers {
                receiver.resume(with: nil)
            }
            for sender in senders {
                sender.resumeClosed()
            }
        }
    }

    @inlinable
    var count: Int { timer != nil ? 0 : withLock { $0.count } }

    /// The capacity Go reports: 0 for a timer's channel (Guarantees, rule 27).
    @inlinable
    var reportedCapacity: Int { timer != nil ? 0 : capacity }

    /// Empties the buffer; true if a value was in it (a timer's stop and reset).
    func discardBuffered() -> Bool {
        withLock { state in
            guard !state.buffer.isEmpty else { return false }
            state.buffer.removeAll(keepingCapacity: true)
            return true
        }
    }

    @inlinable
    var isClosed: Bool { withLock { $0.isClosed } }
}

/// The largest channel buffer, in bytes: the machine's physical memory (see
/// `ChannelStorage.bufferFits`).
@usableFromInline
let largestChannelBuffer: Int = {
    let pages = sysconf(Int32(_SC_PHYS_PAGES)), pageSize = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, pageSize > 0 else { return Int.max }
    return pages.multipliedReportingOverflow(by: pageSize).overflow ? Int.max : pages * pageSize
}()
