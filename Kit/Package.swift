// swift-tools-version: 6.2
import PackageDescription

// jamey-kit: what a plugin author builds against, and nothing else — the C ABI (jamey/plugin.h)
// and JameyPluginKit, the Swift SDK over it. Its own package so that a plugin's package resolves
// swift-log and swift-metrics only, not the server's dependencies. The server (../Package.swift)
// depends on it by path; a plugin made by `jamey plugins new --lang swift` does the same.
let package = Package(
    name: "jamey-kit",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "JameyPluginKit", targets: ["JameyPluginKit"]),
        // The header alone, for Swift targets that implement or consume the ABI directly (the kernel).
        .library(name: "CJameyABI", targets: ["CJameyABI"]),
        // Where an async request's reply meets its task: shared by the kit and the kernel's bus.
        .library(name: "JameyReplyWatch", targets: ["JameyReplyWatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        // The C ABI: the only stable contract between kernel and plugins (include/jamey/plugin.h).
        .target(name: "CJameyABI"),
        .target(name: "JameyReplyWatch"),
        .target(
            name: "JameyPluginKit",
            dependencies: [
                "CJameyABI", "JameyReplyWatch",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
    ]
)
