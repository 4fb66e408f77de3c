import Foundation
import JameyTestKit

/// A Jamey node run as a real process (`jamey serve --config FILE`) with the mqtt plugin, so a
/// test can kill it the hard way.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let logPath: String

    /// Starts `jamey serve`; ``waitReady()`` waits for its "jamey ready" line.
    init(_ name: String, port: Int, config: String = "") throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-serve-\(name)")
        let yaml = Node.yaml(
            name: name, port: port, config: Node.fastReconnect + "\n" + config, dataDirectory: dir + "/data",
            library: try TestPlugins.library("MQTT"), logLevel: "info")
        try yaml.write(toFile: dir + "/jamey.yaml", atomically: true, encoding: .utf8)
        logPath = dir + "/jamey.log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "--default-signal=TERM,INT,HUP", TestPlugins.buildDirectory + "/jamey", "serve", "--config", dir + "/jamey.yaml",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    /// Waits (at most 60 s) for the "jamey ready" line.
    func waitReady() async throws {
        guard await eventually(timeout: .seconds(60), { log.contains("jamey ready") || !process.isRunning }), process.isRunning
        else { throw BrokerError("jamey serve did not get ready: \(log)") }
    }

    deinit { kill(SIGKILL) }

    /// Everything the process logged.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits for the process to end.
    func kill(_ signal: Int32) {
        guard process.isRunning else { return }
        sendSignal(process.processIdentifier, signal)
        process.waitUntilExit()
    }
}
