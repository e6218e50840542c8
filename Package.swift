// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Marshal",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "marshal", targets: ["marshal"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/stencilproject/Stencil", from: "0.15.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/onevcat/Rainbow", from: "4.2.2"),
    ],
    targets: [
        // C libraries, found through pkg-config; the shims make macros and variadic calls callable.
        .systemLibrary(
            name: "CLibSSH2",
            path: "Sources/CLibSSH2",
            pkgConfig: "libssh2",
            providers: [.apt(["libssh2-1-dev"])]
        ),
        .systemLibrary(
            name: "CCurl",
            path: "Sources/CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            path: "Sources/CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibPQ",
            path: "Sources/CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        .target(name: "MarshalCore"),
        .target(
            name: "MarshalLoading",
            dependencies: [
                "MarshalCore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Stencil", package: "Stencil"),
            ]
        ),
        .target(name: "MarshalSSH", dependencies: ["MarshalCore", "CLibSSH2"]),
        .target(
            name: "MarshalHTTP",
            dependencies: [
                "MarshalCore", "CCurl",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        // The redis gate's RESP client over TCP (no Redis client is in the package mirror).
        .target(name: "MarshalRedis", dependencies: ["MarshalCore"]),
        .target(
            name: "MarshalJournal",
            dependencies: ["MarshalCore", "CLibCrypto", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // The shared PostgreSQL store, on libpq (see docs/state.md for why not PostgresNIO).
        .target(name: "MarshalJournalPostgres", dependencies: ["MarshalCore", "CLibPQ"]),
        .target(
            name: "MarshalReport",
            dependencies: ["MarshalCore", .product(name: "Stencil", package: "Stencil")]
        ),
        .target(
            name: "MarshalCLI",
            dependencies: [
                "MarshalCore", "MarshalLoading", "MarshalSSH", "MarshalHTTP", "MarshalJournal", "MarshalJournalPostgres", "MarshalReport", "MarshalRedis",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Rainbow", package: "Rainbow"),
            ]
        ),
        .executableTarget(name: "marshal", dependencies: ["MarshalCLI"]),

        // Shared by the test targets: spawning child processes without Foundation.Process.
        .target(name: "MarshalTestSupport", path: "Tests/Support"),
        .testTarget(name: "MarshalCoreTests", dependencies: ["MarshalCore", "MarshalTestSupport"]),
        .testTarget(
            name: "MarshalLoadingTests",
            dependencies: ["MarshalLoading", "MarshalCore", "MarshalTestSupport"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(name: "MarshalSSHTests", dependencies: ["MarshalSSH", "MarshalCore", "MarshalTestSupport"]),
        .testTarget(name: "MarshalRedisTests", dependencies: ["MarshalRedis", "MarshalCore", "MarshalTestSupport"]),
        .testTarget(name: "MarshalHTTPTests", dependencies: ["MarshalHTTP", "MarshalCore", "MarshalTestSupport"]),
        .testTarget(
            name: "MarshalJournalTests",
            dependencies: ["MarshalJournal", "MarshalJournalPostgres", "MarshalCore", "MarshalTestSupport"]
        ),
        .testTarget(name: "MarshalReportTests", dependencies: ["MarshalReport", "MarshalCore", "MarshalTestSupport"]),
        // The run engine on fake hosts, a fake HTTP client, an in-memory journal and a manual clock:
        // batches, max_failures, retries, deadlines, soaks, rollback and resume in milliseconds.
        .testTarget(name: "EngineTests", dependencies: ["MarshalCore", "MarshalLoading"]),
        .testTarget(name: "EndToEndTests", dependencies: ["MarshalCore", "MarshalTestSupport", "marshal"]),
    ]
)

// scripts/fuzz only: a libFuzzer target over the YAML loader, the expression parser and the HTTP
// response parser (Fuzz/Sources). It has no main of its own (libFuzzer links one), so it exists
// only when MARSHAL_FUZZ is set and everything is built with -sanitize=fuzzer.
if Context.environment["MARSHAL_FUZZ"] != nil {
    package.targets.append(.executableTarget(
        name: "marshal-fuzz",
        dependencies: ["MarshalCore", "MarshalLoading", "MarshalHTTP"],
        path: "Fuzz/Sources",
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    ))
}
