import Conscience
import Foundation
import JameyKernel
import JameyPluginKit
import JameyTestKit

/// A kernel with the conscience plugin booted in-process (its type linked into the tests), for
/// fast tests of its handlers, storage and hooks over the real bus. Boot, shutdown and requests
/// block, so they run off the cooperative pool.
struct ConscienceKernel: Sendable {
    /// The kernel.
    let test: TestKernel

    /// Boots a kernel with the conscience plugin.
    /// - Parameters:
    ///   - config: YAML lines of `plugins.conscience.config`.
    ///   - dataDir: the kernel's `data_dir` (a fresh one under the test's directory when nil);
    ///     pass the same directory to two kernels to test a restart.
    static func boot(config: String? = nil, dataDir: String? = nil) async throws -> ConscienceKernel {
        let entry = try inProcessEntryPoint(for: ConsciencePlugin.self)
        let environment = dataDir.map { ["JAMEY_DATA_DIR": $0] } ?? [:]
        let test = try await onThread {
            try TestKernel.boot(inProcess: [.init("conscience", entryPoint: entry, config: config)], environment: environment)
        }
        return ConscienceKernel(test: test)
    }

    /// Boots a kernel, runs `body`, and shuts the kernel down whatever happens.
    static func with(
        config: String? = nil, dataDir: String? = nil, _ body: (ConscienceKernel) async throws -> Void
    ) async throws {
        try await withStopping(try await boot(config: config, dataDir: dataDir), stop: { await $0.stop() }, body)
    }

    /// Stops the kernel.
    func stop() async {
        let test = self.test
        await onThread { test.shutdown() }
    }

    /// Sends a bus request and waits for its reply.
    func request(
        _ topic: String, _ body: String = "", contentType: String? = "application/json", headers: [String: String] = [:]
    ) async throws -> BusReply {
        try await request(topic, bytes: Array(body.utf8), contentType: contentType, headers: headers)
    }

    /// Sends a bus request with a raw payload and waits for its reply.
    func request(
        _ topic: String, bytes: [UInt8], contentType: String? = "application/json", headers: [String: String] = [:]
    ) async throws -> BusReply {
        let message = BusMessage(
            topic: topic, payload: bytes, contentType: contentType,
            headers: headers.map { BusHeader(key: $0.key, value: $0.value) })
        let bus = test.bus
        let reply = try await onThread { () throws(BusError) -> BusMessage in
            try bus.requestSync(message, timeout: .seconds(30))
        }
        return BusReply(reply)
    }

    /// The kernel's metrics exposition.
    var exposition: String { test.kernel.metrics.exposition() }
}

/// A reply, read for tests.
struct BusReply: Sendable {
    /// The `status` header as an integer (200 when absent).
    let status: Int
    /// The content type.
    let contentType: String?
    /// The payload as text.
    let text: String

    init(_ message: BusMessage) {
        status = message.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
        contentType = message.contentType
        text = String(decoding: message.payload, as: UTF8.self)
    }

    /// The payload as a JSON object (empty when it is not one).
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }
}

/// The value of the series of metric `name` whose labels include every one of `labels`
/// (`operation="create"`), in a Prometheus exposition; 0 when absent.
func metric(_ exposition: String, _ name: String, _ labels: String...) -> Double {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last else { continue }
        return Double(value) ?? 0
    }
    return 0
}
