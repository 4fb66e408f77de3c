// swift-tools-version: 6.2
import PackageDescription

// Jamey's benchmarks (ordo-one/benchmark), separate from the root package so the root never
// depends on the benchmark framework. Run them with scripts/bench.sh; see Benchmarks/README.md.
let package = Package(
    name: "JameyBenchmarks",
    platforms: [.macOS(.v15)],
    products: [
        // The Swift plugin of the in-process benchmarks: loaded by path with dlopen, like any plugin.
        .library(name: "BenchDriver", type: .dynamic, targets: ["BenchDriver"])
    ],
    dependencies: [
        .package(name: "jamey", path: ".."),
        .package(path: "../Kit"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The benchmark plugins' service contracts and the measured work (also compiled into the C sink).
        .target(name: "CJameyBench"),
        // Thread helpers: the request/reply benchmarks' in-run baseline (a bare thread round trip) and
        // the placement of the measuring and the measured threads.
        .target(name: "CBenchThreads"),
        // The measured sections of the deterministic gates (callgrind client requests; no-ops
        // outside valgrind).
        .target(name: "CBenchGate"),
        .target(
            name: "JameyBenchSupport",
            dependencies: [
                "CJameyBench",
                "CBenchThreads",
                .product(name: "JameyKernel", package: "jamey"),
                .product(name: "Benchmark", package: "benchmark"),
            ]
        ),
        // The driver of the deterministic gates (scripts/bench-gates.sh): instructions per
        // operation of the bus's hot paths under callgrind.
        .executableTarget(
            name: "BusInstructions",
            dependencies: [
                "JameyBenchSupport", "CJameyBench", "CBenchGate", .product(name: "JameyKernel", package: "jamey"),
            ],
            path: "Gates/BusInstructions"
        ),
        .target(
            name: "BenchDriver",
            dependencies: ["CJameyBench", "CBenchThreads", .product(name: "JameyPluginKit", package: "Kit")],
            path: "Plugins/BenchDriver"
        ),
    ]
)

// One executable per suite, in Benchmarks/<Name>/ as the benchmark plugin expects.
for (name, extra) in [
    ("BusThroughput", [Target.Dependency("CBenchThreads")]),
    ("RequestReply", ["CBenchThreads"]),
    ("ServiceCall", []),
    ("KernelStartup", []),
] {
    package.targets.append(
        .executableTarget(
            name: name,
            dependencies: [
                "JameyBenchSupport", "CJameyBench", .product(name: "JameyKernel", package: "jamey"),
                .product(name: "Benchmark", package: "benchmark"),
            ] + extra,
            path: "Benchmarks/\(name)",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ))
}
