// swift-tools-version: 6.2
import PackageDescription

// Jamey: a plugin-hosting microkernel. See README.md and the C ABI in
// Kit/Sources/CJameyABI/include/jamey/plugin.h. The plugin kit (the header and JameyPluginKit) is
// its own package in Kit/, so a plugin's package depends on it and not on the server.

/// JameyPluginKit, from the kit package in Kit/ (a path dependency's identity is its directory name).
let kit: Target.Dependency = .product(name: "JameyPluginKit", package: "Kit")
/// JameyGRDB, from KitGRDB/: one-line snapshot and restore of a plugin's GRDB database.
let kitGRDB: Target.Dependency = .product(name: "JameyGRDB", package: "KitGRDB")

let package = Package(
    name: "jamey",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "jamey", targets: ["jamey"]),
        // Runs one plugin in a child process for a kernel that isolates it (`isolation: process`).
        .executable(name: "jamey-plugin-runner", targets: ["jamey-plugin-runner"]),
        .library(name: "JameyKernel", targets: ["JameyKernel"]),
        .library(name: "JameyTestKit", targets: ["JameyTestKit"]),
        // Plugins: each one a dynamic library loaded with dlopen.
        .library(name: "HelloSwift", type: .dynamic, targets: ["HelloSwift"]),
        .library(name: "API", type: .dynamic, targets: ["API"]),
        // A bare Hummingbird server answering the same bytes as the api plugin (scripts/bench-api.sh).
        .executable(name: "jamey-bare-http", targets: ["jamey-bare-http"]),
        .library(name: "MQTT", type: .dynamic, targets: ["MQTT"]),
        .library(name: "Conscience", type: .dynamic, targets: ["ConscienceEntry"]),
        .library(name: "Memory", type: .dynamic, targets: ["Memory"]),
        .library(name: "Vault", type: .dynamic, targets: ["VaultEntry"]),
        .library(name: "Soul", type: .dynamic, targets: ["SoulEntry"]),
        .library(name: "Consciousness", type: .dynamic, targets: ["ConsciousnessEntry"]),
        .library(name: "Cache", type: .dynamic, targets: ["CacheEntry"]),
    ],
    dependencies: [
        .package(path: "Kit"),
        .package(path: "KitGRDB"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // Kernel-private C: crash lines naming the plugin, and reads of plugin memory that cannot fault.
        .target(name: "CJameySystem"),
        // The frames between the kernel and jamey-plugin-runner (crash isolation).
        .target(name: "JameyIsolationWire", dependencies: ["CJameySystem", .product(name: "CJameyABI", package: "Kit")]),
        .executableTarget(
            name: "jamey-plugin-runner",
            dependencies: ["JameyIsolationWire", "CJameySystem", .product(name: "CJameyABI", package: "Kit")]),
        .target(
            name: "JameyKernel",
            dependencies: [
                .product(name: "CJameyABI", package: "Kit"), .product(name: "JameyReplyWatch", package: "Kit"),
                "CJameySystem", "JameyIsolationWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(name: "JameyTestKit", dependencies: ["JameyKernel", .product(name: "CJameyABI", package: "Kit")]),
        .executableTarget(
            name: "jamey",
            dependencies: [
                "JameyKernel", "VaultCore", "VaultSQLite", "CacheCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The hello.greeter service contract (a C header), shared by HelloC and HelloSwift.
        .target(
            name: "CHelloGreeter", path: "Plugins/HelloC",
            exclude: ["hello_c.c", "Makefile"], sources: ["greeter_contract.c"], publicHeadersPath: "include"),
        .target(
            name: "HelloSwift",
            dependencies: [kit, "CHelloGreeter", .product(name: "Metrics", package: "swift-metrics")],
            path: "Plugins/HelloSwift"
        ),
        // The api plugin's pure logic: routes, rate limits, CORS, key secrets, the OpenAPI document.
        .target(name: "APICore", dependencies: [.product(name: "Crypto", package: "swift-crypto")], path: "Plugins/API/Core"),
        // The api plugin: Jamey's HTTP gateway (Hummingbird 2; API keys in SQLite via GRDB).
        .target(
            name: "API",
            dependencies: [
                "APICore", "PluginReplies", kit,
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"), kitGRDB,
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Plugins/API", exclude: ["Core"]
        ),
        // scripts/bench-snapshot-stall.sh: how long writes stall while JameyGRDB snapshots a database.
        .executableTarget(
            name: "jamey-snapshot-stall", dependencies: [kitGRDB, .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/SnapshotStall"),
        .executableTarget(
            name: "jamey-bare-http",
            dependencies: ["ConscienceCore", .product(name: "Hummingbird", package: "hummingbird")],
            path: "Benchmarks/BareHTTP"
        ),
        // The mqtt plugin: libmosquitto (a system library) and a GRDB spool.
        .systemLibrary(
            name: "CMosquitto", path: "Plugins/MQTT/CMosquitto", pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // Configuration, topic mapping and backoff: pure Swift, unit-tested on their own.
        .target(name: "MQTTCore", path: "Plugins/MQTT/Core"),
        .target(
            name: "MQTT",
            dependencies: [
                "MQTTCore", kit, kitGRDB, "CMosquitto", .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Plugins/MQTT", exclude: ["CMosquitto", "Core"]
        ),
        // scripts/bench-mqtt.sh: bus → broker → bus throughput and reconnect time of the mqtt plugin.
        .executableTarget(name: "MQTTBench", dependencies: ["JameyKernel", "JameyTestKit"], path: "Benchmarks/MQTT/Driver"),
        // scripts/bench-isolation.sh: crash → serving again, and an isolated request's added cost.
        .executableTarget(
            name: "IsolationBench", dependencies: ["JameyKernel", "JameyTestKit"], path: "Benchmarks/Isolation/Driver"),
        // The kit's GRDB snapshot helper (KitGRDB/), on real SQLite files.
        .testTarget(
            name: "JameyGRDBTests",
            dependencies: [kitGRDB, "JameyTestKit", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(
            name: "JameyKernelTests",
            dependencies: [
                "JameyKernel", "JameyTestKit", .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        // HelloSwift is linked in too: InProcessTests boots its plugin type without its library.
        .testTarget(name: "JameyPluginKitTests", dependencies: [kit, "JameyKernel", "JameyTestKit", "HelloSwift"]),
        .testTarget(name: "HelloTests", dependencies: ["JameyTestKit"]),
        // Crash isolation: the fault_c plugin in a child process, and `jamey serve` killed with -9.
        .testTarget(
            name: "IsolationTests",
            dependencies: [
                "JameyKernel", "JameyTestKit", "JameyIsolationWire", "jamey-plugin-runner", "jamey",
                .product(name: "CJameyABI", package: "Kit"),
            ]),
        .testTarget(name: "JameyCLITests", dependencies: ["JameyTestKit", "jamey"]),
        .testTarget(name: "APITests", dependencies: ["JameyTestKit", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "APICoreTests", dependencies: ["APICore"]),
        .testTarget(
            name: "MQTTTests",
            dependencies: ["MQTTCore", "JameyTestKit", "CMosquitto", .product(name: "GRDB", package: "GRDB.swift")]),
        // The conscience plugin: moral rules and evaluate(text); the engine is pure Swift.
        .target(name: "ConscienceCore", path: "Plugins/Conscience/Core"),
        .target(
            name: "Conscience",
            dependencies: [
                "ConscienceCore", "PluginReplies", kit, kitGRDB, .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Plugins/Conscience", exclude: ["Core", "Entry"]),
        .target(name: "ConscienceEntry", dependencies: ["Conscience", kit], path: "Plugins/Conscience/Entry"),
        .testTarget(name: "ConscienceCoreTests", dependencies: ["ConscienceCore"]),
        // Conscience is linked in too, so tests can boot its plugin type in-process.
        .testTarget(name: "ConscienceTests", dependencies: ["Conscience", "ConscienceCore", kit, "JameyKernel", "JameyTestKit"]),
        // The memory plugin: layers, ranking, FTS5 queries, near-duplicates and retention (pure
        // Swift, MemoryCore), over one SQLite FTS5 store (GRDB). Cross-module optimisation lets
        // the plugin specialise MemoryCore's generics (a merge's word signatures and term
        // classification took a quarter less time: MemoryProbe EXTRA=50000).
        .target(
            name: "MemoryCore", path: "Plugins/Memory/Core",
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"])]),
        // The memory.search service contract (jamey/memory.h), for in-process search from other plugins.
        .target(
            name: "CJameyMemory", path: "Plugins/Memory", exclude: ["Core", "Library", "CTokens"], sources: ["memory_contract.c"],
            publicHeadersPath: "include"),
        .target(
            name: "MemoryPlugin",
            dependencies: [
                "MemoryCore", "CJameyMemory", "CJameyCache", "CJameyTokens", "PluginReplies", kit, kitGRDB,
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Plugins/Memory", exclude: ["Core", "Library", "include", "memory_contract.c", "CTokens"]
        ),
        // SQLite's own FTS5 tokenizer for the memory plugin's in-memory indexes (non-ASCII text).
        .target(name: "CJameyTokens", path: "Plugins/Memory/CTokens", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The library: only the exported entry point, so tests link MemoryPlugin beside other plugins.
        .target(name: "Memory", dependencies: ["MemoryPlugin", kit], path: "Plugins/Memory/Library"),
        // scripts/bench-memory.sh: the memory plugin against raw SQLite FTS5, same schema, same process.
        .executableTarget(
            name: "MemoryBench",
            dependencies: [
                "JameyKernel", "JameyTestKit", "MemoryCore", "MemoryBenchWorkload",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            path: "Benchmarks/Memory/Driver"),
        // The bench's synthetic memories, shared with the probe.
        .target(name: "MemoryBenchWorkload", path: "Benchmarks/Memory/Workload"),
        // scripts/probe-memory.sh: parts of the bench replayed on a kept data directory.
        .executableTarget(
            name: "MemoryProbe",
            dependencies: ["JameyKernel", "JameyTestKit", "MemoryBenchWorkload", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/Memory/Probe"),
        .testTarget(name: "MemoryCoreTests", dependencies: ["MemoryCore"]),
        .testTarget(
            name: "MemoryTests",
            dependencies: [
                "MemoryPlugin", "MemoryCore", "CJameyMemory", "JameyTestKit", kit, .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        // The vault plugin ("Phoenix"): chunking, age encryption, the repository, verify, retention
        // and prune in pure Swift (VaultCore); SQLite checks and consistent copies through GRDB.
        .target(
            name: "VaultCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Plugins/Vault/Core"),
        .target(
            name: "VaultSQLite", dependencies: ["VaultCore", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Plugins/Vault/SQLite"),
        .target(
            name: "Vault",
            dependencies: [
                "VaultCore", "VaultSQLite", "PluginReplies", kit, .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Plugins/Vault", exclude: ["Core", "SQLite", "Entry"]),
        .target(name: "VaultEntry", dependencies: ["Vault", kit], path: "Plugins/Vault/Entry"),
        .testTarget(name: "VaultTests", dependencies: ["Vault", "VaultCore", kit, "JameyKernel", "JameyTestKit"]),
        .testTarget(
            name: "VaultCoreTests",
            dependencies: [
                "VaultCore", "VaultSQLite", "JameyTestKit", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // The soul: entities, emotions, trust and its decay (pure Swift, SoulCore), in SQLite (GRDB).
        .target(name: "SoulCore", path: "Plugins/Soul/Core"),
        .testTarget(name: "SoulCoreTests", dependencies: ["SoulCore"]),
        // Replies and request bodies shared by the conscience, vault, soul and consciousness plugins
        // (each links a copy; a library, not a plugin).
        .target(name: "PluginReplies", dependencies: [kit]),
        .testTarget(name: "PluginRepliesTests", dependencies: ["PluginReplies"]),
        .target(
            name: "Soul",
            dependencies: [
                "SoulCore", "PluginReplies", kit, kitGRDB, .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Plugins/Soul", exclude: ["Core", "Entry"]),
        .target(name: "SoulEntry", dependencies: ["Soul", kit], path: "Plugins/Soul/Entry"),
        // The workspace pipeline: priority, attention, higher-order thought, prediction, integration
        // and the emotional state (pure Swift), and its plugin.
        .target(name: "ConsciousnessCore", dependencies: ["SoulCore"], path: "Plugins/Consciousness/Core"),
        .testTarget(name: "ConsciousnessCoreTests", dependencies: ["ConsciousnessCore"]),
        .target(
            name: "Consciousness",
            dependencies: [
                "ConsciousnessCore", "PluginReplies", kit, .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Plugins/Consciousness", exclude: ["Core", "Entry"]),
        .target(name: "ConsciousnessEntry", dependencies: ["Consciousness", kit], path: "Plugins/Consciousness/Entry"),
        // scripts/bench-consciousness.sh: process(text) and conscience evaluations, in-process, one thread.
        .executableTarget(
            name: "ConsciousnessBench", dependencies: ["ConsciousnessCore", "ConscienceCore"],
            path: "Benchmarks/Consciousness/Driver"),
        // A real kernel with in-process plugins and HTTP, shared by the soul and consciousness tests.
        .target(
            name: "ConsciousnessTestSupport", dependencies: ["JameyKernel", "JameyTestKit"],
            path: "Tests/ConsciousnessTestSupport"),
        .testTarget(
            name: "SoulTests",
            dependencies: [
                "Soul", "SoulCore", "Conscience", kit, "JameyKernel", "JameyTestKit", "ConsciousnessTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "ConsciousnessTests",
            dependencies: [
                "Consciousness", "ConsciousnessCore", "Soul", "Conscience", kit, "JameyKernel", "JameyTestKit",
                "ConsciousnessTestSupport",
            ]),
        // The cache plugin's policies and structures: frequency sketch, W-TinyLFU and reference
        // policies, timer wheel, striped L1, trace reader and simulator (pure Swift).
        // Cross-module optimisation lets clients specialise the generic L1 (5× faster gets here);
        // exclusivity is checked statically only, since the dynamic checks on the policies' class
        // fields doubled the cost of a get (measured with Benchmarks/Cache/Driver).
        .target(
            name: "CacheCore", path: "Plugins/Cache/Core",
            swiftSettings: [.unsafeFlags(["-cross-module-optimization", "-enforce-exclusivity=unchecked"])]),
        .testTarget(name: "CacheCoreTests", dependencies: ["CacheCore"]),
        // The cache plugin: namespaces over an L1 (CacheCore) and an L3 in SQLite (GRDB), origin
        // read-through with single flight, bus requests and routes.
        // The cache.l1 service contract (jamey/cache.h): the L1/L3 hot path for other plugins.
        .target(
            name: "CJameyCache", path: "Plugins/Cache", exclude: ["Core", "Entry", "CHiredis"],
            sources: ["cache_contract.c"], publicHeadersPath: "include"),
        // hiredis (a system library), the cache plugin's Redis client for L2.
        .systemLibrary(
            name: "CHiredis", path: "Plugins/Cache/CHiredis", pkgConfig: "hiredis", providers: [.apt(["libhiredis-dev"])]),
        .target(
            name: "Cache",
            dependencies: [
                "CacheCore", "CJameyCache", "CHiredis", "PluginReplies", kit, kitGRDB,
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            path: "Plugins/Cache", exclude: ["Core", "Entry", "CHiredis", "include", "cache_contract.c"]),
        .target(name: "CacheEntry", dependencies: ["Cache", kit], path: "Plugins/Cache/Entry"),
        // Cache is linked in too, so the service table can be called through its C pointers.
        .testTarget(
            name: "CacheTests", dependencies: ["Cache", "CacheCore", "CJameyCache", "CJameyMemory", "JameyTestKit", kit]),
        // scripts/bench-cache.sh: the L1's get latency and throughput next to a dictionary under a lock.
        .executableTarget(name: "CacheBench", dependencies: ["CacheCore"], path: "Benchmarks/Cache/Driver"),
        // scripts/bench-cache.sh: cache.get answered by L1, L2 and L3 next to raw SQLite and the bus floor.
        .executableTarget(
            name: "CacheTiersBench",
            dependencies: ["JameyKernel", "JameyTestKit", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Benchmarks/Cache/Tiers"),
        // scripts/bench-cache.sh: memory searches with and without the cache's memory-search namespace.
        .executableTarget(
            name: "MemorySearchCacheBench", dependencies: ["CacheCore", "JameyKernel", "JameyTestKit"],
            path: "Benchmarks/Cache/MemorySearch"),
    ]
)
