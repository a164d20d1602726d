// The Swift code the tour shows beside the Go code: read at run time from the
// very source file the program was compiled from, so what is shown is what
// runs.
//
// Why this way. Each example's program is a `struct ...: TourProgram` in
// `Examples/`. A string literal copied from it would drift from the code that
// runs; SwiftPM cannot ship a target's own `.swift` files as its resources
// (they are compiled, and a copy kept elsewhere drifts the same way); a
// build-tool plugin would be a build step every clone runs for a few lines of
// text. `#filePath` is the path of the source file as it was compiled, so
// `swift run tour` in a clone (a fresh one included) reads the code it has
// just built. A binary moved away from its sources (a release build copied
// elsewhere) finds no file there, and the tour then says where the code is
// instead of showing it.

import Foundation

enum SwiftSource {
    /// The declaration of the program type `typeName` (its doc comment, the
    /// `struct` line, and everything up to the `}` that closes it in column
    /// 0), found in `filePath` or, failing that, in another `.swift` file of
    /// the same folder (an example may play a program registered in another
    /// section's file), with the path of the file it is in. `nil` if no such
    /// file or declaration is there.
    static func declaration(of typeName: String, near filePath: String) -> (code: String, path: String)? {
        let file = URL(fileURLWithPath: filePath)
        var candidates = [file]
        let folder = file.deletingLastPathComponent()
        if let siblings = try? FileManager.default.contentsOfDirectory(atPath: folder.path) {
            candidates += siblings.sorted()
                .filter { $0.hasSuffix(".swift") && $0 != file.lastPathComponent }
                .map { folder.appendingPathComponent($0) }
        }
        for candidate in candidates {
            guard let text = try? String(contentsOf: candidate, encoding: .utf8) else { continue }
            if let code = declaration(of: typeName, in: text) {
                return (code, candidate.path)
            }
        }
        return nil
    }

    /// The declaration of `typeName` in one file's `text`, as
    /// ``declaration(of:near:)`` describes it.
    static func declaration(of typeName: String, in text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: {
            $0.hasPrefix("struct \(typeName):") || $0.hasPrefix("struct \(typeName) ")
        }) else { return nil }
        guard let end = lines[start...].firstIndex(where: { $0 == "}" }) else { return nil }
        var first = start
        while first > lines.startIndex, lines[first - 1].hasPrefix("///") {
            first -= 1
        }
        return lines[first...end].joined(separator: "\n")
    }

    /// `path` relative to the package: from its `Sources` folder on.
    static func packageRelative(_ path: String) -> String {
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard let sources = components.lastIndex(of: "Sources") else { return path }
        return components[sources...].joined(separator: "/")
    }
}
