// Every park goes through one path that records what a goroutine waits on and
// where: the record the runtime's goroutine dump and deadlock detection read.

import Foundation
import Testing
@testable import GoConcurrency

@Suite("Wait records")
struct WaitRecordTests {
    /// Starts a goroutine that hands out its record and then runs `park`.
    private func goroutine(parkingWith park: @escaping @Sendable () async throws -> Void) async throws -> Goroutine {
        let records = Chan<Goroutine>(capacity: 1)
        go {
            try await records.send(Goroutine.current!)
            try await park()
        }
        return try await records.receive()!
    }

    @Test func a_goroutine_parked_in_receive_records_chan_receive_and_the_line() async throws {
        let never = Chan<Int>()
        let line: UInt = #line + 1
        let record = try await goroutine { _ = try await never.receive() }
        try await waitUntil("the goroutine parks") { record.waitingFor != nil }
        #expect(record.waitingFor?.reason == .channelReceive)
        #expect(record.waitingFor?.location.line == line)
        #expect(record.waitingFor?.location.fileID == "GoConcurrencyTests/WaitRecordTests.swift")
        #expect(record.startedAt.fileID == "GoConcurrencyTests/WaitRecordTests.swift")

        // When the channel closes, it wakes and the record says it runs.
        try never.close()
        try await waitUntil("the goroutine runs again") { record.waitingFor == nil }
    }

    @Test func a_goroutine_parked_in_send_records_chan_send() async throws {
        let full = Chan<Int>()
        let record = try await goroutine { try await full.send(1) }
        try await waitUntil("the goroutine parks") { record.waitingFor != nil }
        #expect(record.waitingFor?.reason == .channelSend)
        #expect(try await full.receive() == 1)
        try await waitUntil("the goroutine runs again") { record.waitingFor == nil }
    }

    @Test func a_goroutine_parked_in_select_records_select() async throws {
        let a = Chan<Int>(), b = Chan<Int>()
        let record = try await goroutine {
            try await select {
                a.onReceive { _ in }
                b.onReceive { _ in }
            }
        }
        try await waitUntil("the goroutine parks") { record.waitingFor != nil }
        #expect(record.waitingFor?.reason == .select)
        try await b.send(2)
        try await waitUntil("the goroutine runs again") { record.waitingFor == nil }
    }

    @Test func a_goroutine_in_a_select_with_no_enabled_case_records_select_no_cases() async throws {
        let gone: Chan<Int>? = nil
        let record = try await goroutine {
            try await select {
                gone?.onReceive { _ in }
            }
        }
        try await waitUntil("the goroutine parks") { record.waitingFor != nil }
        #expect(record.waitingFor?.reason == .selectNoCases)
    }

    @Test func a_sleeping_goroutine_records_sleep() async throws {
        let record = try await goroutine { try await sleep(for: .seconds(3600)) }
        try await waitUntil("the goroutine parks") { record.waitingFor != nil }
        #expect(record.waitingFor?.reason == .sleep)
    }

    @Test func goroutine_ids_count_up_in_the_order_go_started_them() async throws {
        let first = try await goroutine {}
        let second = try await goroutine {}
        #expect(second.id > first.id)
    }
}

@Suite("Optional elements")
struct OptionalElementTests {
    @Test func a_nil_sent_to_a_parked_select_arrives_as_a_value_not_as_closed() async throws {
        // Given a channel of optionals and a select parked on it
        let channel = Chan<Int?>()
        let result = Chan<String>(capacity: 1)
        go {
            let got = try await select {
                channel.onReceive { value in value.map { "value \(String(describing: $0))" } ?? "closed" }
            }
            try await result.send(got)
        }
        try await waitUntil("the select parks") { channel.trySend(nil) == .sent }
        // Then it got the value nil, not "closed"
        #expect(try await result.receive() == "value nil")
    }

    @Test func a_nil_sent_to_a_blocked_thread_arrives_as_a_value() async throws {
        let channel = Chan<Int?>()
        let result = Chan<String>(capacity: 1)
        let thread = Thread {
            let got = channel.blockingReceive()
            try? result.blockingSend(got.map { "value \(String(describing: $0))" } ?? "closed")
        }
        thread.start()
        try await waitUntil("the thread blocks") { channel.trySend(nil) == .sent }
        #expect(try await result.receive() == "value nil")
    }
}
