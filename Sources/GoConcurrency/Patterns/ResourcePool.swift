// The seed's Pool pattern: resources shared by goroutines, reused instead of
// made anew.
//
// Invariants (the idle resources sit in a buffered channel of the pool's
// capacity, and the pool is closed exactly when that channel is, so the
// channel's lock orders every release against the close):
// - An idle resource is in `idle` or was closed, never both, never lost:
//   `release` either queues it (room left, pool open) or closes it.
// - Closing is one transition, taken once: the first `close` swaps `closing`
//   from false to true, then closes `idle` and every resource still buffered
//   (a resource released afterwards finds the channel closed and is closed at
//   once), then closes `closed`. A `close` that finds `closing` taken waits
//   for `closed`, so every `close` returns after the idle resources are closed.
// - `acquire` reads `closing` first: once a close has begun it throws `Closed`
//   and takes nothing from `idle`. An acquire that overlaps the close may
//   still take an idle resource; the channel hands each buffered resource to
//   one party only, that acquire or the close.

import Synchronization


/// A pool of reusable resources (the seed's `pool` package): `acquire` hands
/// out an idle one or makes a new one, `release` keeps up to `capacity` idle
/// ones and closes the rest, `close` closes them all, once.
///
///     let connections = ResourcePool(capacity: 2) {
///         try await Database.connect()
///     } close: { connection in
///         await connection.close()
///     }
///     let connection = try await connections.acquire()
///     defer { Task { await connections.release(connection) } }
public final class ResourcePool<Resource: Sendable>: Sendable {
    /// The pool was closed.
    public struct Closed: Error, CustomStringConvertible {
        public var description: String { "ResourcePool: the pool has been closed" }
    }

    public let capacity: Int
    private let idle: Chan<Resource>
    private let make: @Sendable () async throws -> Resource
    private let closeResource: @Sendable (Resource) async -> Void
    /// Set by the first `close`, the one that closes the resources.
    private let closing = Atomic<Bool>(false)
    /// Closed by the first `close` once every idle resource is closed.
    private let closed = Chan<Void>()

    /// - Parameters:
    ///   - capacity: how many idle resources it keeps (more may be in use).
    ///   - make: makes a resource when none is idle.
    ///   - close: closes a resource the pool does not keep.
    /// - Precondition: `capacity > 0` (Go's "Size value too small.").
    public init(
        capacity: Int,
        make: @escaping @Sendable () async throws -> Resource,
        close: @escaping @Sendable (Resource) async -> Void
    ) {
        if capacity <= 0 { goPanic("ResourcePool: Size value too small.", detail: "ResourcePool(capacity: \(capacity)): it keeps at least one resource.") }
        self.capacity = capacity
        self.idle = Chan(capacity: capacity)
        self.make = make
        self.closeResource = close
    }

    /// An idle resource if there is one, else a new one.
    ///
    /// - Throws: ``Closed`` once the pool is closed; what `make` throws.
    public func acquire() async throws -> Resource {
        if closing.load(ordering: .acquiring) { throw Closed() }
        switch idle.tryReceive() {
        case .value(let resource):
            return resource
        case .closed:
            throw Closed()
        case .empty:
            return try await make()
        }
    }

    /// Gives `resource` back: kept if there is room and the pool is open,
    /// closed otherwise.
    public func release(_ resource: Resource) async {
        if idle.trySend(resource) != .sent {  // full, or the pool is closed
            await closeResource(resource)
        }
    }

    /// How many idle resources it holds now.
    public var idleCount: Int { idle.count }

    /// Closes the pool and every idle resource, once. A call that comes while
    /// another is closing, or after it, closes nothing and returns once that
    /// one has closed the idle resources. Every `acquire` that starts after a
    /// `close` has begun throws ``Closed``.
    public func close() async {
        guard !closing.exchange(true, ordering: .acquiringAndReleasing) else {
            // Returns when the first close closes it, even if this caller
            // is cancelled meanwhile.
            let closed = closed
            await waitThroughCancellation { _ = try await closed.receive() }
            return
        }
        try? idle.close()
        // A closed channel still gives up what it buffers, then reports closed.
        while let resource = idle.tryReceive().value {
            await closeResource(resource)
        }
        try? closed.close()
    }
}
