// Go's `sync` package (and x/sync's semaphore and errgroup), as `Sync.WaitGroup`,
// `Sync.Mutex`, ... — the way Go code says `sync.WaitGroup`. The namespace also
// keeps `Sync.Mutex` apart from the Synchronization module's `Mutex`, which
// blocks threads; these park tasks, and may be held across suspension points.

/// Go's `sync` package: primitives that park the waiting goroutine (or task),
/// never its thread.
public enum Sync {}
