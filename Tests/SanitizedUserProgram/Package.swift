// swift-tools-version:6.0
// A program that uses GoConcurrency as its users do, from outside the
// package's own targets: `.ci/sanitized-user-program` builds it with
// `--sanitize=thread` and runs it, and any report fails the check. It has no
// race of its own, so a report would be the library's (or a hand-over the
// sanitizer cannot see), and a user's sanitized build would show it too.
import PackageDescription

// A package that depends on a local path is known by its folder's name:
// the clone's, whatever it is called.
let library = #filePath.split(separator: "/").dropLast(3).last.map(String.init) ?? "GoConcurrency"

let package = Package(
    name: "SanitizedUserProgram",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "../..")],
    targets: [
        .executableTarget(
            name: "SanitizedUserProgram",
            dependencies: [.product(name: "GoConcurrency", package: library)]
        ),
    ],
    swiftLanguageModes: [.v6]
)
