import CacheCore
import Foundation
import JameyGRDB
import JameyPluginKit
import Synchronization

/// The cache plugin: per-namespace L1 (in memory, W-TinyLFU by default, bounded in bytes, TTL on a
/// timer wheel) over an L3 (SQLite, bounded, survives restarts), with read-through to an origin
/// bus topic and single flight. Bus: `cache.get|put|invalidate|warm|stats`; HTTP `/v1/cache/...`.
/// L3 lives in `<data_dir>/cache/cache.sqlite`; snapshot and restore use SQLite's online backup.
public final class CachePlugin: JameyPlugin, SnapshotCapable {
    let context: PluginContext
    let configuration: CacheConfiguration
    let store: L3Store
    /// The database failures answered lately, which make health degraded.
    let databaseFailures = RecentDatabaseFailures()
    /// When a missed-invalidations warning was last written.
    private let lastGapLog = Mutex<ContinuousClock.Instant?>(nil)
    /// The namespaces by name.
    let namespaces: [String: CacheNamespace]
    /// The Redis tier, nil when `l2.enabled` is false.
    let l2: L2Client?
    let l2Metrics: L2Metrics
    /// Listens for other nodes' invalidations (with L2 only).
    let subscriber: L2Subscriber?
    /// Publishes and applies invalidations over the bus (nil when `bus_invalidations` is false).
    let feed: BusInvalidations?
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// Whether L2 was up at the last maintenance pass (nil before the first): its changes are
    /// logged once each.
    private let l2WasUp = Mutex<Bool?>(nil)
    /// The `cache.l1` table's context: closed at stop, so a table other plugins hold no longer
    /// keeps this instance's tiers (and its L3 database and Redis connection) alive.
    private let service = Mutex<ServiceContext<CacheService.Provider>?>(nil)

    /// The longest key, in UTF-8 bytes.
    static let maxKeyBytes = 512
    /// The longest TTL, in milliseconds (a year).
    static let maxTTLMs = 31_536_000_000

    /// Opens the L3 database and sets up the namespaces (the kit checked them before:
    /// ``problems(in:)``).
    /// - Throws: why the database cannot be opened.
    public init(context: PluginContext, configuration: CacheConfiguration) async throws {
        self.context = context
        self.configuration = configuration
        let l2 = configuration.l2
        let l2Client =
            l2.enabled
            ? L2Client(
                settings: .init(
                    host: l2.host, port: l2.port, keyPrefix: l2.keyPrefix, connectTimeoutMs: l2.connectTimeoutMs,
                    commandTimeoutMs: l2.commandTimeoutMs)) : nil
        self.l2 = l2Client
        l2Metrics = L2Metrics(factory: context.metrics)
        // Invalidations travel between nodes on a Redis channel; a node ignores its own. `kind`
        // is "invalidate" for an invalidation (absent for a put, as from nodes before it existed).
        let node = UUID().uuidString
        let channel = l2.keyPrefix + "invalidations"
        let announce: CacheNamespace.Announce? =
            l2Client.map { client in
                { @Sendable namespace, key, prefix, invalidated in
                    var message: [String: String] = ["node": node, "namespace": namespace]
                    message["key"] = key
                    message["prefix"] = prefix
                    if invalidated { message["kind"] = "invalidate" }
                    if let data = try? JSONSerialization.data(withJSONObject: message) { client.publish(channel, Array(data)) }
                }
            }
        let feed =
            configuration.busInvalidations
            ? BusInvalidations(bus: context.bus, node: context.nodeID, metrics: context.metrics) : nil
        self.feed = feed
        let directory = try context.dataDirectory()
        do {
            store = try L3Store(directory: directory)
        } catch {
            throw JameyError("cannot open the cache database in \(directory): \(error)")
        }
        var namespaces: [String: CacheNamespace] = [:]
        for ns in configuration.namespaces ?? [] {
            // Checked before init (``problems(in:)``): the names are unique and the policy known.
            guard let policy = CacheConfiguration.policy(ns) else { throw JameyError("namespace \(ns.name): unknown policy") }
            let bus = context.bus
            let timeout = Duration.milliseconds(configuration.loadTimeoutMs)
            let origin = ns.origin
            let name = ns.name
            var loader: (@Sendable (String) async -> Result<[UInt8], CacheError>)?
            if !origin.isEmpty {
                loader = { @Sendable key in
                    await CachePlugin.load(bus: bus, topic: origin, namespace: name, key: key, timeout: timeout)
                }
            }
            namespaces[ns.name] = CacheNamespace(
                settings: ns, policy: policy, l2: ns.l2 && ns.shared ? l2Client : nil, l3: store,
                metrics: CacheMetrics(namespace: ns.name, factory: context.metrics), loader: loader,
                announce: ns.shared ? announce : nil, feed: ns.shared ? feed : nil)
        }
        self.namespaces = namespaces
        let known = namespaces
        subscriber = l2Client.map { client in
            L2Subscriber(settings: client.settings, channel: channel) { payload in
                guard let message = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: String],
                    message["node"] != node, let name = message["namespace"], let ns = known[name]
                else { return }
                ns.dropLocal(key: message["key"], prefix: message["prefix"], invalidated: message["kind"] == "invalidate")
            }
        }
    }

    /// Warms every namespace from L3, subscribes the handlers and starts the maintenance loop
    /// (read counts to L3, expired L3 entries out, metrics).
    public func start() async throws {
        var warmed = 0
        var fromOrigin: [(CacheNamespace, String)] = []
        for ns in namespaces.values {
            ns.restoreSketch()
            warmed += (try? ns.warmFromL3()) ?? 0
            for key in ns.settings.warmKeys ?? [] where (try? Self.check(key: key, name: "warm_keys")) != nil {
                if (try? ns.getLocal(key)) != nil { warmed += 1 } else { fromOrigin.append((ns, key)) }
            }
        }
        // Configured keys no local tier has come from the origin, without holding up the start.
        if !fromOrigin.isEmpty {
            let pending = fromOrigin
            Task { for (ns, key) in pending { _ = try? await ns.get(key) } }
        }
        let ordered = (configuration.namespaces ?? []).compactMap { namespaces[$0.name] }
        let table = ServiceContext(CacheService.Provider(ordered))
        service.withLock { $0 = table }
        try context.services.register(CacheService.name, version: CacheService.version, table: CacheService.table(table))
        try subscribeHandlers()
        if let feed {
            let known = namespaces
            try context.bus.subscribe(BusInvalidations.topicPrefix + ">", capacity: 100_000) { message in
                guard let event = feed.event(message, known: { known[$0] != nil }), let ns = known[event.namespace]
                else { return }
                if event.afterGap { self.logGap(event.namespace, total: feed.gapCount) }
                ns.apply(event)
            }
        }
        subscriber?.start()
        maintenance.withLock { task in
            task = Task { [self] in
                var seconds = 0
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(1))
                    seconds += 1
                    let saveSketches = seconds % configuration.sketchSaveIntervalS == 0
                    // Blocking work (Redis with its timeouts, SQLite) on a thread of its own, not
                    // on the concurrency pool every plugin shares: a hung Redis held a pool
                    // thread for a second at a time.
                    await onOwnThread(named: "cache-maintain") { [self] in
                        maintain()
                        if saveSketches { for ns in namespaces.values { ns.saveSketch() } }
                    }
                }
            }
        }
        context.logger.info("cache started: \(namespaces.count) namespace(s), \(warmed) entries warmed from L3")
    }

    /// Stops the maintenance loop and writes the last read counts.
    public func stop() async throws {
        let task = maintenance.withLock { t in
            defer { t = nil }
            return t
        }
        task?.cancel()
        _ = await task?.value
        service.withLock { $0 }?.close()
        if let subscriber, await !subscriber.stop() {
            context.logger.warning("cache: the Redis invalidation listener did not end within 5 s of stop")
        }
        for ns in namespaces.values {
            ns.flushHits()
            ns.saveSketch()
        }
    }

    /// One maintenance pass.
    func maintain() {
        if let l2 {
            // A PING a second finds an outage while nothing reads L2: the tier was marked down
            // only by a failed command, so an idle node reported Redis up for as long as it idled.
            if l2.isUp { l2.ping() } else { l2.reconnectIfDown() }
            // What Redis missed (down, or answering errors) is replayed once it answers again.
            if l2.isUp {
                let replayed = namespaces.values.reduce(0) { $0 + $1.replayMissedL2() }
                if replayed > 0 {
                    context.logger.notice(
                        "L2 redis answers again: \(replayed) key(s) or prefix(es) changed while it could not be written were invalidated on every tier and node"
                    )
                }
            }
            l2Metrics.sync(l2)
            logL2Change(l2)
        }
        if let expired = try? store.purgeExpired(now: CacheNamespace.nowMs()) {
            for (name, n) in expired { namespaces[name]?.countExpiredL3(n) }
        }
        for ns in namespaces.values {
            ns.flushHits()
            ns.l1.expire()
            ns.syncMetrics()
        }
    }

    /// Says that another node's invalidations were missed, at most once every 10 s: the namespace
    /// was emptied on this node (L1 and L3), which an operator sees as a drop in its hit ratio.
    private func logGap(_ namespace: String, total: Int) {
        let now = ContinuousClock.now
        let due = lastGapLog.withLock { last in
            guard last.map({ now - $0 >= .seconds(10) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        context.logger.warning(
            "cache: invalidations from another node were missed (namespace \(namespace)): its L1 and L3 entries here were dropped; \(total) gap(s) since start (cache_invalidation_gaps_total)"
        )
    }

    /// Logs L2 going down (warning) and coming back (notice), once each; nothing was logged of
    /// either.
    private func logL2Change(_ l2: L2Client) {
        let up = l2.isUp
        let was = l2WasUp.withLock { was in
            defer { was = up }
            return was
        }
        guard was != up else { return }
        let address = "\(l2.settings.host):\(l2.settings.port)"
        if let outage = l2.outage, !up {
            context.logger.warning(
                "L2 redis at \(address) is unreachable (\(outage.reason)); serving from L1 and L3, reconnecting every second")
        } else if up && was == false {
            context.logger.notice("L2 redis at \(address) is reachable again")
        }
    }

    public func health() -> PluginHealthReport {
        let entries = namespaces.values.reduce(0) { $0 + $1.l1.statistics.entries }
        var summary = "\(namespaces.count) namespace(s), \(entries) entries in L1"
        if let failing = databaseFailures.summary {
            summary += "; L3 \(failing)"
            if let outage = l2?.outage { summary += "; L2 redis unreachable since \(outage.since) (\(outage.reason))" }
            return .degraded(summary)
        }
        guard let l2 else { return .ok(summary + "; L2 off") }
        let address = "\(l2.settings.host):\(l2.settings.port)"
        if let outage = l2.outage {
            return .degraded(
                "\(summary); L2 redis at \(address) unreachable since \(outage.since) (\(outage.reason)); serving from L1 and L3, reconnecting every second"
            )
        }
        return .ok("\(summary); L2 redis at \(address) up")
    }

    public func snapshot(to directory: String) async throws {
        for ns in namespaces.values {
            ns.flushHits()
            ns.saveSketch()
        }
        try store.snapshot(into: directory)
    }

    /// Replaces L3 with the snapshot and empties every L1 (its entries may predate the snapshot).
    public func restore(from directory: String) async throws {
        try store.restore(from: directory)
        for ns in namespaces.values {
            ns.l1.removeAll { _ in true }
            ns.restoreSketch()
            _ = try? ns.warmFromL3()
        }
    }

    /// Asks an origin topic for a key: the request is `{"namespace", "key"}`, a reply with status
    /// 200 (or none) carries the value as its payload.
    static func load(
        bus: PluginBus, topic: String, namespace: String, key: String, timeout: Duration
    ) async -> Result<[UInt8], CacheError> {
        let body = (try? JSONSerialization.data(withJSONObject: ["namespace": namespace, "key": key])) ?? Data()
        do {
            let reply = try await bus.request(topic, Outgoing(Array(body), contentType: "application/json"), timeout: timeout)
            let status = reply.headers["status"].flatMap { Int($0) } ?? 200
            guard (200..<300).contains(status) else {
                return .failure(
                    .origin("origin '\(topic)' answered \(status) for key '\(key.prefix(64))': \(reply.text.prefix(200))"))
            }
            return .success(reply.payload)
        } catch {
            if error.code == .timeout {
                return .failure(.origin("origin '\(topic)' did not answer within \(timeout)", status: 504))
            }
            return .failure(.origin("origin '\(topic)' failed for key '\(key.prefix(64))': \(error)"))
        }
    }
}

extension CachePlugin: ConfigurationChecking {
    /// What is wrong with the namespaces: a bad or repeated name, an unknown policy, a largest
    /// value that does not fit in L1 or L3, a warm key that is not a key, an origin that is not a
    /// topic or is the cache's own.
    public static func problems(in configuration: CacheConfiguration) -> [String] {
        var found: [String] = []
        var names: Set<String> = []
        for (i, ns) in (configuration.namespaces ?? []).enumerated() {
            let field = "namespaces[\(i)]"
            if ns.name.range(of: "^[a-z0-9][a-z0-9._-]{0,63}$", options: .regularExpression) == nil {
                found.append("\(field).name: '\(ns.name)' must match [a-z0-9][a-z0-9._-]{0,63}")
            } else if !names.insert(ns.name).inserted {
                found.append("\(field).name: '\(ns.name)' is configured twice")
            }
            if CacheConfiguration.policy(ns) == nil {
                found.append("\(field).policy: '\(ns.policy)' is not one of \(PolicyKind.names.joined(separator: ", "))")
            }
            if CachedValue.weight(key: "", bytes: ns.maxValueBytes) + maxKeyBytes > ns.maxBytes {
                found.append("\(field).max_value_bytes: \(ns.maxValueBytes) does not fit in max_bytes \(ns.maxBytes)")
            }
            // L3 keeps a stored entry whatever it evicts for it: one over the bound would empty
            // the namespace's L3 at each put and still exceed it.
            if ns.l3MaxBytes != 0 && ns.maxValueBytes + maxKeyBytes > ns.l3MaxBytes {
                found.append(
                    "\(field).max_value_bytes: \(ns.maxValueBytes) (plus a key of up to \(maxKeyBytes) bytes) does not fit in l3_max_bytes \(ns.l3MaxBytes) (0 turns L3 off)"
                )
            }
            for (k, key) in (ns.warmKeys ?? []).enumerated() {
                do { try check(key: key, name: "\(field).warm_keys[\(k)]") } catch { found.append(error.description) }
            }
            if !ns.origin.isEmpty {
                // A topic (no wildcard, no blank), and not the cache's own: a miss would ask the
                // cache again, which would wait for the origin until load_timeout_ms.
                let segments = ns.origin.split(separator: ".", omittingEmptySubsequences: false)
                if segments.contains(where: { $0.isEmpty || $0 == "*" || $0 == ">" })
                    || ns.origin.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
                {
                    found.append("\(field).origin: '\(ns.origin)' is not a bus topic (dotted segments, no wildcards)")
                } else if segments.first == "cache" {
                    found.append(
                        "\(field).origin: '\(ns.origin)' is one of the cache's own topics: a miss would ask the cache itself")
                }
            }
        }
        return found
    }
}
