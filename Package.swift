// swift-tools-version:6.0
import PackageDescription

/// The compute core's Swift is compiled for AVX2 and FMA on x86-64 (Haswell, 2013, and later), so
/// that its loops over floats vectorise eight wide with fused multiply-adds; a pre-2013 x86 CPU
/// needs this line removed. The C kernels pick AVX-512, AVX2 or scalar code at run time. Other
/// architectures build for their defaults.
#if arch(x86_64)
let computeSettings: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let computeSettings: [SwiftSetting] = []
#endif

let package = Package(
    name: "Peephole",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "peephole", targets: ["peephole"]),
        .executable(name: "peephole-bench", targets: ["peephole-bench"]),
        .library(name: "PeepholeCore", targets: ["PeepholeCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/weichsel/ZIPFoundation.git", from: "0.9.20"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-atomics.git", from: "1.3.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
    ],
    targets: [
        // C libraries, one door each.
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CHDF5",
            pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]
        ),
        // glibc's allocator settings (Linux only; see Allocator.swift).
        .systemLibrary(name: "CGlibcMalloc"),
        // The matrix kernel of the compute core (see its header for the contract). Optimised in
        // debug builds too, so the tests do not crawl; vector code is chosen at run time.
        .target(
            name: "CPeepholeKernels",
            cSettings: [.unsafeFlags(["-O3"])]
        ),
        // Counts the process's heap allocations; linked only into the benchmark (see its header).
        .target(name: "CAllocationCounter"),
        // The compute core and model store: knows nothing about HTTP.
        .target(
            name: "PeepholeCore",
            dependencies: [
                "CPeepholeKernels",
                "COpenBLAS",
                "CHDF5",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            ],
            swiftSettings: computeSettings
        ),
        // The wire formats: each protocol's request and response bodies and its translation to
        // core calls, shared by the server and the CLI.
        .target(
            name: "PeepholeProtocols",
            dependencies: ["PeepholeCore"]
        ),
        // The HTTP service: maps routes to protocol calls.
        .target(
            name: "PeepholeServer",
            dependencies: [
                "PeepholeCore",
                "PeepholeProtocols",
                .target(name: "CGlibcMalloc", condition: .when(platforms: [.linux])),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Atomics", package: "swift-atomics"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ],
            resources: [.copy("openapi.json"), .copy("Inspector")]
        ),
        // The command line: maps arguments to core (and server) calls.
        .executableTarget(
            name: "peephole",
            dependencies: [
                "PeepholeCore",
                "PeepholeProtocols",
                "PeepholeServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The engine benchmark of `make bench`.
        .executableTarget(
            name: "peephole-bench",
            dependencies: [
                "CAllocationCounter",
                "PeepholeCore",
                "PeepholeProtocols",
                "PeepholeServer",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the core and protocol tests share: fixtures, tolerances, numbers read from JSON.
        .target(
            name: "PeepholeTestSupport",
            dependencies: ["PeepholeCore"],
            path: "Tests/PeepholeTestSupport"
        ),
        .testTarget(
            name: "PeepholeCoreTests",
            dependencies: ["PeepholeCore", "PeepholeTestSupport"]
        ),
        .testTarget(
            name: "PeepholeProtocolsTests",
            dependencies: ["PeepholeProtocols", "PeepholeCore", "PeepholeTestSupport"]
        ),
        .testTarget(
            name: "PeepholeServerTests",
            dependencies: [
                "PeepholeServer",
                "PeepholeProtocols",
                "PeepholeCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
    ]
)
