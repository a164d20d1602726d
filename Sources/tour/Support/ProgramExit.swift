// An example program that ends the way Go's os.Exit(status) ends one.


/// Thrown by an example where its Go program calls `os.Exit(status)`: the
/// player shows the status, and a tour that played only that example exits
/// with it (`swift run tour runner` exits 1 on timeout, 2 on interrupt).
struct ProgramExit: Error {
    let status: Int32

    /// The status of the last example that exited this way, if any.
    static let last = Guarded<Int32?>(nil)
}
