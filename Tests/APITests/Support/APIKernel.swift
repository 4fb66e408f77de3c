import Foundation
import JameyKernel
import JameyTestKit

/// A kernel booted with the api plugin on a free loopback port (port 0; the bound port is read
/// from the plugin's health detail), plus the example plugins and the probe plugin, for tests
/// over real HTTP. Boot and shutdown block, so they run off the cooperative pool.
final class APIKernel: Sendable {
    /// The admin key every test kernel accepts (the config's `admin_key`).
    static let adminKey = "test-admin-key-0123456789abcdef"

    /// The kernel.
    let test: TestKernel
    /// The port the api plugin listens on (0 until it listens when booted with `start: false`).
    let port: Int
    /// The probe plugin's event log.
    let eventLog: String

    /// What to boot.
    struct Options: Sendable {
        /// YAML lines added to the api plugin's config.
        var config = ""
        /// The config's admin key (nil: none, so admin.key is generated).
        var adminKey: String? = APIKernel.adminKey
        /// Load the probe plugin.
        var probe = true
        /// Load HelloC and HelloSwift.
        var hello = true
        /// More plugins, configured before the api plugin.
        var before: [TestKernel.Plugin] = []
        /// More plugins, configured after the api plugin (so started after it).
        var after: [TestKernel.Plugin] = []
        /// Start the kernel (false: the test starts it and calls ``waitForPort()``).
        var start = true
        /// More top-level kernel YAML (e.g. `hooks:` deadlines).
        var kernelYAML = ""
        /// The kernel's environment (`JAMEY_DATA_DIR` to boot on a data directory again).
        var environment: [String: String] = [:]
    }

    private init(options: Options) throws {
        let dir = try TemporaryDirectory.make(prefix: "jamey-api")
        eventLog = dir + "/events.log"
        var plugins: [TestKernel.Plugin] = []
        if options.hello {
            plugins.append(.init("hello_c", path: try TestPlugins.helloC()))
            plugins.append(.init("hello_swift", path: try TestPlugins.library("HelloSwift")))
        }
        if options.probe { plugins.append(.init("probe", path: try ProbePlugin.build(eventLog: eventLog))) }
        plugins += options.before
        var section = "port: 0\n"
        if !options.config.contains("rate_limits:") {
            section += "rate_limits:\n  public: {rate: 100000, burst: 100000}\n  read: {rate: 100000, burst: 100000}\n"
            section += "  write: {rate: 100000, burst: 100000}\n  admin: {rate: 100000, burst: 100000}\n"
        }
        if let adminKey = options.adminKey { section += "admin_key: \(adminKey)\n" }
        section += options.config
        plugins.append(.init("api", path: try TestPlugins.library("API"), required: true, config: section))
        plugins += options.after
        test = try TestKernel.boot(
            plugins: plugins, extra: options.kernelYAML, environment: options.environment, start: options.start)
        port = options.start ? try Self.port(of: test) : 0
    }

    /// Boots a kernel.
    static func boot(_ options: Options = Options()) async throws -> APIKernel {
        try await onThread { try APIKernel(options: options) }
    }

    /// Boots a kernel, runs `body`, and shuts the kernel down whatever happens.
    static func with(_ options: Options = Options(), _ body: (APIKernel) async throws -> Void) async throws {
        try await withStopping(try await boot(options), stop: { await $0.stop() }, body)
    }

    /// Stops the kernel (plugins in reverse order, then the bus).
    func stop() async {
        let test = self.test
        await onThread { test.shutdown() }
    }

    /// The port from the api plugin's health detail (`listening on http://127.0.0.1:PORT`).
    /// Health is refreshed in the background after start, so the detail may take a moment.
    private static func port(of test: TestKernel) throws -> Int {
        var found: Int?
        _ = TestKernel.eventually(timeout: .seconds(10)) {
            found = listeningPort(test)
            return found != nil || test.kernel.plugin(named: "api")?.state != .started
        }
        guard let port = found else {
            let failure = test.kernel.plugin(named: "api")?.failure ?? "no failure recorded"
            test.shutdown()
            throw HTTPClientError("the api plugin is not listening: \(failure)")
        }
        return port
    }

    private static func listeningPort(_ test: TestKernel) -> Int? {
        guard let detail = test.kernel.plugin(named: "api")?.health?.detail, detail.hasPrefix("listening on") else { return nil }
        return detail.split(separator: ":").last.flatMap { Int($0) }
    }

    /// Waits (bounded) until the api plugin listens, for kernels booted with `start: false`.
    func waitForPort() async throws -> Int {
        var port: Int?
        _ = await eventually(timeout: .seconds(10)) {
            port = Self.listeningPort(test)
            return port != nil
        }
        guard let port else { throw HTTPClientError("the api plugin did not start listening") }
        return port
    }

    /// The api plugin's data directory.
    var dataDirectory: String { test.directory + "/data/api" }

    /// Creates a key through the API and returns (id, key text).
    func createKey(scope: String, extra: String = "") async throws -> (id: String, key: String) {
        let reply = try await HTTP.post(
            port, "/v1/keys", key: Self.adminKey, body: #"{"name":"test","scope":"\#(scope)"\#(extra)}"#)
        guard reply.status == 201, let id = reply.json["id"] as? String, let key = reply.json["key"] as? String else {
            throw HTTPClientError("creating a key failed: \(reply.status) \(reply.text)")
        }
        return (id, key)
    }
}

/// The value of one series in a Prometheus exposition.
func metricValue(_ exposition: String, _ series: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
        return Double(line.dropFirst(series.count + 1))
    }
    return nil
}
