// A weighted semaphore (Go: golang.org/x/sync/semaphore): a thin type over
// `SyncStorage`.
//
// Invariants (in the storage, under its lock): 0 <= held <= capacity, and
// waiters are granted in FIFO order, so a large request at the head holds
// back smaller ones behind it and is never starved (as x/sync does).

extension Sync {
    /// Bounds access to a resource by weight (Go: `semaphore.Weighted`).
    ///
    ///     let slots = Sync.Semaphore(capacity: 4)
    ///     try await slots.acquire()
    ///     defer { slots.release() }
    public final class Semaphore: Sendable {
        /// The total weight it admits at once.
        public let capacity: Int
        /// The weight held.
        private let storage: SyncStorage<Int>

        /// - Precondition: `capacity > 0`.
        public init(capacity: Int) {
            if capacity <= 0 { goPanic("semaphore: capacity must be positive, got \(capacity)") }
            self.capacity = capacity
            self.storage = SyncStorage(0) { held, waiters in
                Semaphore.grant(&held, &waiters, capacity: capacity)
            }
        }

        /// Waits until `weight` is free and takes it.
        ///
        /// - Precondition: `0 < weight <= capacity` (a larger request could never be granted).
        /// - Throws: `CancellationError` if the waiting task is cancelled (it then holds nothing).
        public func acquire(_ weight: Int = 1, file: StaticString = #fileID, line: UInt = #line) async throws {
            if weight <= 0 || weight > capacity {
                goPanic("semaphore: cannot acquire \(weight) of a capacity of \(capacity)")
            }
            let capacity = self.capacity
            try await storage.wait(reason: .semacquire, at: SourceLocation(fileID: file, line: line), weight: weight) { held, waiters in
                guard waiters.isEmpty && held + weight <= capacity else { return false }
                held += weight
                return true
            }
        }

        /// Takes `weight` if it is free now and nobody waits; false otherwise.
        public func tryAcquire(_ weight: Int = 1) -> Bool {
            let capacity = self.capacity
            return storage.update { held, waiters in
                guard waiters.isEmpty && held + weight <= capacity else { return (false, []) }
                held += weight
                return (true, [])
            }
        }

        /// Gives back `weight`, granting waiters that now fit.
        ///
        /// - Precondition: no more than is held ("semaphore: released more than held").
        public func release(_ weight: Int = 1) {
            let capacity = self.capacity
            let valid = storage.update { held, waiters -> (Bool, [SyncWaiter]) in
                guard weight > 0 && weight <= held else { return (false, []) }
                held -= weight
                return (true, Semaphore.grant(&held, &waiters, capacity: capacity))
            }
            if !valid { goPanic("semaphore: released more than held", detail: "Semaphore.release(\(weight)).") }
        }

        /// The weight held now (for diagnostics).
        public var inUse: Int {
            storage.read { held, _ in held }
        }

        /// Takes out the waiters at the head whose weight now fits.
        private static func grant(_ held: inout Int, _ waiters: inout SyncWaiters, capacity: Int) -> [SyncWaiter] {
            var granted: [SyncWaiter] = []
            while let first = waiters.first, held + first.weight <= capacity {
                held += first.weight
                granted.append(waiters.popFirst()!)
            }
            return granted
        }

        /// How many tasks wait (for tests: `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            storage.waitingCount
        }
    }
}
