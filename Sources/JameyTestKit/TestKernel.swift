import Foundation
import JameyKernel
import Logging

/// A real kernel booted in-process with the plugins a test names, in a fresh data directory.
///
/// ```swift
/// let k = try TestKernel.boot(plugins: [.init("hello_c", path: try TestPlugins.helloC())])
/// defer { k.shutdown() }
/// let reply = try k.bus.requestSync(BusMessage(topic: "hello.c.greet", payload: Array("x".utf8)))
/// ```
public final class TestKernel: Sendable {
    /// One plugin to configure.
    public struct Plugin: Sendable {
        /// Config name (must match the descriptor's name unless testing that mismatch).
        public var name: String
        /// Library path.
        public var path: String?
        /// `required:` in the config.
        public var required: Bool
        /// `enabled:` in the config.
        public var enabled: Bool
        /// The plugin's `config:` section as YAML (indented by the kit), or nil.
        public var configYAML: String?
        /// `privileges:` in the config (e.g. `["snapshot"]`).
        public var privileges: [String] = []
        /// `isolation:` in the config (`"process"`), or nil for the default.
        public var isolation: String? = nil

        /// - Parameters:
        ///   - name: config name.
        ///   - path: library path.
        ///   - required: stop start-up if it fails.
        ///   - enabled: load it at all.
        ///   - config: its section as YAML lines.
        public init(_ name: String, path: String?, required: Bool = false, enabled: Bool = true, config: String? = nil) {
            self.name = name
            self.path = path
            self.required = required
            self.enabled = enabled
            self.configYAML = config
        }
    }

    /// The running kernel.
    public let kernel: Kernel
    /// The test's directory (config file and data dir live here).
    public let directory: String
    /// A bus endpoint owned by "test".
    public let bus: BusEndpoint
    /// The paths this kernel's in-process plugins are registered under (forgotten at shutdown).
    let inProcessPaths: [String]

    private init(kernel: Kernel, directory: String, inProcessPaths: [String]) {
        self.kernel = kernel
        self.directory = directory
        self.inProcessPaths = inProcessPaths
        self.bus = kernel.bus.endpoint(owner: "test")
    }

    /// The config YAML the kit writes for `plugins` plus `extra` top-level YAML.
    public static func yaml(plugins: [Plugin], extra: String = "", logLevel: String = "warning") -> String {
        // Health is refreshed in the background; tests read it often, so refresh it often. The
        // hooks a restore, reload or deploy waits for get generous deadlines: a loaded 2-core CI
        // machine runs many kernels at once, and stalled one memory stop past the default 5 s
        // (nothing else completed in the process for 9 s). A test's own shutdown keeps its 5 s.
        let hooks =
            extra.contains("hooks:")
            ? ""
            : "hooks:\n  health_interval_ms: 50\n  init_timeout_ms: 60000\n  start_timeout_ms: 60000\n"
                + "  stop_timeout_ms: 30000\n"
        var text = "node:\n  name: test-node\ndata_dir: data\nlog:\n  level: \(logLevel)\n\(hooks)\(extra)\nplugins:\n"
        if plugins.isEmpty { text += "  {}\n" }
        for p in plugins {
            text += "  \(p.name):\n    enabled: \(p.enabled)\n    required: \(p.required)\n"
            if !p.privileges.isEmpty { text += "    privileges: [\(p.privileges.joined(separator: ", "))]\n" }
            if let isolation = p.isolation { text += "    isolation: \(isolation)\n" }
            if let path = p.path { text += "    path: \"\(path)\"\n" }
            if let config = p.configYAML {
                text +=
                    "    config:\n"
                    + config.split(separator: "\n", omittingEmptySubsequences: false)
                    .map { "      " + $0 }.joined(separator: "\n") + "\n"
            }
        }
        return text
    }

    /// Writes a config for `plugins`, then creates, loads and starts a kernel.
    /// - Parameters:
    ///   - plugins: the plugins to configure.
    ///   - extra: more top-level YAML (e.g. `bus:` settings).
    ///   - environment: `JAMEY_*` overrides seen by the kernel.
    ///   - start: false to stop after `load()` (for load-failure tests).
    /// - Throws: `ConfigErrors` or `KernelError` exactly as `jamey serve` would fail.
    public static func boot(
        plugins: [Plugin], extra: String = "", environment: [String: String] = [:], start: Bool = true,
        logLevel: String = "warning"
    ) throws -> TestKernel {
        try boot(yaml: yaml(plugins: plugins, extra: extra, logLevel: logLevel), environment: environment, start: start)
    }

    /// Boots from raw YAML written to `<dir>/jamey.yaml`.
    public static func boot(yaml: String, environment: [String: String] = [:], start: Bool = true) throws -> TestKernel {
        try boot(yaml: yaml, directory: TemporaryDirectory.make(), environment: environment, start: start)
    }

    /// Boots from raw YAML written to `<directory>/jamey.yaml`.
    static func boot(
        yaml: String, directory dir: String, inProcessPaths: [String] = [], environment: [String: String], start: Bool
    ) throws -> TestKernel {
        let path = dir + "/jamey.yaml"
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        let config = try KernelConfig.load(path: path, defaultYAML: "", environment: environment)
        var logger = Logger(label: "jamey.test")
        logger.logLevel = config.loggerLevel
        let kernel = try Kernel(config: config, logger: logger, environment: environment)
        // Reloads read the same file again, as `jamey serve` does.
        kernel.setReloadSource { () throws(KernelError) in
            do throws(ConfigErrors) {
                return try KernelConfig.load(path: path, defaultYAML: "", environment: environment)
            } catch {
                throw KernelError.invalidConfig(error)
            }
        }
        let test = TestKernel(kernel: kernel, directory: dir, inProcessPaths: inProcessPaths)
        try kernel.load()
        if start { try kernel.start() }
        return test
    }

    /// Writes a new `jamey.yaml` (as ``yaml(plugins:extra:logLevel:)`` makes it) and reloads it,
    /// as SIGHUP would.
    /// - Returns: what the reload changed.
    /// - Throws: the reload's `KernelError`.
    @discardableResult
    public func reload(plugins: [Plugin], extra: String = "", logLevel: String = "warning") throws -> ReloadReport {
        try Self.yaml(plugins: plugins, extra: extra, logLevel: logLevel)
            .write(toFile: directory + "/jamey.yaml", atomically: true, encoding: .utf8)
        return try kernel.reloadFromSource()
    }

    /// Stops every plugin (reverse order) and the bus.
    public func shutdown(deadline: Duration = .seconds(5)) {
        kernel.stop(deadline: deadline)
        for path in inProcessPaths { InProcessPlugins.unregister(path: path) }
    }
}
