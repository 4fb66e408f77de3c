import Foundation
import JameyTestKit

/// `holding-broker.py`: a minimal MQTT 3.1.1 broker that keeps back the PUBACK of QoS 1
/// messages whose topic contains "held" until ``release()``, and counts the QoS 0 messages it
/// received. For what mosquitto cannot be made to do: acknowledge one message late on purpose.
final class HoldingBroker: Sendable {
    let port: Int
    private let directory: String
    private let process: ChildProcess

    private init(port: Int, directory: String, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.process = process
    }

    /// - Parameter cut: close every connection right after its CONNACK.
    static func start(cut: Bool = false) async throws -> HoldingBroker {
        let directory = try TemporaryDirectory.make(prefix: "jamey-holding-broker")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("holding-broker.py")
        let process = try ChildProcess(
            "/usr/bin/python3", [script.path, directory] + (cut ? ["cut"] : []), stderrPath: directory + "/stderr")
        guard
            await eventually(
                timeout: .seconds(10),
                {
                    (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap { Int($0) } != nil
                }),
            let port = (try? String(contentsOfFile: directory + "/port", encoding: .utf8)).flatMap({ Int($0) })
        else {
            throw TestKitError(
                "holding-broker.py did not start: \((try? String(contentsOfFile: directory + "/stderr", encoding: .utf8)) ?? "")")
        }
        return HoldingBroker(port: port, directory: directory, process: process)
    }

    /// A broker and a node (MQTT 3.1.1, no ack timeout) exporting `held.>` at QoS 1 and, when
    /// given, `also` at `qos`.
    static func withNode(_ name: String, also: String? = nil, qos: Int = 0) async throws -> (HoldingBroker, Node) {
        let broker = try await start()
        var config = "protocol: mqttv311\nack_timeout_ms: 0\noutbound:\n  - bus: \"held.>\"\n    qos: 1\n"
        if let also { config += "  - bus: \"\(also)\"\n    qos: \(qos)\n" }
        return (broker, try await Node.boot(name, port: broker.port, config: config))
    }

    private var counts: [Int] {
        ((try? String(contentsOfFile: directory + "/counts", encoding: .utf8)) ?? "").split(separator: " ").compactMap {
            Int($0)
        }
    }

    /// QoS 0 messages received.
    var qos0: Int { counts.first ?? 0 }

    /// PUBACKs kept back.
    var held: Int { counts.count == 3 ? counts[1] : 0 }

    /// Connections accepted.
    var connections: Int { counts.count == 3 ? counts[2] : 0 }

    /// Sends the PUBACKs kept back, and those of later held messages at once.
    func release() throws {
        try Data().write(to: URL(fileURLWithPath: directory + "/release"))
    }
}
