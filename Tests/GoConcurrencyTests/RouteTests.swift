// Both routes by which goroutines reach the scheduler, end to end: the tour (a
// real program whose main is `GoRuntime.main`) plays every example on each
// route and must match Go's output. The suite itself runs on the default
// route; the global-executor route can only be installed by a program's first
// statement, so it is checked in a child process.

import Foundation
import Testing
import GoConcurrency

@Suite("Routes", .timeLimit(Stress.timeLimit))
struct RouteTests {
    /// The tour executable `swift test` built next to this test bundle.
    static var tourPath: URL {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // On macOS the bundle's executable sits inside Foo.xctest/Contents/MacOS.
        while directory.path.contains(".xctest") {
            directory.deleteLastPathComponent()
        }
        return directory.appendingPathComponent("tour")
    }

    @Test("The tour plays every example as Go does, on each route", arguments: GoRuntime.Route.allCases)
    func tourOnRoute(_ route: GoRuntime.Route) throws {
        let path = RouteTests.tourPath
        try #require(FileManager.default.isExecutableFile(atPath: path.path), "no tour executable at \(path.path)")
        let process = Process()
        process.executableURL = path
        process.arguments = ["--route", route.rawValue, "--time-scale", "0.05"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let summary = text.split(separator: "\n").last { $0.contains(" played: ") }.map(String.init) ?? ""
        #expect(process.terminationStatus == 0, "tour --route \(route.rawValue) exited with \(process.terminationStatus): \(summary)")
        // "N played: N same as Go, 0 different or failed; ..."
        let numbers = summary.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        try #require(numbers.count >= 3, "no summary line in the tour's output:\n\(text.suffix(2000))")
        #expect(numbers[0] > 0)
        #expect(numbers[0] == numbers[1], "\(summary)")
        #expect(numbers[2] == 0, "\(summary)")
    }
}
