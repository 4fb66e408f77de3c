import CJameyABI
import JameyKernel

extension TestKernel {
    /// A plugin linked into the test binary, loaded from its entry point instead of a library.
    public struct InProcessPlugin: Sendable {
        /// Config name (must match the descriptor's name).
        public var name: String
        /// The plugin's `jamey_plugin_register` function: for a Swift plugin type,
        /// `try inProcessEntryPoint(for: MyPlugin.self)` from JameyPluginKit.
        public var entryPoint: jamey_plugin_register_fn
        /// `required:` in the config.
        public var required: Bool
        /// The plugin's `config:` section as YAML (indented by the kit), or nil.
        public var configYAML: String?
        /// `privileges:` in the config (e.g. `["snapshot"]`).
        public var privileges: [String] = []

        /// - Parameters:
        ///   - name: config name.
        ///   - entryPoint: the plugin's entry point.
        ///   - required: stop start-up if it fails.
        ///   - config: its section as YAML lines.
        public init(_ name: String, entryPoint: jamey_plugin_register_fn, required: Bool = true, config: String? = nil) {
            self.name = name
            self.entryPoint = entryPoint
            self.required = required
            self.configYAML = config
        }
    }

    /// Creates, loads and starts a kernel with plugins linked into the test binary (`inProcess`)
    /// beside plugin libraries loaded with `dlopen` (`plugins`): the fast way to test a Swift
    /// plugin's logic, with no library to build.
    ///
    /// ```swift
    /// let k = try TestKernel.boot(
    ///     inProcess: [.init("hello_swift", entryPoint: try inProcessEntryPoint(for: HelloSwift.self))],
    ///     plugins: [.init("hello_c", path: try TestPlugins.helloC())])
    /// defer { k.shutdown() }
    /// ```
    ///
    /// Everything still crosses the C ABI, but an in-process plugin shares the test's image with
    /// the kernel (one copy of the kit, swift-log and swift-metrics), which a deployed plugin never
    /// does: keep a test that loads the built library (``boot(plugins:extra:environment:start:logLevel:)``).
    ///
    /// - Parameters:
    ///   - inProcess: plugins loaded from their entry points; each is registered under
    ///     `<directory>/in-process/<name>` (see `InProcessPlugins`) until ``shutdown(deadline:)``.
    ///   - plugins: plugin libraries, as for ``boot(plugins:extra:environment:start:logLevel:)``.
    ///   - extra: more top-level YAML.
    ///   - environment: `JAMEY_*` overrides seen by the kernel.
    ///   - start: false to stop after `load()`.
    ///   - logLevel: the kernel's log level.
    /// - Throws: `ConfigErrors` or `KernelError` exactly as `jamey serve` would fail.
    public static func boot(
        inProcess: [InProcessPlugin], plugins: [Plugin] = [], extra: String = "", environment: [String: String] = [:],
        start: Bool = true, logLevel: String = "warning"
    ) throws -> TestKernel {
        let dir = try TemporaryDirectory.make()
        var configured = plugins
        var paths: [String] = []
        for plugin in inProcess {
            let path = dir + "/in-process/" + plugin.name
            InProcessPlugins.register(plugin.entryPoint, at: path)
            paths.append(path)
            var entry = TestKernel.Plugin(plugin.name, path: path, required: plugin.required, config: plugin.configYAML)
            entry.privileges = plugin.privileges
            configured.append(entry)
        }
        do {
            return try boot(
                yaml: yaml(plugins: configured, extra: extra, logLevel: logLevel), directory: dir, inProcessPaths: paths,
                environment: environment, start: start)
        } catch {
            for path in paths { InProcessPlugins.unregister(path: path) }
            throw error
        }
    }
}
