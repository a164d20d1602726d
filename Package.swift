// swift-tools-version:6.0
// GoConcurrency: Go's concurrency system (goroutines, channels, select, timers,
// sync and the classic patterns) for Swift.
import PackageDescription

/// How gobench and echoserver link the Swift runtime on Linux (see gobench's
/// target below for why).
let staticSwiftRuntime: [LinkerSetting] = [
    .unsafeFlags(["-static-stdlib", "-Xlinker", "--strip-debug"], .when(platforms: [.linux])),
    .linkedLibrary("_FoundationCollections", .when(platforms: [.linux])),
    .linkedLibrary("_FoundationCShims", .when(platforms: [.linux])),
]

let package = Package(
    name: "GoConcurrency",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "GoConcurrency", targets: ["GoConcurrency"]),
        // For test targets only: Swift Testing's `.checkingGoroutineLeaks`
        // trait. Apps link GoConcurrency, which never imports Testing.
        .library(name: "GoConcurrencyTesting", targets: ["GoConcurrencyTesting"]),
        .executable(name: "tour", targets: ["tour"]),
        .executable(name: "gobench", targets: ["gobench"]),
        .executable(name: "echoserver", targets: ["echoserver"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.0"),
    ],
    targets: [
        .target(
            name: "GoConcurrency",
            dependencies: [
                "CGoConcurrencySanitizer",
                "CGoConcurrencyPoll",
                "CGoConcurrencyRuntime",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "HeapModule", package: "swift-collections"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        // What the thread sanitizer must be told about the hand-over from a
        // resumer to the task it resumes (C: it defines the runtime's resume
        // entry points); empty in a build without the sanitizer.
        .target(name: "CGoConcurrencySanitizer"),
        // The network poller's system calls that Glibc's module does not
        // expose usably (epoll, eventfd, accept4); Linux only, empty elsewhere.
        .target(name: "CGoConcurrencyPoll"),
        // Four entry points of Swift's concurrency runtime that the park path
        // and the goroutines' tasks call directly (the current task, a
        // task-local's binding, binding and unbinding one), declared in C
        // because Swift reserves their names: see SwiftRuntimeABI.swift; the
        // goroutine binding's published key; and two thread-local slots (a
        // thread's processor: GoRuntime.swift; its spare select waiter:
        // Waiter.swift).
        .target(name: "CGoConcurrencyRuntime"),
        // The Swift Testing trait over GoRuntime.checkingLeaks; it imports
        // the toolchain's Testing module (no package dependency).
        .target(
            name: "GoConcurrencyTesting",
            dependencies: ["GoConcurrency"]
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
        // On Linux it links the Swift runtime statically, as Go links its own and
        // as Swift servers ship (`swift build --static-swift-stdlib`): the
        // concurrency runtime's thread-locals are then plain reads instead of
        // `__tls_get_addr` calls (27 per ping-pong round trip) and its calls skip
        // the PLT; hand-offs are 10-40% faster (BENCHMARKS-HISTORY.md). The two
        // libraries named are FoundationEssentials' own (argument-parser uses
        // it), which only the static link needs spelled out. The binary keeps
        // its symbols but no debug information: valgrind 3.19 (Debian 12's,
        // which the icount anchor runs) gives up on the DWARF 5 that clang
        // emits for the C targets (ours and swift-system's), and counting
        // instructions per function needs only the symbols. Unsafe flags on an
        // executable do not reach packages that depend on the library.
        .executableTarget(
            name: "gobench",
            dependencies: [
                "GoConcurrency",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: staticSwiftRuntime
        ),
        // The net compare's server: a TCP echo server, a goroutine per
        // connection, parked on the runtime's poller (or, with --blocking, on
        // threads of `blocking { }` calls, to show what the poller buys).
        // Linked as gobench is, for the same reason.
        .executableTarget(
            name: "echoserver",
            dependencies: [
                "GoConcurrency",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            linkerSettings: staticSwiftRuntime
        ),
        // Runs the test suite on the global-executor route when
        // GOCONCURRENCY_TEST_ROUTE=global: a constructor that installs the
        // runtime before the test runner starts its first task.
        .target(name: "CGoConcurrencyTestRoute", path: "Tests/CGoConcurrencyTestRoute"),
        .testTarget(
            name: "GoConcurrencyTests",
            dependencies: [
                "GoConcurrency",
                "GoConcurrencyTesting",
                "CGoConcurrencyTestRoute",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
