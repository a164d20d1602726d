// Go's sync.WaitGroup: a thin type over `SyncStorage`.
//
// Invariants (in the storage, under its lock): the counter is never negative
// (a change that would make it so traps before anything changes, Go's "sync:
// negative WaitGroup counter"), and no task waits while it is zero: the change
// that brings it to zero grants every waiter.

extension Sync {
    /// Waits for a collection of goroutines to finish (Go: `sync.WaitGroup`).
    ///
    ///     let group = Sync.WaitGroup()
    ///     for url in urls {
    ///         group.go { try await fetch(url) }
    ///     }
    ///     try await group.wait()
    ///
    /// Everything a goroutine did before its `done()` happens before the
    /// `wait()` it releases returns (Guarantees, rule 34).
    public final class WaitGroup: Sendable {
        private let storage = SyncStorage(0)

        public init() {}

        /// Adds `delta` (which may be negative) to the counter; when it reaches
        /// zero, every `wait` returns.
        ///
        /// - Precondition: the counter stays at zero or above ("sync: negative
        ///   WaitGroup counter", a programmer error, as in Go) and within
        ///   `Int` ("sync: WaitGroup counter overflow").
        public func add(_ delta: Int = 1) {
            let result = storage.update { counter, waiters -> (Int?, [SyncWaiter]) in
                let (new, overflow) = counter.addingReportingOverflow(delta)
                guard !overflow, new >= 0 else { return (overflow ? nil : new, []) }
                counter = new
                var released: [SyncWaiter] = []
                if new == 0 {
                    while let waiter = waiters.popFirst() { released.append(waiter) }
                }
                return (new, released)
            }
            guard let result else {
                goPanic("sync: WaitGroup counter overflow", detail: "WaitGroup.add(\(delta)) took the counter past Int.max.")
            }
            if result < 0 {
                goPanic("sync: negative WaitGroup counter", detail: "WaitGroup.add(\(delta)) or done() with the counter at \(result - delta).")
            }
        }

        /// Subtracts one from the counter (Go: `wg.Done()`).
        public func done() {
            add(-1)
        }

        /// Starts `body` as a goroutine counted by the group: `add(1)` now,
        /// `done()` when it returns or throws (Go 1.25: `wg.Go(f)`). An error
        /// escaping `body` is a goroutine panic, as with `go`, and, as with
        /// `go`, without `on` it runs on the runtime of the goroutine that
        /// calls this (``GoRuntime/shared`` outside goroutines).
        public func go(
            on runtime: GoRuntime? = nil,
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Void
        ) {
            add(1)
            GoConcurrency.go(on: runtime, file: file, line: line) {
                defer { self.done() }
                try await body()
            }
        }

        /// The counter now (for diagnostics).
        public var count: Int {
            storage.read { counter, _ in counter }
        }

        /// How many tasks wait for the counter to reach zero (for tests:
        /// `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public var waitingCount: Int {
            storage.waitingCount
        }

        /// Waits until the counter is zero; returns at once if it is.
        ///
        /// - Throws: `CancellationError` if the waiting task is cancelled.
        public func wait(file: StaticString = #fileID, line: UInt = #line) async throws {
            if count == 0 { return }
            try await storage.wait(reason: .semacquire, at: SourceLocation(fileID: file, line: line)) { counter, _ in
                counter == 0
            }
        }
    }
}
