// A runtime's network poller (Go's netpoll): one epoll instance, made when
// the first descriptor registers, and an eventfd that wakes the processor
// sleeping in it. Nothing here runs on its own thread: the processors poll
// it from their run loop (`ProcessorPoll`), and one idle processor sleeps in
// it instead of on its parker.
//
// Each descriptor is registered once, edge-triggered, for reading, writing
// and the peer's half-close; the event's data is its tag, a slot index in
// `slots` and that slot's sequence number at registration. A descriptor that
// closes leaves its slot (and epoll) first, and the slot's next user gets a
// new sequence number, so an event already taken from the kernel for the old
// descriptor, delivered after the number was reused, matches no slot and is
// dropped.
//
// Invariants:
// - `slots`, `free` and `isOpen` are protected by `lock`. A slot holds the
//   descriptor registered with its index and current sequence, or nil (then
//   its index is in `free`). epoll_ctl runs under the lock, so a descriptor
//   is in epoll exactly while it is in its slot, and nothing registers after
//   `shutdown` closed the epoll and eventfd descriptors.
// - Only the processor holding the runtime's sleeper role (`timerSleeper`)
//   blocks in epoll, and only it reads the eventfd. `wakePending` is set by the
//   first waker's write and cleared by the sleeper once it has read it: one
//   write per sleep, however many wake it.
// - `waiters` counts the waits parked in descriptors' slots; each descriptor
//   changes it under its own lock, when it puts a waiter in a slot or takes
//   one out.
// - `sleeping` is true only while the sleeper is inside epoll_wait.

#if os(Linux)
import CGoConcurrencyPoll
import Glibc
import Synchronization
import SystemPackage

final class Poller: @unchecked Sendable {
    /// The epoll instance and the eventfd that breaks its sleep.
    let epoll: Int32
    let wakeDescriptor: Int32
    private let lock = Lock()
    private var slots: [Slot] = []
    private var free: [UInt32] = []
    private var isOpen = true
    /// Waits parked in descriptors' slots.
    let waiters = Atomic<Int>(0)
    /// Set while the sleeper is in epoll_wait: other processors then skip
    /// their non-blocking polls, which would find nothing it will not.
    let sleeping = Atomic<Bool>(false)
    /// Set by the write that wakes the sleeper, until it has read it.
    private let wakePending = Atomic<Bool>(false)
    /// When a poll last ended (`Monotonic.coarseNow()`): the starvation check's
    /// clock.
    let lastPoll = Atomic<UInt64>(0)

    /// The tag of the eventfd's events.
    static let wakeTag = UInt64.max
    /// Events taken per epoll_wait (the C side's batch).
    static let batch = 128

    private struct Slot {
        var sequence: UInt32 = 0
        var descriptor: PollDescriptor?
    }

    /// Makes the epoll instance and the eventfd (in epoll, level-triggered).
    init() throws(Errno) {
        let epoll = goconcurrency_epoll_create()
        if epoll < 0 { throw Errno(rawValue: errno) }
        let wake = goconcurrency_eventfd()
        if wake < 0 {
            let error = Errno(rawValue: errno)
            Glibc.close(epoll)
            throw error
        }
        if goconcurrency_epoll_add(epoll, wake, goconcurrency_poll_in, Poller.wakeTag) != 0 {
            let error = Errno(rawValue: errno)
            Glibc.close(wake)
            Glibc.close(epoll)
            throw error
        }
        self.epoll = epoll
        self.wakeDescriptor = wake
    }

    /// Adds `descriptor` to epoll (edge-triggered, both directions, once) and
    /// gives it its tag. False if the poller was shut down (its runtime ended).
    func register(_ descriptor: PollDescriptor) throws(Errno) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard isOpen else { return false }
        let index: UInt32
        if let reused = free.popLast() {
            index = reused
        } else {
            index = UInt32(slots.count)
            slots.append(Slot())
        }
        slots[Int(index)].sequence &+= 1
        let tag = UInt64(slots[Int(index)].sequence) << 32 | UInt64(index)
        let events = goconcurrency_poll_in | goconcurrency_poll_out | goconcurrency_poll_rdhup | goconcurrency_poll_pri | goconcurrency_poll_edge
        if goconcurrency_epoll_add(epoll, descriptor.fd, events, tag) != 0 {
            let error = Errno(rawValue: errno)
            free.append(index)
            throw error
        }
        slots[Int(index)].descriptor = descriptor
        descriptor.tag = tag
        return true
    }

    /// Takes `descriptor` out of epoll and frees its slot (before its number
    /// is closed).
    func deregister(_ descriptor: PollDescriptor) {
        lock.lock()
        defer { lock.unlock() }
        let index = Int(descriptor.tag & 0xFFFF_FFFF)
        guard isOpen, index < slots.count, slots[index].descriptor === descriptor else { return }
        _ = goconcurrency_epoll_remove(epoll, descriptor.fd)
        slots[index].descriptor = nil
        free.append(UInt32(index))
    }

    /// Descriptors registered now (for tests).
    var registeredCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return slots.count - free.count
    }

    /// Polls once: waits at most `timeout` nanoseconds (0: not at all; nil:
    /// until an event or a wake), and appends the waiters the readiness
    /// claimed to `ready`, for the caller to resume with no lock held. Only
    /// the sleeper (`sleeper`) consumes a wake; another poller leaves it for
    /// the sleeper. True if woken through the eventfd.
    @discardableResult
    func poll(timeout: UInt64?, sleeper: Bool, into ready: inout [Waiter]) -> Bool {
        withUnsafeTemporaryAllocation(of: goconcurrency_poll_event.self, capacity: Poller.batch) { events in
            let nanoseconds = timeout.map { Int64(clamping: $0) } ?? -1
            if sleeper { sleeping.store(true, ordering: .sequentiallyConsistent) }
            let count = goconcurrency_epoll_wait(epoll, events.baseAddress, Int32(Poller.batch), nanoseconds)
            if sleeper { sleeping.store(false, ordering: .sequentiallyConsistent) }
            lastPoll.store(Monotonic.coarseNow(), ordering: .relaxed)
            if count == 0 || count == -EINTR { return false }  // timeout, or a signal
            if count < 0 {
                // epoll refuses its own instance: nothing can be polled, and
                // going on would spin with every socket wait parked for ever.
                goFatal("GoRuntime: epoll_wait failed: \(Errno(rawValue: -count))")
            }
            return deliver(UnsafeBufferPointer(rebasing: events[0..<Int(count)]), sleeper: sleeper, into: &ready)
        }
    }

    /// Hands events to their descriptors; an event whose tag names no live
    /// registration (its descriptor closed, its slot maybe reused) is dropped.
    /// True if the batch held the eventfd's wake.
    func deliver(_ events: UnsafeBufferPointer<goconcurrency_poll_event>, sleeper: Bool, into ready: inout [Waiter]) -> Bool {
        // The descriptors found are retained (in a buffer on the stack: no
        // allocation per poll) until their readiness is handed over, after
        // the lock is released.
        withUnsafeTemporaryAllocation(of: (Unmanaged<PollDescriptor>, UInt32).self, capacity: events.count) { targets in
            var woken = false
            var found = 0
            lock.lock()
            for event in events {
                if event.tag == Poller.wakeTag {
                    woken = true
                    continue
                }
                let index = Int(event.tag & 0xFFFF_FFFF)
                let sequence = UInt32(truncatingIfNeeded: event.tag >> 32)
                guard index < slots.count, slots[index].sequence == sequence,
                      let descriptor = slots[index].descriptor else { continue }
                targets.initializeElement(at: found, to: (Unmanaged.passRetained(descriptor), event.events))
                found += 1
            }
            lock.unlock()
            if woken && sleeper {
                _ = goconcurrency_eventfd_drain(wakeDescriptor)
                wakePending.store(false, ordering: .sequentiallyConsistent)
            }
            let errors = goconcurrency_poll_err | goconcurrency_poll_hup
            let readable = goconcurrency_poll_in | goconcurrency_poll_rdhup | goconcurrency_poll_pri | errors
            // After these a short read no longer shows an empty receive
            // buffer (see `PollDescriptorState.readExceptional`).
            let exceptional = goconcurrency_poll_rdhup | goconcurrency_poll_pri | errors
            let writable = goconcurrency_poll_out | errors
            for index in 0..<found {
                let (descriptor, bits) = targets[index]
                var modes: PollModes = []
                if bits & readable != 0 { modes.insert(.read) }
                if bits & writable != 0 { modes.insert(.write) }
                if bits & exceptional != 0 { modes.insert(.readExceptional) }
                descriptor._withUnsafeGuaranteedRef { $0.readied(modes, into: &ready) }
                descriptor.release()
            }
            return woken
        }
    }

    /// Delivers one event as epoll would have returned it: `tag` and the
    /// epoll bits for reading or writing (for tests of late events).
    func deliver(tag: UInt64, readable: Bool, into ready: inout [Waiter]) {
        var event = goconcurrency_poll_event(events: readable ? goconcurrency_poll_in : goconcurrency_poll_out, tag: tag)
        _ = withUnsafePointer(to: &event) { deliver(UnsafeBufferPointer(start: $0, count: 1), sleeper: false, into: &ready) }
    }

    /// Breaks the sleeper's epoll_wait (called by its parker's `unpark`, with
    /// the parker's mutex held: the sleeper leaves the poll under that mutex,
    /// and its runtime closes the eventfd only after its last thread left).
    func wakeSleeper() {
        if wakePending.load(ordering: .relaxed) { return }
        if !wakePending.exchange(true, ordering: .sequentiallyConsistent) {
            _ = goconcurrency_eventfd_signal(wakeDescriptor)
        }
    }

    /// The runtime ended and its last thread left: every descriptor still
    /// registered fails its waits with `.closed` from now on, and the epoll
    /// and eventfd descriptors are closed. (The descriptors' own numbers stay
    /// open until their owners close them.)
    func shutdown() {
        lock.lock()
        guard isOpen else {
            lock.unlock()
            return
        }
        isOpen = false
        let registered = slots.compactMap(\.descriptor)
        slots.removeAll()
        free.removeAll()
        Glibc.close(wakeDescriptor)
        Glibc.close(epoll)
        lock.unlock()
        for descriptor in registered {
            descriptor.evict()
        }
    }
}
#endif
