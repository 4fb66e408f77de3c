import Foundation
import GRDB
import JameyKernel
import JameyTestKit

/// A kernel with the cache plugin loaded from its built library (real dlopen, real SQLite), for
/// tests over the bus. Boot, shutdown and requests block, so they run off the cooperative pool.
struct CacheKernel: Sendable {
    /// The kernel.
    let test: TestKernel
    /// The api plugin's port (0 when booted without it).
    var port = 0
    /// The admin key the api plugin accepts.
    static let adminKey = "cache-test-admin-key-0123456789abcdef"

    /// The namespaces most tests use: `main` (L1 + L3), `loaded` (origin `test.origin`),
    /// `small` (tiny L1, values up to 100 bytes, no L3), `cold` (no warming), `hot` (warms its 10
    /// hottest entries).
    static let defaultConfig = """
        namespaces:
          - {name: main, max_bytes: 1048576, l3_max_bytes: 4194304, max_value_bytes: 65536}
          - {name: loaded, max_bytes: 1048576, origin: test.origin, max_value_bytes: 65536}
          - {name: small, max_bytes: 8192, l3_max_bytes: 0, max_value_bytes: 100}
          - {name: cold, max_bytes: 1048576, warm_entries: 0, max_value_bytes: 65536}
          - {name: hot, max_bytes: 1048576, warm_entries: 10, max_value_bytes: 65536}
        load_timeout_ms: 30000
        """

    /// Boots a kernel.
    /// - Parameters:
    ///   - config: YAML of `plugins.cache.config`.
    ///   - dataDir: the kernel's data directory; pass the same one to two kernels to test a restart.
    ///   - http: also load the api plugin on a free port.
    ///   - others: more plugins to load (mqtt, memory).
    static func boot(
        config: String = defaultConfig, dataDir: String? = nil, http: Bool = false, others: [TestKernel.Plugin] = []
    ) async throws -> CacheKernel {
        var plugins: [TestKernel.Plugin] =
            [
                .init("cache", path: try TestPlugins.library("Cache"), required: true, config: config)
            ] + others
        if http {
            plugins.append(
                .init(
                    "api", path: try TestPlugins.library("API"), required: true,
                    config:
                        "port: 0\nadmin_key: \(adminKey)\nrate_limits:\n  read: {rate: 0, burst: 1}\n  write: {rate: 0, burst: 1}\n  admin: {rate: 0, burst: 1}"
                ))
        }
        let environment = dataDir.map { ["JAMEY_DATA_DIR": $0] } ?? [:]
        let chosen = plugins
        let test = try await onThread { try TestKernel.boot(plugins: chosen, environment: environment) }
        var kernel = CacheKernel(test: test)
        if http {
            _ = await eventually(timeout: .seconds(30)) {
                let detail = test.kernel.plugin(named: "api")?.health?.detail ?? ""
                kernel.port = detail.hasPrefix("listening on") ? detail.split(separator: ":").last.flatMap { Int($0) } ?? 0 : 0
                return kernel.port != 0
            }
        }
        return kernel
    }

    /// Boots a kernel, runs `body`, and stops the kernel whatever happens.
    static func with(
        config: String = defaultConfig, dataDir: String? = nil, http: Bool = false,
        _ body: (CacheKernel) async throws -> Void
    ) async throws {
        try await withStopping(try await boot(config: config, dataDir: dataDir, http: http), stop: { await $0.stop() }, body)
    }

    /// Stops the kernel.
    func stop() async {
        let test = self.test
        await onThread { test.shutdown() }
    }

    /// A bus request with a JSON body; returns the status header (200 when absent) and the JSON object.
    func request(_ topic: String, _ json: String = "", headers: [String: String] = [:]) async throws -> (
        status: Int, body: [String: Any]
    ) {
        let bus = test.bus
        let message = BusMessage(
            topic: topic, payload: Array(json.utf8), contentType: "application/json",
            headers: headers.map { BusHeader(key: $0.key, value: $0.value) })
        let reply = try await onThread { () throws(BusError) -> BusMessage in try bus.requestSync(message, timeout: .seconds(60))
        }
        let status = reply.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
        let body = (try? JSONSerialization.jsonObject(with: Data(reply.payload))) as? [String: Any] ?? [:]
        return (status, body)
    }

    func put(_ ns: String, _ key: String, _ value: String, ttl: Int? = nil) async throws -> Int {
        let ttlPart = ttl.map { #","ttl_ms":\#($0)"# } ?? ""
        return try await request("cache.put", #"{"namespace":"\#(ns)","key":"\#(key)","value":"\#(value)"\#(ttlPart)}"#).status
    }

    func get(_ ns: String, _ key: String) async throws -> (status: Int, body: [String: Any]) {
        try await request("cache.get", #"{"namespace":"\#(ns)","key":"\#(key)"}"#)
    }

    /// One namespace's section of `cache.stats`.
    func stats(_ ns: String) async throws -> [String: Any] {
        let reply = try await request("cache.stats", #"{"namespace":"\#(ns)"}"#)
        return (reply.body["namespaces"] as? [String: Any])?[ns] as? [String: Any] ?? [:]
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A nested integer, e.g. `int("l1", "hits")`.
    func int(_ path: String...) -> Int {
        var current: Any = self
        for p in path { current = (current as? [String: Any])?[p] ?? 0 }
        return current as? Int ?? 0
    }
}

extension CacheKernel {
    /// Opens the L3 file of a kernel that has stopped, waiting out a lock: the stopped
    /// instance's connections close as their last owner lets go, and the last one's checkpoint
    /// may hold the file an instant after the stop (CI saw "database is locked" without it).
    static func openStopped(_ path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        return try DatabaseQueue(path: path, configuration: configuration)
    }
}
