import Foundation
import JameyTestKit
import Testing

/// A real `jamey serve` process with HelloC, HelloSwift and the api plugin on a free loopback
/// port, in its own directory; the api plugin generates `<dir>/data/api/admin.key`. Started with
/// ``CLITests/startServe(_:_:environment:)``, stopped with SIGTERM.
final class LiveServer {
    /// The server's directory (config file, data directory), and the working directory of calls.
    let directory: String
    /// `http://127.0.0.1:PORT`.
    let url: String
    private let process: Process
    /// What the server writes to standard error after start-up, read on a thread of its own.
    private let laterLog = LockedBox("")

    /// The plugins it runs, with hello_c's `config:` section as given.
    static func plugins(helloC config: String? = nil, api: String = "port: 0\naccess_log: false") throws
        -> [TestKernel.Plugin]
    {
        [
            .init("hello_c", path: try TestPlugins.helloC(), config: config),
            .init("hello_swift", path: try TestPlugins.library("HelloSwift")),
            .init("api", path: try TestPlugins.library("API"), required: true, config: api),
        ]
    }

    /// The server's process id (for signals).
    var pid: Int32 { process.processIdentifier }

    /// - Parameters:
    ///   - api: the api plugin's config section.
    ///   - environment: more environment for `jamey serve` (`JAMEY_LOG_FORMAT`, ...).
    init(api: String = "port: 0\naccess_log: false", environment: [String: String] = [:]) throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-call")
        let yaml = TestKernel.yaml(plugins: try Self.plugins(api: api), logLevel: "info")
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        let (process, stderr, _) = try CLITests().startServe(dir, dir + "/jamey.yaml", environment: environment)
        // The api plugin logs "listening on http://127.0.0.1:PORT" before the kernel says READY=1.
        var log = ""
        var port: Int?
        while port == nil, process.isRunning {
            let data = stderr.fileHandleForReading.availableData
            if data.isEmpty { break }
            log += String(decoding: data, as: UTF8.self)
            port = Self.port(in: log)
        }
        guard let port else {
            process.terminate()
            throw TestKitError("jamey serve did not say where it listens:\n\(log)")
        }
        self.directory = dir
        self.url = "http://127.0.0.1:\(port)"
        self.process = process
        // Keep reading, so the pipe never fills and stalls the server's logging.
        let handle = stderr.fileHandleForReading
        let box = laterLog
        Thread {
            while true {
                let data = handle.availableData
                if data.isEmpty { return }
                box.withLock { $0 += String(decoding: data, as: UTF8.self) }
            }
        }.start()
    }

    /// What the server has logged since it started listening.
    var log: String { laterLog.value }

    deinit {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }

    /// The admin key the api plugin generated.
    var adminKey: String {
        get throws {
            try String(contentsOfFile: directory + "/data/api/admin.key", encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// Runs `jamey call ARGUMENTS` in the server's directory with `JAMEY_SERVER` set to it and
    /// no `JAMEY_KEY` (so the generated `./data/api/admin.key` is the key), plus `environment`.
    func call(_ arguments: [String], environment: [String: String] = [:], directory: String? = nil) throws -> Run.Result {
        var env = ProcessInfo.processInfo.environment
        env["JAMEY_KEY"] = nil
        env["JAMEY_SERVER"] = url
        env.merge(environment) { $1 }
        return try Run.command(
            TestPlugins.buildDirectory + "/jamey", ["call"] + arguments, environment: env, directory: directory ?? self.directory)
    }

    /// Runs `jamey ARGUMENTS` (any command) in the server's directory with `JAMEY_SERVER` set.
    func jamey(_ arguments: [String]) throws -> Run.Result {
        var env = ProcessInfo.processInfo.environment
        env["JAMEY_KEY"] = nil
        env["JAMEY_SERVER"] = url
        return try Run.command(TestPlugins.buildDirectory + "/jamey", arguments, environment: env, directory: directory)
    }

    /// The port in the first `listening on http://HOST:PORT` of `log`.
    static func port(in log: String) -> Int? {
        guard let start = log.range(of: "listening on http://")?.upperBound else { return nil }
        let rest = log[start...]
        guard let colon = rest.firstIndex(of: ":") else { return nil }
        let digits = rest[rest.index(after: colon)...].prefix(while: \.isNumber)
        guard digits.endIndex < rest.endIndex else { return nil }  // the whole number has arrived
        return Int(digits)
    }
}
