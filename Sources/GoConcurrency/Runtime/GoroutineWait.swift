// A goroutine's wait record: what it is parked on and where, written by the
// one parking path (`Parking`) as one atomic word, and read by dumps, the
// deadlock check and the watchdog from other threads. The fields it uses
// (`waitWord`, `waitFile`, `waitSince`) are declared with the record, in
// Goroutine.swift.

import Synchronization

extension Goroutine {
    /// The flag of `waitWord` saying the wait may be ended from outside the
    /// runtime.
    @usableFromInline static let outsideBit: UInt64 = 1 << 31

    /// The goroutine whose root task is `task`, if it is one: its parks are
    /// recorded, and such a task cannot be cancelled (`go` hands out no
    /// handle) unless the goroutine is `cancellable`.
    ///
    /// Unretained: the goroutine's task is the caller, so the record lives at
    /// least as long as the call that asks (the task that runs the goroutine
    /// holds it until the body has returned), and a park holds no reference
    /// that the plain-task count could see.
    @inlinable
    static func rooted(at task: TaskIdentity) -> Unmanaged<Goroutine>? {
        guard let goroutine = currentUnretained(task: task),
              goroutine._withUnsafeGuaranteedRef({ $0.rootTask.load(ordering: .relaxed) }) == task.bits
        else { return nil }
        return goroutine
    }

    /// Records that the goroutine parks for `reason` at `location`.
    @inlinable
    func parked(_ reason: WaitReason, at location: SourceLocation, outside: Bool = false) {
        let line = UInt64(min(location.line, UInt(UInt32.max)))
        let length = UInt64(min(location.fileLength, 0x7F_FFFF))
        waitFile.store(UInt(bitPattern: location.file), ordering: .relaxed)
        waitSince.store(0, ordering: .relaxed)  // stamped by the first reader
        waitWord.store(reason.code | length << 8 | line << 32 | (outside ? Goroutine.outsideBit : 0), ordering: .releasing)
    }

    /// Records that the goroutine runs again.
    @inlinable
    func unparked() {
        waitWord.store(0, ordering: .releasing)
    }

    /// What it waits for now, if it is parked.
    var waitingFor: Wait? {
        while true {
            let word = waitWord.load(ordering: .acquiring)
            if word == 0 { return nil }
            let file = waitFile.load(ordering: .acquiring)
            var since = waitSince.load(ordering: .acquiring)
            if since == 0 {
                // The first to see this wait stamps when it began (Go stamps
                // waitsince lazily too): a park costs no clock read.
                let now = Monotonic.coarseNow()
                let (exchanged, current) = waitSince.compareExchange(expected: 0, desired: now, ordering: .acquiringAndReleasing)
                since = exchanged ? now : current
            }
            guard waitWord.load(ordering: .acquiring) == word else { continue }
            guard let reason = WaitReason(code: word & 0xFF),
                  let pointer = UnsafePointer<UInt8>(bitPattern: file)
            else { return nil }
            let location = SourceLocation(file: pointer, fileLength: Int((word >> 8) & 0x7F_FFFF), line: UInt(word >> 32))
            return Wait(reason: reason, location: location, since: since,
                        outside: word & Goroutine.outsideBit != 0, word: word)
        }
    }

    /// One wait, as read from the record.
    struct Wait {
        let reason: WaitReason
        let location: SourceLocation
        /// `Monotonic.coarseNow()` when it was first seen (it began then or
        /// before).
        let since: UInt64
        /// Whether code outside the runtime may end it.
        let outside: Bool
        /// The raw record, to tell later whether the goroutine has moved.
        let word: UInt64
    }
}
