import Foundation
import JameyTestKit

/// A Jamey node run as a real process (`jamey serve --config FILE`) with the mqtt plugin, so a
/// test can kill it the hard way. The process is a ``ChildProcess``: killed when the object goes
/// away and reaped on a thread of its own.
final class ServeProcess: Sendable {
    let process: ChildProcess
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
        process = try ChildProcess(
            TestPlugins.buildDirectory + "/jamey", ["serve", "--config", dir + "/jamey.yaml"], stderrPath: logPath)
    }

    /// Waits (at most 60 s) for the "jamey ready" line.
    func waitReady() async throws {
        guard await eventually(timeout: .seconds(60), { log.contains("jamey ready") || !process.isRunning }), process.isRunning
        else { throw BrokerError("jamey serve did not get ready: \(log)") }
    }

    /// Everything the process logged.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Sends `signal` and waits, off the Swift concurrency pool, for the process to end (bounded:
    /// SIGKILL after 10 s).
    func kill(_ signal: Int32) async {
        let process = self.process
        _ = await onThread { process.stop(signal) }
    }
}
