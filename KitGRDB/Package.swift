// swift-tools-version: 6.2
import PackageDescription

// jamey-kit-grdb: snapshot and restore of a plugin's GRDB database in one line, for the
// `snapshot`/`restore` hooks a backup plugin (the vault) runs. Its own package beside Kit/ so a
// plugin without SQLite does not resolve GRDB; a plugin with state depends on both.
let package = Package(
    name: "jamey-kit-grdb",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "JameyGRDB", targets: ["JameyGRDB"])
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0")
    ],
    targets: [
        .target(name: "JameyGRDB", dependencies: [.product(name: "GRDB", package: "GRDB.swift")])
    ]
)
