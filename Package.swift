// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "tollgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tollgate", targets: ["TollgateCLI"]),
        .library(name: "Gateway", targets: ["Gateway"]),
        .library(name: "Cache", targets: ["Cache"]),
        .library(name: "Router", targets: ["Router"]),
        .library(name: "LocalModels", targets: ["LocalModels"]),
        .library(name: "TollgateJSON", targets: ["TollgateJSON"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
    ],
    targets: [
        // System libraries from Debian's -dev packages.
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CCrypto", path: "Sources/CCrypto", providers: [.apt(["libssl-dev"])]),

        // Pure libraries: no sockets, no hidden I/O.
        .target(name: "TollgateJSON"),
        .target(name: "Cache", dependencies: ["TollgateJSON", "CSQLite", "CCrypto"]),
        .target(
            name: "Router",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // SIMD kernels for the transformer engine: AVX2/AVX-512 paths chosen at run time, with a
        // portable fallback, so the binary starts on any x86_64 (no global -mavx2).
        .target(name: "CTransformerKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // The engines' Swift loops run optimised in debug builds too: unoptimised, a 512-token
        // embedding or a prompt's prefill takes seconds, which the end-to-end tests (and anyone
        // trying `swift run`) would wait for.
        .target(
            name: "LocalModels", dependencies: ["TollgateJSON", "CTransformerKernels"],
            swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),

        // I/O: HTTP server, upstream client, admin API, configuration.
        .target(
            name: "Gateway",
            dependencies: [
                "Cache", "Router", "LocalModels",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),

        // The thin executable: parse arguments, load config, run.
        .executableTarget(
            name: "TollgateCLI",
            dependencies: [
                "Gateway", "LocalModels", "TollgateJSON",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),

        .testTarget(name: "TollgateJSONTests", dependencies: ["TollgateJSON"]),
        .testTarget(name: "CacheTests", dependencies: ["Cache"]),
        .testTarget(name: "RouterTests", dependencies: ["Router"]),
        .testTarget(
            name: "LocalModelsTests",
            dependencies: ["LocalModels", "TollgateJSON"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
