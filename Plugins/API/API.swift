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
        configuration: configuration,
        metricHelp: RequestMetrics.help
    )

    let context: PluginContext
    let settings: APIConfiguration
    let keys: KeyStore
    private let gateway: Gateway
    private let server: GatewayServer
    private let state = Mutex<(address: String?, stateEvents: Subscription?)>((nil, nil))
    /// Deletes keys past `key_retention_days` at start and every hour.
    private let purging = Mutex<Task<Void, Never>?>(nil)
    /// The kernel's plugins generation the route table was last built from.
    private let routesGeneration = Mutex<UInt64>(0)

    /// Opens the key store and sets up the bootstrap admin key. Nothing listens yet. The kit has
    /// checked `configuration` (``problems(in:)``) before.
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

    /// Builds the route table and starts serving; returns once the address is bound. The route
    /// table follows the kernel's plugin state events, so a plugin's routes appear as soon as it
    /// starts and disappear as soon as it stops or fails.
    public func start() async throws {
        let events = try context.bus.subscribe(PluginContext.pluginStateTopic) { [weak self] _ in self?.refreshRoutes() }
        refreshRoutes()
        let address = try await server.start()
        let scheme = settings.tls.enabled ? "https" : "http"
        context.logger.notice("listening on \(scheme)://\(address)")
        state.withLock { $0 = ("\(scheme)://\(address)", events) }
        if settings.keyRetentionDays > 0 {
            purging.withLock { task in
                task = Task { [self] in
                    while !Task.isCancelled {
                        purgeEndedKeys()
                        try? await Task.sleep(for: .seconds(3600))
                    }
                }
            }
        }
    }

    /// Deletes the keys revoked or expired more than `key_retention_days` ago: without it every
    /// key ever revoked stayed in the store, in memory and in each listing, for good.
    func purgeEndedKeys(now: Date = Date()) {
        let days = settings.keyRetentionDays
        do {
            let purged = try keys.purge(endedBefore: now.addingTimeInterval(-Double(days) * 86400))
            if purged > 0 {
                context.logger.notice("deleted \(purged) API key(s) revoked or expired more than \(days) days ago")
            }
        } catch {
            context.logger.warning("cannot delete API keys revoked or expired long ago: \(error)")
        }
    }

    /// Ends event streams, stops accepting connections, and lets in-flight requests finish for up
    /// to `limits.shutdown_grace_ms`.
    public func stop() async throws {
        let events = state.withLock { s in
            defer { s = (nil, nil) }
            return s.stateEvents
        }
        events?.cancel()
        let purge = purging.withLock { task in
            defer { task = nil }
            return task
        }
        purge?.cancel()
        await purge?.value
        gateway.beginStopping()
        // Within the kernel's stop deadline too, less a margin for closing: the kit waited for
        // answers first, and a grace past what the deadline left (shutdown_grace_ms above
        // hooks.stop_timeout_ms, or near it) got the gateway abandoned with its connections open.
        var grace = Duration.milliseconds(settings.limits.shutdownGraceMs)
        if let left = context.hookTimeLeft { grace = max(.zero, min(grace, left - .milliseconds(500))) }
        await server.stop(grace: grace)
    }

    public func health() -> PluginHealthReport {
        if let address = state.withLock({ $0.address }) { return .ok("listening on \(address)") }
        return .ok("not listening")
    }

    public func snapshot(to directory: String) async throws {
        try keys.snapshot(into: directory)
    }

    public func restore(from directory: String) async throws {
        try keys.restore(from: directory)
    }

    /// Rebuilds the route table from the routes of every started (or stopping) plugin, unless the
    /// kernel's plugins generation is unchanged, logging routes that are refused when the set
    /// changes.
    func refreshRoutes() {
        let generation = context.pluginsGeneration
        guard routesGeneration.withLock({ $0 != generation || generation == 0 }) else { return }
        let plugins: [PluginSnapshot]
        do {
            plugins = try context.plugins()
        } catch {
            context.logger.error("cannot read the kernel's plugin list: \(error)")
            return
        }
        routesGeneration.withLock { $0 = generation }
        let isLive = { (p: PluginSnapshot) in p.state == .started || p.state == .stopping }
        let declared = plugins.filter(isLive).flatMap { p in p.routes.map { (p.name, DeclaredRoute($0)) } }
        let every = plugins.flatMap { p in p.routes.map { (p.name, DeclaredRoute($0)) } }
        let resting = plugins.filter { !isLive($0) && $0.state != .disabled }.flatMap { p in
            p.routes.map { (p.name, p.state.name, DeclaredRoute($0)) }
        }
        let table = RouteTable(
            core: Endpoint.core(metricsPublic: settings.metricsPublic), plugins: declared, declared: every, resting: resting)
        let old = gateway.routes
        let signature = { (t: RouteTable) in
            t.endpoints.map { "\($0.method) \($0.path) \($0.action)" }
                + t.resting.map { "\($0.plugin) \($0.state) \($0.method) \($0.path)" }
        }
        guard signature(old) != signature(table) || old.rejected != table.rejected || old.declaredScopes != table.declaredScopes
        else { return }
        gateway.install(table)
        for reason in table.rejected where !old.rejected.contains(reason) { context.logger.warning("route refused: \(reason)") }
        let forwarded = table.endpoints.filter(\.isForwarded).count
        context.logger.info("serving \(table.endpoints.count - forwarded) core routes and \(forwarded) plugin routes")
    }
}

@_cdecl("jamey_plugin_register") public func register(_ r: JameyRegistration?) -> JameyDescriptor? { export(API.self, r) }

extension API: ConfigurationChecking {
    /// Proxies and origins that could never match, and TLS files that cannot serve
    /// (``APIConfiguration/problems()``).
    public static func problems(in configuration: APIConfiguration) -> [String] { configuration.problems() }
}
