// Go's bufio.Reader over a connection: reads in large chunks, hands out lines,
// delimited records and exact counts.

#if os(Linux)  // the poller is epoll's (NetUnavailable.swift elsewhere)

/// A buffer in front of a ``Conn`` (Go: `bufio.Reader`): it reads the
/// connection in chunks of up to its size and serves lines, delimited records
/// and exact byte counts from what it holds.
///
///     var reader = BufferedReader(conn)
///     while let line = try await reader.readLine() {
///         try await conn.write("echo: \(line)\n")
///     }
///     // nil: the peer closed the connection
///
/// It is a value with the reader's state: keep one per connection, in the one
/// task that reads (copies would each hold the same buffered bytes).
public struct BufferedReader: Sendable {
    /// The connection it reads.
    public let conn: Conn
    private var buffer: [UInt8]
    /// The unread bytes are `buffer[start..<end]`.
    private var start = 0
    private var end = 0
    /// Whether the connection reached its end.
    private var ended = false

    /// A reader of `conn` with a buffer of `size` bytes (at least 16; Go's
    /// default is 4096).
    public init(_ conn: Conn, size: Int = 4096) {
        self.conn = conn
        buffer = [UInt8](repeating: 0, count: max(size, 16))
    }

    /// How many bytes are buffered and not yet returned (Go: `Buffered`).
    public var buffered: Int { end - start }

    /// Reads more from the connection, after what is buffered. False at the
    /// end of the stream.
    nonisolated(nonsending)
    private mutating func fill(file: StaticString, line: UInt) async throws(NetError) -> Bool {
        if ended { return false }
        if start > 0 {
            // Move what is unread to the front.
            buffer.withUnsafeMutableBytes { raw in
                raw.baseAddress!.copyMemory(from: raw.baseAddress! + start, byteCount: end - start)
            }
            end -= start
            start = 0
        }
        if end == buffer.count { return true }
        let count = try await conn.read(into: &buffer, at: end, file: file, line: line)
        if count == 0 {
            ended = true
            return false
        }
        end += count
        return true
    }

    /// Reads up to `into.count` bytes: from the buffer if it holds any, else
    /// straight from the connection (Go: `Read`). 0 at the end of the stream.
    nonisolated(nonsending)
    public mutating func read(into target: inout [UInt8], file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> Int {
        if target.isEmpty { return 0 }
        if start == end {
            if ended { return 0 }
            if target.count >= buffer.count {
                // A large read skips the buffer.
                let count = try await conn.read(into: &target, at: 0, file: file, line: line)
                if count == 0 { ended = true }
                return count
            }
            if !(try await fill(file: file, line: line)) { return 0 }
        }
        let count = min(target.count, end - start)
        target.withUnsafeMutableBytes { to in
            buffer.withUnsafeBytes { from in
                to.baseAddress!.copyMemory(from: from.baseAddress! + start, byteCount: count)
            }
        }
        start += count
        return count
    }

    /// Reads one byte (Go: `ReadByte`); nil at the end of the stream.
    nonisolated(nonsending)
    public mutating func readByte(file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> UInt8? {
        if start == end, !(try await fill(file: file, line: line)) { return nil }
        let byte = buffer[start]
        start += 1
        return byte
    }

    /// Reads through the first `delimiter` (Go: `ReadBytes`): the bytes up to
    /// and including it. If the stream ends first, what was left, without a
    /// delimiter; nil if nothing was left.
    nonisolated(nonsending)
    public mutating func readBytes(through delimiter: UInt8, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> [UInt8]? {
        var record: [UInt8] = []
        var searched = start
        while true {
            if let found = buffer[searched..<end].firstIndex(of: delimiter) {
                record.append(contentsOf: buffer[start...found])
                start = found + 1
                return record
            }
            if end - start == buffer.count {
                // A full buffer with no delimiter: keep it and read on.
                record.append(contentsOf: buffer[start..<end])
                start = end
            }
            let unread = end - start
            if !(try await fill(file: file, line: line)) {
                record.append(contentsOf: buffer[start..<end])
                start = end
                return record.isEmpty ? nil : record
            }
            searched = start + unread
        }
    }

    /// Reads one line (Go: `ReadString('\n')` with the line end cut off): the
    /// text up to `\n`, without it or a `\r` before it. At the end of the
    /// stream, the last line if it had no `\n`; nil if nothing was left.
    nonisolated(nonsending)
    public mutating func readLine(file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> String? {
        guard var bytes = try await readBytes(through: UInt8(ascii: "\n"), file: file, line: line) else { return nil }
        if bytes.last == UInt8(ascii: "\n") {
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Reads exactly `count` bytes (Go: `io.ReadFull`); nil if the stream had
    /// already ended.
    ///
    /// - Throws: ``NetError/unexpectedEOF`` if it ends after some of them, or
    ///   what the connection's read throws.
    nonisolated(nonsending)
    public mutating func readExactly(_ count: Int, file: StaticString = #fileID, line: UInt = #line) async throws(NetError) -> [UInt8]? {
        var result: [UInt8] = []
        result.reserveCapacity(count)
        while result.count < count {
            if start == end, !(try await fill(file: file, line: line)) {
                if result.isEmpty && count > 0 { return nil }
                throw .unexpectedEOF
            }
            let take = min(count - result.count, end - start)
            result.append(contentsOf: buffer[start..<(start + take)])
            start += take
        }
        return result
    }
}

#endif
