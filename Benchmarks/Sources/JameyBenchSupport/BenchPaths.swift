import Foundation

/// Where the benchmarks find what they run: the repository, the built `jamey` binary and Swift
/// plugins, and the C plugins they compile.
public enum BenchPaths {
    /// `Benchmarks/`, the benchmark package (found from this file's location).
    public static let benchmarksDirectory: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The repository root: the `jamey` package.
    public static var repositoryRoot: String { (benchmarksDirectory as NSString).deletingLastPathComponent }

    /// Where `Plugins/CPlugins/Makefile` puts the C plugins (`Benchmarks/.build/cplugins`).
    public static var cPluginDirectory: String { benchmarksDirectory + "/.build/cplugins" }

    /// Where each benchmark suite writes its summary lines for `scripts/bench.sh`.
    public static var summaryDirectory: String { benchmarksDirectory + "/.build/bench-summary" }

    /// The directory of the running benchmark executable; SwiftPM puts the benchmark package's
    /// Swift plugin (`libBenchDriver.so`) next to it.
    public static var productsDirectory: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return (exe as NSString).deletingLastPathComponent
    }

    /// The root package's release products (`jamey`, `libHelloSwift.so`): `$JAMEY_BENCH_BIN_DIR`
    /// (set by `scripts/bench.sh` to `swift build -c release --show-bin-path`), else
    /// `<root>/.build/release`.
    public static var jameyBinDirectory: String {
        if let dir = ProcessInfo.processInfo.environment["JAMEY_BENCH_BIN_DIR"], !dir.isEmpty { return dir }
        return repositoryRoot + "/.build/release"
    }

    /// A file that must exist, or an error saying how to build it.
    /// - Parameters:
    ///   - path: the file.
    ///   - hint: the command that builds it.
    public static func existing(_ path: String, buildWith hint: String) throws -> String {
        guard FileManager.default.fileExists(atPath: path) else {
            throw BenchError("\(path) does not exist: build it with `\(hint)` (scripts/bench.sh does)")
        }
        return path
    }
}

/// A benchmark set-up failure, as one sentence.
public struct BenchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
