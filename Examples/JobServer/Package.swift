// swift-tools-version:6.1
// The jobserver: the seed's Worker/Dispatcher as the service it came from, an
// HTTP job intake (POST /payload, GET /stats, GET /metrics) on Hummingbird 2
// with the library's Dispatcher behind the handler, its metrics through
// swift-metrics into a Prometheus registry. A package of its own, depending
// on the root package by path, so the GoConcurrency library gains no server
// dependency.
import PackageDescription

let package = Package(
    name: "JobServer",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jobserver", targets: ["jobserver"]),
    ],
    dependencies: [
        .package(name: "GoConcurrency", path: "../.."),
        // The durable mode (DATABASE_URL): jobs kept in PostgreSQL.
        .package(name: "DurableDispatcher", path: "../../Packages/DurableDispatcher"),
        // Without its default traits (swift-configuration, full Foundation):
        // the server needs neither, and the first build is shorter.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // The service: configuration, routes and the dispatcher behind them.
        .target(
            name: "JobServerCore",
            dependencies: [
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "DurableDispatcher", package: "DurableDispatcher"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The program: flags and environment, then runs the service.
        .executableTarget(
            name: "jobserver",
            dependencies: [
                "JobServerCore",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            // On Linux the Swift runtime is linked in, as Swift servers ship
            // (`--static-swift-stdlib`) and as Go links its own: its calls skip
            // the PLT and its thread-locals are plain reads, and the process
            // maps no shared Swift libraries (BENCHMARKS.md, "The job-intake service against Go's").
            // FoundationEssentials' own two libraries need naming in a static link.
            // Release builds only: a debug build (the tests' child processes)
            // keeps the shared runtime and its debug information, and the
            // thread sanitizer, which fails on the static runtime ("CHECK
            // failed: sanitizer_allocator_secondary.h" in the child process).
            // No debug information in release, only symbols: valgrind 3.19 (Debian 12's)
            // gives up on the DWARF 5 that clang emits for C targets, and
            // counting a request's instructions per function needs only symbols.
            linkerSettings: [
                .unsafeFlags(["-static-stdlib", "-Xlinker", "--strip-debug"], .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationCollections", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationCShims", .when(platforms: [.linux], configuration: .release)),
                // The durable mode's DurableDispatcher imports the whole of
                // Foundation, whose static library needs CoreFoundation and ICU named.
                .linkedLibrary("CoreFoundation", .when(platforms: [.linux], configuration: .release)),
                .linkedLibrary("_FoundationICU", .when(platforms: [.linux], configuration: .release)),
            ]
        ),
        .testTarget(
            name: "JobServerTests",
            dependencies: [
                "JobServerCore",
                .product(name: "DurableDispatcher", package: "DurableDispatcher"),
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
