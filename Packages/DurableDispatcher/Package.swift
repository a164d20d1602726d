// swift-tools-version:6.1
// DurableDispatcher: the Dispatcher's jobs kept in PostgreSQL, so that a job
// survives the process that enqueued it and the one that runs it. A package
// of its own, depending on the root package by path, so the GoConcurrency
// library (and everyone who only wants channels) gains no NIO or PostgreSQL
// dependency.
import PackageDescription

let package = Package(
    name: "DurableDispatcher",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "DurableDispatcher", targets: ["DurableDispatcher"]),
        .executable(name: "durable-worker", targets: ["durable-worker"]),
        .executable(name: "durable-chaos", targets: ["durable-chaos"]),
        .executable(name: "durable-bench", targets: ["durable-bench"]),
    ],
    dependencies: [
        .package(name: "GoConcurrency", path: "../.."),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // The store (schema migration, enqueue, fetch, fenced outcomes,
        // rescue) and the worker process (DurableWorkers).
        .target(
            name: "DurableDispatcher",
            dependencies: [
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // One worker process (SIGTERM: graceful shutdown), and the store's
        // administration: migrate, enqueue, counts, cancel, retry.
        .executableTarget(
            name: "durable-worker",
            dependencies: [
                "DurableDispatcher",
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The chaos test: durable-worker children killed with SIGKILL and a
        // database restart under a full queue, then every job checked
        // (`.ci/run` runs it after the tests).
        .executableTarget(
            name: "durable-chaos",
            dependencies: [
                "DurableDispatcher",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The benchmark's helper (Scripts/ceiling): migrate a schema, prefill
        // no-op jobs by batch enqueue, print the pgbench script of the
        // library's own fetch and completion.
        .executableTarget(
            name: "durable-bench",
            dependencies: [
                "DurableDispatcher",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Against a live PostgreSQL named by GC_DATABASE_URL (`.ci/postgres start`).
        .testTarget(
            name: "DurableDispatcherTests",
            dependencies: [
                "DurableDispatcher",
                .product(name: "GoConcurrency", package: "GoConcurrency"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
