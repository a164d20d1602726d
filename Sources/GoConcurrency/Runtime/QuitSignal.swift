// SIGQUIT (Ctrl-\) dumps every goroutine and ends the program, as in Go: part
// of the runtime (as it is of Go's), which `GoRuntime.main` turns on.
//
// The signal handler only writes one byte to a pipe (write is
// async-signal-safe); a thread of its own, blocked reading the pipe, makes the
// dump and exits. A plain handler rather than a Dispatch signal source, so
// that the dump needs no Dispatch queue to run: it is for programs that are
// stuck, whatever they are stuck on.
//
// Invariants: installed at most once per process (`installed`); the pipe's
// write end is in `pipeWriteEnd` before the handler is.

import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

enum QuitSignal {
    private static let installed = Atomic<Bool>(false)
    private static let pipeWriteEnd = Atomic<Int32>(-1)

    /// From now on SIGQUIT prints "SIGQUIT: quit", a blank line and the dump
    /// of every goroutine to standard error, and exits with status 2.
    static func install() {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        var ends: [Int32] = [0, 0]
        guard pipe(&ends) == 0 else { return }
        pipeWriteEnd.store(ends[1], ordering: .releasing)
        let readEnd = ends[0]
        var thread = pthread_t()
        let started = pthread_create(&thread, nil, { context in
            let readEnd = Int32(Int(bitPattern: context))
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) != 1 {}
            writeToStandardError("SIGQUIT: quit\n\n\(GoRuntime.dump())\n")
            GoRuntime.exitProgram(2)
        }, UnsafeMutableRawPointer(bitPattern: Int(readEnd)))
        guard started == 0 else { return }
        pthread_detach(thread)
        SignalHandler.install(SIGQUIT) { _ in
            var byte: UInt8 = 1
            _ = write(QuitSignal.pipeWriteEnd.load(ordering: .relaxed), &byte, 1)
        }
    }
}

extension GoRuntime {
    /// Makes SIGQUIT (Ctrl-\) print a dump of every goroutine and end the
    /// program with status 2, as Go does. ``main(route:file:line:_:)`` turns it
    /// on; other programs may call this once at start.
    public static func dumpGoroutinesOnQuitSignal() {
        QuitSignal.install()
    }
}
