// swift-tools-version: 6.1
//
// SwiftMoshi: a Moshi-style full-duplex speech-dialogue server for Linux.
// The target list is the architecture (Docs/ARCHITECTURE.md); dependencies point down only:
//
//   moshi ─▶ MoshiCLI ─▶ MoshiClient ─▶ Server ─▶ Engine ─▶ Mimi, MoshiLM ─▶ Weights ─▶ MoshiNumerics ─▶ CKernels, CBLAS
//                │                      │          └─────▶ AudioIO ─▶ CALSA, COpus, COgg, CSpeexDSP
//                │                      └─▶ WebClient
//                └─▶ Settings, ModelHub, Benchmarks (─▶ MoshiNumerics)
//
import PackageDescription
import class Foundation.ProcessInfo

/// Numeric code is compiled optimized even in debug builds: parity tests on tiny
/// models would otherwise take minutes, and the kernels are what we test.
let optimized: [SwiftSetting] = [.unsafeFlags(["-O"])]

var targets: [Target] = [
    // MARK: C bridges (system libraries from Debian, with shims for what Swift cannot import)
    .systemLibrary(name: "CALSA", pkgConfig: "alsa", providers: [.apt(["libasound2-dev"])]),
    .systemLibrary(name: "COpus", pkgConfig: "opus", providers: [.apt(["libopus-dev"])]),
    .systemLibrary(name: "COgg", pkgConfig: "ogg", providers: [.apt(["libogg-dev"])]),
    .systemLibrary(name: "CSpeexDSP", pkgConfig: "speexdsp", providers: [.apt(["libspeexdsp-dev"])]),
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    // SIMD kernels in C with run-time CPU dispatch, and the persistent thread pool.
    .target(
        name: "CKernels",
        cSettings: [.unsafeFlags(["-O3", "-fno-math-errno", "-fno-trapping-math"])],
        linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("m")]
    ),

    // MARK: Numerics and weight files
    .target(name: "MoshiNumerics", dependencies: ["CKernels", "CBLAS"], swiftSettings: optimized),
    .target(name: "Weights", dependencies: ["MoshiNumerics"], swiftSettings: optimized),

    // The measuring behind `moshi bench` (read bandwidth, kernel rates); the commands print it.
    .target(name: "Benchmarks", dependencies: ["MoshiNumerics", "CKernels"], swiftSettings: optimized),

    // MARK: Models (no I/O) and audio I/O
    .target(name: "Mimi", dependencies: ["MoshiNumerics", "Weights"], swiftSettings: optimized),
    .target(name: "MoshiLM", dependencies: ["MoshiNumerics", "Weights"], swiftSettings: optimized),
    .target(name: "AudioIO", dependencies: ["CALSA", "COpus", "COgg", "CSpeexDSP"]),

    // MARK: Engine, server, configuration, command line
    .target(name: "Engine", dependencies: [
        "Mimi", "MoshiLM", "AudioIO", .product(name: "Logging", package: "swift-log"),
        .product(name: "Histogram", package: "hdrhistogram-swift"),
    ]),
    // The client side of the framed protocol (`moshi client`, tests): no server code runs in it.
    .target(name: "MoshiClient", dependencies: ["Server"]),
    .target(name: "Server", dependencies: [
        "Engine", "AudioIO", .product(name: "Logging", package: "swift-log"),
        .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "X509", package: "swift-certificates"),
        .product(name: "SwiftASN1", package: "swift-asn1"), .product(name: "Crypto", package: "swift-crypto"),
        "WebClient",
    ]),
    // The browser page `moshi serve` hands out at `/` (HTML, script, audio worklets), in the binary.
    .target(name: "WebClient", resources: [
        .embedInCode("Assets/index.html"), .embedInCode("Assets/client.js"), .embedInCode("Assets/worklets.js"),
    ]),
    .target(name: "ModelHub", dependencies: [
        .product(name: "Logging", package: "swift-log"), .product(name: "Crypto", package: "swift-crypto"),
    ]),
    .target(name: "Settings", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]),
    .target(
        name: "MoshiCLI",
        dependencies: [
            "MoshiNumerics", "Weights", "AudioIO", "Mimi", "MoshiLM", "Engine", "Server", "MoshiClient", "Settings", "ModelHub", "Benchmarks",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]
    ),
    .executableTarget(name: "moshi", dependencies: ["MoshiCLI"]),

    // MARK: Tests
    .testTarget(name: "MoshiNumericsTests", dependencies: ["MoshiNumerics"], resources: [.copy("Ops/Fixtures")], swiftSettings: optimized),
    .testTarget(name: "BenchmarksTests", dependencies: ["Benchmarks", "MoshiNumerics"], swiftSettings: optimized),
    .testTarget(name: "WeightsTests", dependencies: ["Weights", "MoshiNumerics"], resources: [.copy("Fixtures")]),
    .testTarget(name: "MimiTests", dependencies: ["Mimi", "Weights", "MoshiNumerics"], resources: [.copy("Fixtures")], swiftSettings: optimized),
    .testTarget(name: "AudioIOTests", dependencies: ["AudioIO"]),
    .testTarget(name: "SettingsTests", dependencies: ["Settings"]),
    .testTarget(name: "MoshiCLITests", dependencies: ["MoshiCLI", "MoshiClient"]),
    .testTarget(name: "MoshiLMTests", dependencies: ["MoshiLM", "Weights", "MoshiNumerics"], resources: [.copy("Fixtures")], swiftSettings: optimized),
    .testTarget(name: "EngineTests", dependencies: ["Engine", "AudioIO"]),
    .testTarget(name: "ModelHubTests", dependencies: ["ModelHub"]),
    .testTarget(name: "ServerTests", dependencies: [
        "Server", "MoshiClient", "Engine", "AudioIO", "MoshiLM", "Mimi", .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOEmbedded", package: "swift-nio"), .product(name: "NIOWebSocket", package: "swift-nio"),
    ]),
]

// libFuzzer targets exist only when asked for (scripts/fuzz.sh sets MOSHI_FUZZ=1): they have
// no `main` of their own and link only with `--sanitize=fuzzer`.
if ProcessInfo.processInfo.environment["MOSHI_FUZZ"] != nil {
    for name in ["FuzzSafetensors", "FuzzGGUF", "FuzzOgg"] {
        targets.append(.executableTarget(
            name: name, dependencies: ["Weights", "AudioIO"], path: "Tests/Fuzz/\(name)",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ))
    }
    targets.append(.executableTarget(
        name: "FuzzFramedDecoder", dependencies: ["Server"], path: "Tests/Fuzz/FuzzFramedDecoder", exclude: ["Seeds"],
        swiftSettings: [.unsafeFlags(["-parse-as-library"])]
    ))
}

let package = Package(
    name: "SwiftMoshi",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "moshi", targets: ["moshi"])],
    // Versions: the lowest release we built with; `from:` for 1.x and later, `.upToNextMinor` for
    // 0.x packages (a 0.x minor may break the API). Docs/ARCHITECTURE.md, "Dependencies".
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", .upToNextMinor(from: "0.6.0")),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", .upToNextMinor(from: "0.2.0")),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.10.0"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.3.0"),
    ],
    targets: targets,
    swiftLanguageModes: [.v6]
)
