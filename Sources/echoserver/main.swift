// The echo server of the net compare: Go's anchor (a goroutine per connection,
// reading into a 4 KiB buffer and writing back what it read), in Swift.
//
//     echoserver -addr 127.0.0.1:7000             # parked on the network poller
//     echoserver -addr 127.0.0.1:7000 --blocking  # a thread per blocked call
//
// It prints "listening <addr>" once it accepts connections, and runs its
// goroutines on `GoRuntime.shared` (GOMAXPROCS processors).

#if os(Linux)  // GoConcurrency's network poller is epoll's

import ArgumentParser
import GoConcurrency

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct EchoServer: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echoserver",
        abstract: "A TCP echo server: a goroutine per connection, echoing every byte until the client closes."
    )

    @Option(name: .customLong("addr", withSingleDash: true), help: "The address to listen on (HOST:PORT).")
    var address = "127.0.0.1:7000"

    @Flag(help: "Serve with blocking { } system calls on blocking sockets instead of the network poller.")
    var blocking = false

    func run() throws {
        let address = self.address
        if blocking {
            GoRuntime.main { try await BlockingEchoServer.serve(address) }
        }
        GoRuntime.main { try await serve(address) }
    }
}

/// The server on the poller: Go's anchor, line for line.
func serve(_ address: String) async throws {
    let listener = try Net.listen(.tcp, address)
    print("listening \(listener.address)")
    fflush(nil)
    while true {
        let conn: Conn
        do {
            conn = try await listener.accept()
        } catch {
            printError("accept: \(error)")
            continue
        }
        go { await echo(conn) }
    }
}

/// Echoes what `conn` sends until it closes, then closes it.
func echo(_ conn: Conn) async {
    defer { conn.close() }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 16)
    defer { buffer.deallocate() }
    while true {
        guard let count = try? await conn.read(into: buffer), count > 0 else { return }
        do {
            try await conn.write(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        } catch {
            return
        }
    }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

EchoServer.main()

#else

print("echoserver: GoConcurrency's network poller needs epoll (Linux)")

#endif
