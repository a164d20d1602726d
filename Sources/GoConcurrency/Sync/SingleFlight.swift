// x/sync's singleflight: one call in flight per key, the callers that come
// meanwhile share its outcome. A thin type over `SingleFlightStorage`, which
// owns the lock, the calls in flight and the tasks parked on them.
//
// Invariants (in the storage, under its lock):
// - `calls[key]` is the call in flight for `key`, if any; a call leaves the
//   map when it ends or is forgotten, and an ended call never takes the place
//   of a newer one (`forget` then a new call).
// - A call's `outcome` is set once, when its body ends; from then on nobody
//   parks on it, and its waiters (taken out all at once) are resumed after the
//   lock is released, its channels sent to after it too.
// - `duplicates` counts the callers that joined the call and did not give up
//   before its end: it is read at the end, so the leader's `shared` is true
//   exactly when some other caller gets the same outcome. A waiter cancelled
//   before the end leaves the queue and the count together; one the end
//   reached first gets the outcome, cancelled or not.

/// One call in flight. Protected by its storage's lock.
final class FlightCall<Value: Sendable>: @unchecked Sendable {
    var outcome: Result<Value, any Error>?
    var duplicates = 0
    var waiters = SyncWaiters()
    /// Where `start` callers receive the outcome (buffered: the sends never wait).
    var channels: [Chan<Sync.FlightOutcome<Value>>] = []
}

final class SingleFlightStorage<Key: Hashable & Sendable, Value: Sendable>: WaitObject, @unchecked Sendable {
    private let lock = Lock()
    /// Protected by `lock`.
    private var calls: [Key: FlightCall<Value>] = [:]

    /// What a caller of `key` is: the leader of a new call, which runs the
    /// body, or a duplicate of the call in flight.
    enum Role {
        case leader(FlightCall<Value>)
        case duplicate(FlightCall<Value>)
    }

    /// Joins the call in flight for `key`, or starts one; `channel` is where
    /// a `start` caller receives the outcome.
    func enter(_ key: Key, channel: Chan<Sync.FlightOutcome<Value>>? = nil) -> Role {
        lock.lock()
        defer { lock.unlock() }
        if let call = calls[key] {
            call.duplicates += 1
            if let channel { call.channels.append(channel) }
            return .duplicate(call)
        }
        let call = FlightCall<Value>()
        if let channel { call.channels.append(channel) }
        calls[key] = call
        return .leader(call)
    }

    /// The leader runs `body`; every duplicate gets its outcome. Returns
    /// the outcome, and whether a duplicate got it too (Go's `shared`).
    func lead(
        _ key: Key,
        _ call: FlightCall<Value>,
        _ body: () async throws -> Value
    ) async -> (outcome: Result<Value, any Error>, shared: Bool) {
        let outcome: Result<Value, any Error>
        do {
            outcome = .success(try await body())
        } catch {
            outcome = .failure(error)
        }
        return (outcome, finish(key, call, with: outcome))
    }

    private func finish(_ key: Key, _ call: FlightCall<Value>, with outcome: Result<Value, any Error>) -> Bool {
        var woken: [SyncWaiter] = []
        lock.lock()
        call.outcome = outcome
        if calls[key] === call { calls[key] = nil }
        while let waiter = call.waiters.popFirst() { woken.append(waiter) }
        let shared = call.duplicates > 0
        let channels = call.channels
        call.channels = []
        lock.unlock()
        for waiter in woken { waiter.continuation.resume() }
        for channel in channels {
            _ = channel.trySend(Sync.FlightOutcome(result: outcome, shared: shared))  // its one buffered slot
        }
        return shared
    }

    /// A duplicate waits for the call's outcome.
    ///
    /// - Throws: `CancellationError` if the task is cancelled before the call
    ///   ends; it then no longer counts as sharing it.
    func outcome(of call: FlightCall<Value>, at location: SourceLocation) async throws -> Result<Value, any Error> {
        try await parkOnSync(reason: .singleFlight, at: location, on: self) { waiter in
            lock.lock()
            defer { lock.unlock() }
            if call.outcome != nil { return .granted }
            if SyncWaiter.callerIsCancelled {
                call.duplicates -= 1
                return .cancelled
            }
            call.waiters.append(waiter)
            return .queued
        } cancel: { task in
            self.lock.lock()
            defer { self.lock.unlock() }
            let removed = call.waiters.remove(task)
            if removed != nil { call.duplicates -= 1 }
            return removed
        }
        lock.lock()
        defer { lock.unlock() }
        return call.outcome!
    }

    func forget(_ key: Key) {
        lock.lock()
        calls[key] = nil
        lock.unlock()
    }

    /// How many tasks wait for the call in flight for `key`.
    func waitingCount(for key: Key) -> Int {
        lock.lock()
        defer { lock.unlock() }
        return calls[key]?.waiters.count ?? 0
    }
}

extension Sync {
    /// The outcome of a ``SingleFlight`` call, as ``SingleFlight/start(_:file:line:_:)``
    /// delivers it on its channel (Go: `singleflight.Result`).
    public struct FlightOutcome<Value: Sendable>: Sendable {
        /// The body's value or error.
        public let result: Result<Value, any Error>
        /// Whether the outcome went to more than one caller (Go: `Shared`).
        public let shared: Bool

        /// The value, or the body's error thrown.
        public func get() throws -> Value {
            try result.get()
        }
    }

    /// Suppresses duplicate work (Go: x/sync's `singleflight.Group`): one
    /// call in flight per key; the callers that ask for the same key while it
    /// runs wait for it and get its value, or its error.
    ///
    /// ```go
    /// var group singleflight.Group
    ///
    /// v, err, shared := group.Do(user, func() (any, error) {
    ///     return loadProfile(user)
    /// })
    /// ```
    ///
    /// ```swift
    /// let group = Sync.SingleFlight<String, Profile>()
    ///
    /// let (profile, shared) = try await group.run(user) {
    ///     try await loadProfile(user)
    /// }
    /// ```
    ///
    /// Cancellation, which Go's singleflight does not have:
    /// - a caller waiting for another's call that is cancelled stops waiting
    ///   and throws `CancellationError`; the call goes on, and the others
    ///   still get its outcome;
    /// - the caller running the body (the first for its key) runs it in its
    ///   own task, so when that task is cancelled the body sees it (its
    ///   channel operations and sync waits throw `CancellationError`, and
    ///   `Task.isCancelled` is true); whatever the body then returns or
    ///   throws is what every waiting caller gets.
    ///
    /// Waiting callers park (goroutines, never threads), are listed in dumps
    /// as `singleflight.Group.Do` with their line, and count for the
    /// deadlock check (a body that waits for its own key is stuck).
    public final class SingleFlight<Key: Hashable & Sendable, Value: Sendable>: Sendable {
        private let storage = SingleFlightStorage<Key, Value>()

        public init() {}

        /// Runs `body` unless a call for `key` is in flight; then waits for
        /// that one and returns its value or throws its error (Go: `Do`).
        ///
        /// - Returns: the value, and whether it went to more than one caller
        ///   (Go's `shared`: always true for a caller that waited).
        /// - Throws: the body's error; a waiting caller's `CancellationError`
        ///   if its task is cancelled while it waits.
        public func run(
            _ key: Key,
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: () async throws -> Value
        ) async throws -> (value: Value, shared: Bool) {
            switch storage.enter(key) {
            case .leader(let call):
                let (outcome, shared) = await storage.lead(key, call, body)
                return (try outcome.get(), shared)
            case .duplicate(let call):
                let outcome = try await storage.outcome(of: call, at: SourceLocation(fileID: file, line: line))
                return (try outcome.get(), true)
            }
        }

        /// Starts `body` on a new goroutine unless a call for `key` is in
        /// flight, and returns at once a channel that receives the call's
        /// outcome, once (Go: `DoChan`). The channel is never closed. An
        /// error of `body` goes in the outcome; it is not a panic.
        public func start(
            _ key: Key,
            file: StaticString = #fileID,
            line: UInt = #line,
            _ body: @escaping @Sendable () async throws -> Value
        ) -> ReceiveOnlyChan<FlightOutcome<Value>> {
            let channel = Chan<FlightOutcome<Value>>(capacity: 1)
            if case .leader(let call) = storage.enter(key, channel: channel) {
                GoConcurrency.go(file: file, line: line) { [storage] in
                    _ = await storage.lead(key, call, body)
                }
            }
            return channel.receiveOnly
        }

        /// Forgets the call in flight for `key` (Go: `Forget`): the next call
        /// for `key` runs its body again instead of waiting. Those already
        /// waiting still get the forgotten call's outcome.
        public func forget(_ key: Key) {
            storage.forget(key)
        }

        /// How many tasks wait for the call in flight for `key` (for tests:
        /// `@_spi(Testing) import GoConcurrency`).
        @_spi(Testing) public func waitingCount(for key: Key) -> Int {
            storage.waitingCount(for: key)
        }
    }
}
