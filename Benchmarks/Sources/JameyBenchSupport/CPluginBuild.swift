import Foundation
import Synchronization

/// Builds the C plugins of the benchmarks with `make` (Plugins/CPlugins/Makefile, which runs
/// `cc -shared`) into ``BenchPaths/cPluginDirectory``: once per process, a no-op when up to date.
public enum CPluginBuild {
    private static let built = Mutex<String?>(nil)

    /// Builds (if needed) and returns the directory holding `libBenchSink.so`, `libProbe1.so` ...
    /// `libProbe6.so` and `libHelloC.so`.
    /// - Throws: ``BenchError`` with make's output when the build fails.
    public static func directory() throws -> String {
        if let done = built.withLock({ $0 }) { return done }
        let out = BenchPaths.cPluginDirectory
        // Set by scripts/bench-gates.sh, which builds them first: under valgrind a child process
        // cannot be spawned (Foundation's Process fails on valgrind's reserved descriptors).
        if ProcessInfo.processInfo.environment["JAMEY_BENCH_C_PLUGINS_BUILT"] == "1" {
            built.withLock { $0 = out }
            return out
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["make", "-s", "-C", BenchPaths.benchmarksDirectory + "/Plugins/CPlugins", "OUT=\(out)"]
        process.environment = ChildProcess.cleanEnvironment()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchError("building the C plugins failed:\n" + String(decoding: output, as: UTF8.self))
        }
        built.withLock { $0 = out }
        return out
    }

    /// The path of C plugin `lib<name>.so`, building the plugins first if needed.
    public static func library(_ name: String) throws -> String {
        try BenchPaths.existing(
            directory() + "/lib\(name).so", buildWith: "make -C Benchmarks/Plugins/CPlugins OUT=\(BenchPaths.cPluginDirectory)")
    }
}
