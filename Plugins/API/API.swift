import APICore
import Foundation
import JameyPluginKit
import Logging
import Synchronization

/// The api plugin: Jamey's HTTP gateway.
///
/// Serves health, readiness, metrics, the plugin list, the message bus (publish, request,
/// Server-Sent Events subscriptions), API key management, the routes other plugins declare
/// (forwarded to them as bus requests), and an OpenAPI 3.1 document of all of it. API keys live
/// in `<data_dir>/api/keys.sqlite`; the bootstrap admin key comes from `JAMEY_API_ADMIN_KEY`, the
/// config's `admin_key`, or is generated into `<data_dir>/api/admin.key` on first start.
///
/// The server starts in ``start()`` and stops in ``stop()``, letting in-flight requests finish.
public final class API: JameyPlugin, SnapshotCapable {
    public static let manifest = PluginManifest(
        name: "api",
        version: "1.0.0",
        description: "HTTP gateway: health, metrics, plugins, bus, API keys and plugin-declared routes (Hummingbird)",
        configuration: configuration
    )

    let context: PluginContext
    let settings: APIConfiguration
    let keys: KeyStore
    private let gateway: Gateway
    private let server: GatewayServer
    private let state = Mutex<(address: String?, refresher: Task<Void, Never>?)>((nil, nil))

    /// How often the route table is rebuilt from the kernel's plugin list.
    static let routeRefresh: Duration = .seconds(5)

    /// Opens the key store and sets up the bootstrap admin key. Nothing listens yet.
    /// - Throws: when the data directory or the key database cannot be used, or the bootstrap key
    ///   is too short.
    public init(context: PluginContext, configuration: APIConfiguration) async throws {
        self.context = context
        self.settings = configuration
        let directory = try context.dataDirectory()
        do {
            keys = try KeyStore(directory: directory)
        } catch {
            throw JameyError("cannot open the API key database in \(directory): \(error)")
        }
        gateway = Gateway(plugin: context, settings: configuration, keys: keys)
        var hbLogger = context.logger
        hbLogger.logLevel = max(hbLogger.logLevel, .notice)
        server = GatewayServer(gateway: gateway, settings: configuration, logger: hbLogger)
        try bootstrapAdminKey(directory: directory)
    }

    /// Builds the route table and starts serving; returns once the address is bound.
    public func start() async throws {
        refreshRoutes()
        let address = try await server.start()
        let scheme = settings.tls.enabled ? "https" : "http"
        context.logger.notice("listening on \(scheme)://\(address)")
        let refresher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.routeRefresh)
                if Task.isCancelled { return }
                self?.refreshRoutes()
            }
        }
        state.withLock { $0 = ("\(scheme)://\(address)", refresher) }
    }

    /// Ends event streams, stops accepting connections, and lets in-flight requests finish for up
    /// to `limits.shutdown_grace_ms`.
    public func stop() async throws {
        let refresher = state.withLock { s in
            defer { s = (nil, nil) }
            return s.refresher
        }
        refresher?.cancel()
        gateway.beginStopping()
        await server.stop(grace: .milliseconds(settings.limits.shutdownGraceMs))
    }

    public func health() -> PluginHealthReport {
        if let address = state.withLock({ $0.address }) { return .ok("listening on \(address)") }
        return .ok("not listening")
    }

    public func snapshot(to directory: String) async throws {
        try keys.backup(to: directory + "/keys.sqlite")
    }

    public func restore(from directory: String) async throws {
        try keys.restore(from: directory + "/keys.sqlite")
    }

    /// Rebuilds the route table from the routes of every plugin that is not failed, disabled or
    /// stopped, logging routes that are refused when the set changes.
    func refreshRoutes() {
        let plugins: [PluginInfo]
        do {
            plugins = try PluginInfo.list(from: context.pluginsJSON())
        } catch {
            context.logger.error("cannot read the kernel's plugin list: \(error)")
            return
        }
        let live = plugins.filter { !["failed", "disabled", "stopped"].contains($0.state) }
        let declared = live.flatMap { p in p.routes.map { (p.name, $0) } }
        let table = RouteTable(core: Endpoint.core(metricsPublic: settings.metricsPublic), plugins: declared)
        let old = gateway.routes
        let signature = { (t: RouteTable) in t.endpoints.map { "\($0.method) \($0.path) \($0.action)" } }
        guard signature(old) != signature(table) || old.rejected != table.rejected else { return }
        gateway.install(table)
        for reason in table.rejected where !old.rejected.contains(reason) { context.logger.warning("route refused: \(reason)") }
        let forwarded = table.endpoints.filter(\.isForwarded).count
        context.logger.info("serving \(table.endpoints.count - forwarded) core routes and \(forwarded) plugin routes")
    }
}

@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(API.self, r) }
