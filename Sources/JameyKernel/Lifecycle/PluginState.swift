/// A plugin's lifecycle state, visible at run time (`jamey plugins list`, `plugins_json`, the
/// `jamey_plugin_state` metric).
public struct PluginState: Sendable, Hashable, CustomStringConvertible {
    private enum Code: String, Sendable, CaseIterable {
        case disabled, loaded, initialized, started, stopping, stopped, failed
    }
    private let code: Code
    private init(_ code: Code) { self.code = code }

    /// Configured with `enabled: false`; never loaded.
    public static let disabled = PluginState(.disabled)
    /// Library mapped and descriptor checked; config section validated.
    public static let loaded = PluginState(.loaded)
    /// `init` returned OK.
    public static let initialized = PluginState(.initialized)
    /// `start` returned OK: the plugin is running.
    public static let started = PluginState(.started)
    /// `stop` is running.
    public static let stopping = PluginState(.stopping)
    /// Stopped and deinitialised.
    public static let stopped = PluginState(.stopped)
    /// Something failed; the record's `failure` says what.
    public static let failed = PluginState(.failed)

    /// Every state, in lifecycle order.
    public static let allCases: [PluginState] = Code.allCases.map(PluginState.init)

    /// The state's name (`started`).
    public var rawValue: String { code.rawValue }
    public var description: String { code.rawValue }
}
