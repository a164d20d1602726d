// The library's layers, bottom up (DEVELOPERS.md's table): Runtime, Channel and
// Select, Time, Context, Sync, Net, Patterns, Diagnostics. Each uses only those below it;
// what a higher layer needs from a lower one, the lower one records or
// exposes without naming the higher one's types.

import Foundation
import Testing

@Suite("Layering")
struct LayeringTests {
    static let layers: [[String]] = [["Runtime"], ["Channel", "Select"], ["Time"], ["Context"], ["Sync"], ["Net"], ["Patterns"], ["Diagnostics"]]

    /// Names a lower layer still uses from a higher one, each with the reason.
    static let knownExceptions: Set<String> = [
        // Declared beside the channel's queue entries (ParkedOperation.swift),
        // read by the runtime's parking and goroutine records: it belongs with
        // the Swift-runtime ABI assumptions in the Runtime layer.
        "TaskIdentity",
    ]

    static var sourceRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/GoConcurrency")
    }

    static func swiftFiles(in folders: [String]) throws -> [URL] {
        try folders.flatMap { folder in
            let directory = sourceRoot.appendingPathComponent(folder)
            return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "swift" }
        }
    }

    static func matches(_ pattern: String, in text: String, options: NSRegularExpression.Options = []) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern, options: options)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: $0.numberOfRanges - 1), in: text).map { String(text[$0]) }
        }
    }

    /// The code of a file without its comments and string literals.
    static func code(of file: URL) throws -> String {
        var text = try String(contentsOf: file, encoding: .utf8)
        for pattern in [#""""[\s\S]*?""""#, #""(?:[^"\\\n]|\\.)*""#, #"//[^\n]*"#] {
            let regex = try NSRegularExpression(pattern: pattern)
            text = regex.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: "\"\"")
        }
        return text
    }

    @Test func no_layer_names_a_type_declared_in_a_layer_above_it() throws {
        var upward: [String] = []
        for (index, upper) in Self.layers.enumerated() {
            var types = Set<String>()
            for file in try Self.swiftFiles(in: upper) {
                let text = try String(contentsOf: file, encoding: .utf8)
                types.formUnion(try Self.matches(
                    #"^(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|internal|final|open|fileprivate|private)\s+)*(?:class|struct|enum|protocol|actor|typealias)\s+([A-Z]\w*)"#,
                    in: text, options: .anchorsMatchLines))
            }
            types.subtract(Self.knownExceptions)
            #expect(!types.isEmpty, "no types found in \(upper)")
            for lower in Self.layers[..<index] {
                for file in try Self.swiftFiles(in: lower) {
                    let code = try Self.code(of: file)
                    let named = Set(try Self.matches(#"\b([A-Z]\w*)\b"#, in: code)).intersection(types)
                    for type in named.sorted() {
                        upward.append("\(lower.joined(separator: "/"))/\(file.lastPathComponent) names \(type) (\(upper.joined(separator: "/")))")
                    }
                }
            }
        }
        #expect(upward == [], "\(upward.joined(separator: "\n"))")
    }
}
