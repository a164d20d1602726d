// swift-tools-version:6.0
// GoConcurrency: Go's concurrency system (goroutines, channels, select, timers,
// sync and the classic patterns) for Swift.
import PackageDescription

let package = Package(
    name: "GoConcurrency",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GoConcurrency", targets: ["GoConcurrency"]),
        .executable(name: "tour", targets: ["tour"]),
        .executable(name: "gobench", targets: ["gobench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .target(
            name: "GoConcurrency",
            dependencies: [
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
            ]
        ),
        .executableTarget(
            name: "tour",
            dependencies: [
                "GoConcurrency",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark is its own module on purpose: it measures GoConcurrency
        // the way users call it, through @inlinable code specialised across modules.
        .executableTarget(
            name: "gobench",
            dependencies: [
                "GoConcurrency",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "GoConcurrencyTests",
            dependencies: ["GoConcurrency", "ThreadSanitizerHooks"]
        ),
        // The thread sanitizer's suppression hook for the test binary (C, since
        // the sanitizer calls it before the Swift runtime is up).
        .target(
            name: "ThreadSanitizerHooks",
            path: "Tests/ThreadSanitizerHooks"
        ),
    ],
    swiftLanguageModes: [.v6]
)
