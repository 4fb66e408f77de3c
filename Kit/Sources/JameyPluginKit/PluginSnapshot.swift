import CJameyABI

/// One configured plugin as the kernel sees it now: its state, cached health, routes and the
/// figures the kernel counted for it. Read with ``PluginContext/plugins()`` (ABI 1.3); nothing is
/// rendered as text and parsed back.
public struct PluginSnapshot: Sendable {
    /// A plugin's lifecycle state. A struct over a private enum, so new states break nobody.
    public struct State: Sendable, Hashable, CustomStringConvertible {
        private enum Code: String, Sendable, CaseIterable {
            case disabled, loaded, initialized, started, stopping, stopped, failed
        }
        private let code: Code
        private init(_ code: Code) { self.code = code }
        init(abiValue: UInt32) { self.init(Code.allCases[Int(min(abiValue, 6))]) }

        /// Configured with `enabled: false`.
        public static let disabled = State(.disabled)
        /// Library mapped, descriptor and config checked.
        public static let loaded = State(.loaded)
        /// `init` returned OK.
        public static let initialized = State(.initialized)
        /// Running.
        public static let started = State(.started)
        /// `stop` is running.
        public static let stopping = State(.stopping)
        /// Stopped and deinitialised.
        public static let stopped = State(.stopped)
        /// Something failed; ``PluginSnapshot/failure`` says what.
        public static let failed = State(.failed)

        /// The state's name (`started`), as in the kernel's state events.
        public var name: String { code.rawValue }
        public var description: String { code.rawValue }
    }

    /// A required or provided capability.
    public struct Dependency: Sendable, Hashable {
        /// Plugin or service name.
        public let name: String
        /// A version range (requires) or an exact version (provides).
        public let version: String
        /// A requirement the plugin runs without (`JAMEY_DEPENDENCY_OPTIONAL`, ABI 1.7).
        public var optional: Bool = false
    }

    /// What the kernel counted for the plugin since the process started.
    public struct Figures: Sendable, Equatable {
        /// Handler invocations on its subscriptions.
        public let messagesIn: UInt64
        /// Publishes, requests and replies it sent.
        public let messagesOut: UInt64
        /// Handler invocations that returned an error.
        public let handlerErrors: UInt64
        /// Messages its full queues dropped.
        public let messagesDropped: UInt64
        /// Its requests that timed out.
        public let requestTimeouts: UInt64
        /// Total time in its bus handlers, in seconds.
        public let handlerSeconds: Double
        /// Total time in its lifecycle and health hooks, in seconds.
        public let hookSeconds: Double
    }

    /// The config name.
    public let name: String
    /// Its lifecycle state.
    public let state: State
    /// Its version, once loaded.
    public let version: String?
    /// The ABI version it was built for, once loaded.
    public let abi: String?
    /// The library path, once resolved.
    public let path: String?
    /// Why it failed, when ``state`` is ``State/failed``.
    public let failure: String?
    /// Whether the config marks it required.
    public let required: Bool
    /// Its cached health while started, else nil.
    public let health: PluginHealthReport?
    /// What it requires.
    public let requires: [Dependency]
    /// What it provides.
    public let provides: [Dependency]
    /// The HTTP routes it declares.
    public let routes: [PluginManifest.Route]
    /// What the kernel counted for it.
    public let figures: Figures
}

extension PluginSnapshot {
    /// Copies one `jamey_plugin_info` (valid only during the kernel's callback).
    init(_ info: jamey_plugin_info) {
        func text(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
        func list(_ base: UnsafePointer<jamey_dependency>?, _ count: Int) -> [Dependency] {
            guard let base else { return [] }
            return (0..<count).map {
                Dependency(
                    name: text(base[$0].name) ?? "", version: text(base[$0].version) ?? "*",
                    optional: base[$0].flags & JAMEY_DEPENDENCY_OPTIONAL != 0)
            }
        }
        name = text(info.name) ?? ""
        state = State(abiValue: info.state)
        version = text(info.version)
        abi = text(info.abi)
        path = text(info.path)
        failure = text(info.failure)
        required = info.required != 0
        let detail = text(info.health_detail) ?? ""
        switch info.health {
        case Int32(JAMEY_HEALTH_OK.rawValue): health = .ok(detail)
        case Int32(JAMEY_HEALTH_DEGRADED.rawValue): health = .degraded(detail)
        case JAMEY_HEALTH_NONE: health = nil
        default: health = .unhealthy(detail)
        }
        requires = list(info.requires_list, info.requires_count)
        provides = list(info.provides_list, info.provides_count)
        routes =
            info.routes.map { base in
                (0..<info.route_count).map { i in
                    let r = base[i]
                    return PluginManifest.Route(
                        text(r.method) ?? "", text(r.path) ?? "", topic: text(r.topic) ?? "", scope: text(r.scope) ?? "",
                        summary: text(r.summary) ?? "", operationID: text(r.operation_id), requestSchema: text(r.request_schema),
                        responseSchema: text(r.response_schema), details: text(r.description),
                        longRunning: r.flags & JAMEY_ROUTE_LONG_RUNNING != 0)
                }
            } ?? []
        let f = info.figures?.pointee ?? jamey_plugin_figures()
        figures = Figures(
            messagesIn: f.messages_in, messagesOut: f.messages_out, handlerErrors: f.handler_errors,
            messagesDropped: f.messages_dropped, requestTimeouts: f.request_timeouts, handlerSeconds: f.handler_seconds,
            hookSeconds: f.hook_seconds)
    }
}

extension PluginContext {
    /// Every configured plugin, in config order, as typed data (ABI 1.3 `plugin_list`).
    /// - Throws: ``JameyError`` with code ``JameyError/Code/unsupported`` on a kernel older than 1.3.
    public func plugins() throws(JameyError) -> [PluginSnapshot] {
        guard let function = handle.api.pointee.plugin_list else {
            throw JameyError(.unsupported, "the kernel is older than ABI 1.3: it has no plugin_list")
        }
        var result: [PluginSnapshot] = []
        let code = withUnsafeMutablePointer(to: &result) { out in
            function(
                handle.host,
                { user, infos, count in
                    guard let user, let infos else { return }
                    let list = user.assumingMemoryBound(to: [PluginSnapshot].self)
                    list.pointee = (0..<count).map { PluginSnapshot(infos[$0]) }
                }, out)
        }
        guard code == JAMEY_OK else { throw JameyError(JameyError.Code(abiValue: code), "plugin_list failed") }
        return result
    }

    /// A number that changes whenever any plugin's state or cached health changes (not its
    /// figures); 0 on a kernel older than ABI 1.3.
    public var pluginsGeneration: UInt64 {
        handle.api.pointee.plugins_generation.map { $0(handle.host) } ?? 0
    }

    /// The bus topic of the kernel's plugin state events: headers `plugin`, `state` and
    /// `previous`; JSON payload `{"plugin", "state", "previous", "failure", "generation"}`.
    public static let pluginStateTopic = "kernel.events.plugin_state"
}
