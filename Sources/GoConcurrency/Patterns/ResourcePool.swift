// The seed's Pool pattern: resources shared by goroutines, reused instead of
// made anew.
//
// Invariants (the idle resources sit in a buffered channel of the pool's
// capacity, and the pool is closed exactly when that channel is, so the
// channel's lock orders every release against the close):
// - An idle resource is in `idle` or was closed, never both, never lost:
//   `release` either queues it (room left, pool open) or closes it.
// - `close` runs once (only the first close of `idle` succeeds): it closes
//   every resource still buffered; a resource released afterwards finds the
//   channel closed and is closed at once. `acquire` after close throws `Closed`.


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

    /// Closes the pool and every idle resource, once; later calls do nothing.
    public func close() async {
        guard (try? idle.close()) != nil else { return }  // closed already
        // A closed channel still gives up what it buffers, then reports closed.
        while let resource = idle.tryReceive().value {
            await closeResource(resource)
        }
    }
}
