import Foundation
import JameyKernel
import JameyTestKit

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// A real kernel for the soul and consciousness tests: plugins linked into the test binary
/// (booted from their entry points) beside built libraries loaded with `dlopen` (the api plugin
/// for HTTP). Boot, shutdown and requests block, so they run off the cooperative pool.
public struct PluginKernel: Sendable {
    /// The admin key the api plugin accepts, when it is loaded.
    public static let adminKey = "consciousness-test-admin-key-0123456789"

    /// The kernel.
    public let test: TestKernel

    /// The api plugin's config: a free port, the admin key, no rate limits.
    public static let apiConfig =
        "port: 0\nadmin_key: \(adminKey)\nrate_limits:\n  read: {rate: 0, burst: 1}\n  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}"

    /// Boots a kernel, runs `body`, and shuts it down whatever happens.
    /// - Parameters:
    ///   - inProcess: plugins linked into the test binary.
    ///   - plugins: plugin libraries.
    ///   - dataDir: the kernel's `data_dir` (fresh when nil); the same one twice tests a restart.
    public static func with(
        _ inProcess: [TestKernel.InProcessPlugin], plugins: [TestKernel.Plugin] = [], dataDir: String? = nil,
        _ body: (PluginKernel) async throws -> Void
    ) async throws {
        let environment = dataDir.map { ["JAMEY_DATA_DIR": $0] } ?? [:]
        let test = try await onThread {
            try TestKernel.boot(inProcess: inProcess, plugins: plugins, environment: environment)
        }
        try await withStopping(PluginKernel(test: test), stop: { k in await onThread { k.test.shutdown() } }, body)
    }

    /// Sends a bus request with a text body and waits up to 30 s for its reply.
    public func request(
        _ topic: String, _ body: String = "", contentType: String? = "application/json", headers: [String: String] = [:]
    ) async throws -> BusReply {
        try await request(topic, bytes: Array(body.utf8), contentType: contentType, headers: headers)
    }

    /// Sends a bus request with raw bytes and waits up to 30 s for its reply.
    public func request(
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
    public var exposition: String { test.kernel.metrics.exposition() }

    /// The api plugin's port, once it listens.
    public func apiPort() async throws -> Int {
        var port: Int?
        _ = await eventually(timeout: .seconds(20)) {
            let detail = test.kernel.plugin(named: "api")?.health?.detail ?? ""
            port = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } : nil
            return port != nil
        }
        guard let port else { throw TestKitError("the api plugin is not listening") }
        return port
    }

    /// Sends one HTTP request with the admin key through the api plugin.
    public func http(_ method: String, _ path: String, body: String? = nil) async throws -> BusReply {
        let port = try await apiPort()
        guard let url = URL(string: "http://127.0.0.1:\(port)\(path)") else { throw TestKitError("bad path \(path)") }
        var request = URLRequest(url: url)
        request.httpMethod = method
        request.setValue("Bearer \(Self.adminKey)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw TestKitError("not an HTTP response") }
        return BusReply(
            status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"),
            text: String(decoding: data, as: UTF8.self))
    }
}

/// A reply (bus or HTTP), read for tests.
public struct BusReply: Sendable {
    /// The status (the `status` header on the bus, 200 when absent).
    public let status: Int
    /// The content type.
    public let contentType: String?
    /// The payload as text.
    public let text: String

    init(status: Int, contentType: String?, text: String) {
        self.status = status
        self.contentType = contentType
        self.text = text
    }

    init(_ message: BusMessage) {
        status = message.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
        contentType = message.contentType
        text = String(decoding: message.payload, as: UTF8.self)
    }

    /// The payload as a JSON object (empty when it is not one).
    public var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The number at `key` (nil when absent or not a number).
    public func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
}

/// The value of the series of metric `name` whose labels include every one of `labels`, in a
/// Prometheus exposition; 0 when absent.
public func metric(_ exposition: String, _ name: String, _ labels: String...) -> Double {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + "{") || line.hasPrefix(name + " ") {
        guard labels.allSatisfy({ line.contains($0) }), let value = line.split(separator: " ").last else { continue }
        return Double(value) ?? 0
    }
    return 0
}
