// The tour's entry point: Go's `func main()`. The command line is read first
// (that needs no task), then the tour plays as the main goroutine, and the
// program ends when it returns, as a Go program does.

import GoConcurrency

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let tour = Tour.parseOrExit()
if tour.list {
    tour.printList()
    exit(0)
}
if let program = tour.program {
    GoRuntime.main(route: tour.route) {
        try await tour.runProgram(program)
    }
}
GoRuntime.main(route: tour.route) {
    var status = await tour.play()
    // One example played that ended with Go's os.Exit: exit as it did.
    if tour.names.count == 1, let exitStatus = ProgramExit.last.withLock({ $0 }), status == 0 {
        status = exitStatus
    }
    if status != 0 {
        fflush(nil)
        exit(status)
    }
}
