import Foundation
import Synchronization

/// Finds built plugin libraries and builds C plugins for tests.
public enum TestPlugins {
    /// The package root (found from this file's location).
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The directory holding the running test binary: SwiftPM puts the products it built (the
    /// Swift plugins' `.so` files) there.
    public static var buildDirectory: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            url = URL(fileURLWithPath: exe)
        }
        // swift-testing / xctest binaries live in <build>/<name>.xctest (a file on Linux)
        url.deleteLastPathComponent()
        return url.path
    }

    /// The path of a Swift plugin product built by SwiftPM (`HelloSwift` → `libHelloSwift.so`).
    /// - Throws: ``TestKitError`` when it has not been built (run `swift build --build-tests`).
    public static func library(_ product: String) throws -> String {
        let path = buildDirectory + "/lib\(product).so"
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestKitError(
                "lib\(product).so not found in \(buildDirectory): build the products first (swift build --build-tests)")
        }
        return path
    }

    /// Compiles a C plugin with `cc -shared` against `jamey/plugin.h` into a fresh directory.
    /// - Parameters:
    ///   - name: output `lib<name>.so`.
    ///   - source: the C source text.
    ///   - flags: extra compiler flags (e.g. `-DJAMEY_ABI_MINOR_OVERRIDE`).
    ///   - directory: where to put it (a new temporary directory when nil).
    /// - Returns: the path of the built library.
    public static func buildC(name: String, source: String, flags: [String] = [], in directory: String? = nil) throws -> String {
        let dir = try directory ?? TemporaryDirectory.make(prefix: "jamey-cplugin")
        let sourcePath = dir + "/\(name).c"
        try source.write(toFile: sourcePath, atomically: true, encoding: .utf8)
        let output = dir + "/lib\(name).so"
        try compile(sources: [sourcePath], output: output, flags: flags)
        return output
    }

    /// Builds the HelloC example (Plugins/HelloC) into `directory` (once per process when nil).
    public static func helloC(in directory: String? = nil) throws -> String {
        if directory == nil, let cached = helloCache.withLock({ $0 }) { return cached }
        let dir = try directory ?? TemporaryDirectory.make(prefix: "jamey-helloc")
        let output = dir + "/libHelloC.so"
        try compile(
            sources: [packageRoot + "/Plugins/HelloC/hello_c.c"], output: output,
            flags: ["-I" + packageRoot + "/Plugins/HelloC/include", "-Wall", "-Wextra", "-Werror"])
        if directory == nil { helloCache.withLock { $0 = output } }
        return output
    }

    private static let helloCache = LockedBox<String?>(nil)

    static func compile(sources: [String], output: String, flags: [String]) throws {
        let args =
            ["-std=c11", "-shared", "-fPIC", "-O1", "-I" + packageRoot + "/Kit/Sources/CJameyABI/include"] + flags + [
                "-o", output,
            ] + sources
        let result = try Run.command("/usr/bin/env", ["cc"] + args)
        guard result.status == 0 else {
            throw TestKitError("cc failed (\(result.status)) building \(output):\n\(result.output)")
        }
    }
}

/// A failure inside the test kit, with a sentence saying what to do.
public struct TestKitError: Error, CustomStringConvertible {
    /// The sentence.
    public let description: String
    /// - Parameter description: the sentence.
    public init(_ description: String) { self.description = description }
}

/// Temporary directories for tests.
///
/// Every directory made is removed, with what it holds, when the process exits normally (one run
/// of the suite made about two thousand, some holding databases); set `JAMEY_KEEP_TEST_DIRS=1`
/// to keep them for a look after a failure.
public enum TemporaryDirectory {
    /// The directories to remove at exit; nil until the first is made (and the exit handler set).
    private static let made = Mutex<[String]?>(nil)

    /// Creates a new empty directory under the system temporary directory.
    public static func make(prefix: String = "jamey-test") throws -> String {
        var template = Array(((NSTemporaryDirectory() as NSString).appendingPathComponent("\(prefix).XXXXXX")).utf8CString)
        guard let p = mkdtemp(&template) else { throw TestKitError("mkdtemp failed") }
        let path = String(cString: p)
        if ProcessInfo.processInfo.environment["JAMEY_KEEP_TEST_DIRS"] != "1" {
            made.withLock { paths in
                if paths == nil {
                    atexit { TemporaryDirectory.removeAll() }
                    paths = []
                }
                paths?.append(path)
            }
        }
        return path
    }

    /// Removes the directories made so far.
    private static func removeAll() {
        for path in made.withLock({ $0 ?? [] }) { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// Runs a command and captures its output.
public enum Run {
    /// The exit status and combined stdout+stderr of a finished command.
    public struct Result: Sendable {
        /// Exit status (or 128+signal).
        public let status: Int32
        /// Standard output.
        public let stdout: String
        /// Standard error.
        public let stderr: String
        /// Both, stdout first.
        public var output: String { stdout + stderr }
    }

    /// Runs `executable` with `arguments` and waits for it.
    public static func command(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes fully before waiting so a chatty child cannot block on a full pipe.
        let errData = LockedBox(Data())
        let errReader = Thread { errData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while errReader.isExecuting || !errReader.isFinished { usleep(1000) }
        return Result(
            status: process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
    }
}
