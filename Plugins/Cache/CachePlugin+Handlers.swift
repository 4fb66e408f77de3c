import CacheCore
import Foundation
import JameyPluginKit

extension CachePlugin {
    /// Subscribes every handler. `cache.get` answers on the bus thread when a local tier has the
    /// key and only hands an origin load to a task; the others answer inline on a bus thread.
    func subscribeHandlers() throws {
        let bus = context.bus
        // A responder that replies itself, later (from the task) when it must wait for an origin.
        // Declared, so the bus gives the requests to it and not to listeners on the topic (a
        // plain subscription took turns with an HTTP event stream on `cache.get`, and the
        // stream's turns timed out).
        try bus.subscribe(Topic.get, responder: true) { [self] request in
            guard request.isRequest else { return }
            let local: Outgoing?
            do throws(CacheError) { local = try getLocal(request) } catch { local = fail(error, request) }
            if let local {
                bus.reply(to: request, local)
                return
            }
            Task {
                let reply: Outgoing
                do throws(CacheError) { reply = try await get(request) } catch { reply = fail(error, request) }
                bus.reply(to: request, reply)
            }
        }
        try bus.respondInline(Topic.put) { [self] request in answer(request) { try put(request) } }
        try bus.respondInline(Topic.invalidate) { [self] request in answer(request) { try invalidate(request) } }
        try bus.respond(Topic.warm) { [self] request in
            do { return try await warm(request) } catch let error as CacheError { return fail(error, request) }
        }
        try bus.respondInline(Topic.stats) { [self] request in answer(request) { try stats(request) } }
    }

    private func answer(_ request: Message, _ body: () throws -> Outgoing) -> Outgoing {
        do { return try body() } catch let error as CacheError { return fail(error, request) } catch {
            return fail(.storage("request", error), request)
        }
    }

    /// The problem reply of `error` to `request`, after logging a database failure's cause.
    func fail(_ error: CacheError, _ request: Message) -> Outgoing {
        guard let failure = error.failure else { return Reply.failure(error) }
        let cited = failure.cited(request.requestID)
        context.logger.error("cache \(error.operation ?? "request"): \(cited.logMessage)")
        databaseFailures.record(cited)
        return Reply.failure(CacheError(cited, operation: error.operation))
    }

    /// The namespace a request names.
    func namespace(_ request: CacheRequest) throws(CacheError) -> CacheNamespace {
        guard let name = try request.string("namespace") else { throw .invalid("namespace: required") }
        guard let ns = namespaces[name] else {
            let known = namespaces.keys.sorted().joined(separator: ", ")
            throw .notFound(
                "namespace: no namespace '\(name.prefix(64))' is configured (configured: \(known.isEmpty ? "none" : known))")
        }
        return ns
    }

    /// The key a request names, checked.
    static func key(_ request: CacheRequest, name: String = "key") throws(CacheError) -> String {
        guard let key = try request.string(name) else { throw .invalid("\(name): required") }
        try check(key: key, name: name)
        return key
    }

    static func check(key: String, name: String) throws(CacheError) {
        guard !key.isEmpty else { throw .invalid("\(name): must not be empty") }
        guard key.utf8.count <= maxKeyBytes else {
            throw .invalid("\(name): \(key.utf8.count) bytes is longer than the limit of \(maxKeyBytes)")
        }
        // L3 binds keys as SQLite text, which ends at the first NUL: 'a\u0000b' would be 'a' there.
        guard !key.utf8.contains(0) else { throw .invalid("\(name): the character U+0000 is not allowed") }
    }

    /// The reply when a local tier has the key (or nothing could have it); nil when the origin must be asked.
    func getLocal(_ message: Message) throws(CacheError) -> Outgoing? {
        let request = try CacheRequest(message, allowed: ["namespace", "key"])
        let ns = try namespace(request)
        let key = try Self.key(request)
        if let (value, tier) = try ns.getLocalTier(key) { return Self.entryReply(ns, key, value, tier) }
        return ns.hasOrigin ? nil : try getReply(ns, key, nil)
    }

    /// The reply after asking the origin (`getLocal` found nothing locally).
    func get(_ message: Message) async throws(CacheError) -> Outgoing {
        let request = try CacheRequest(message, allowed: ["namespace", "key"])
        let ns = try namespace(request)
        let key = try Self.key(request)
        return try getReply(ns, key, try await ns.load(key))
    }

    private func getReply(_ ns: CacheNamespace, _ key: String, _ found: (CachedValue, CacheNamespace.Tier)?) throws(CacheError)
        -> Outgoing
    {
        guard let (value, tier) = found else {
            throw .notFound(
                "key: '\(key.prefix(64))' is not cached in '\(ns.name)'\(ns.settings.origin.isEmpty ? "" : " and its origin has no value")"
            )
        }
        return Self.entryReply(ns, key, value, tier)
    }

    /// The reply of a found key, written directly (the hot path: JSONSerialization cost more than
    /// the lookup).
    static func entryReply(_ ns: CacheNamespace, _ key: String, _ value: CachedValue, _ tier: CacheNamespace.Tier) -> Outgoing {
        var json = JSONText()
        json.member("namespace", string: ns.name)
        json.member("key", string: key)
        json.member("tier", string: tier.rawValue)
        json.member("expires_at", raw: value.expiresAt.map { String($0) } ?? "null")
        if String(validating: value.bytes, as: UTF8.self) != nil {
            json.member("value", utf8: value.bytes)
        } else {
            json.member("value_base64", string: Data(value.bytes).base64EncodedString())
        }
        return Outgoing(json.finished(), contentType: "application/json", headers: ["status": "200"])
    }

    func put(_ message: Message) throws(CacheError) -> Outgoing {
        let request = try CacheRequest(message, allowed: ["namespace", "key", "value", "value_base64", "ttl_ms"])
        let ns = try namespace(request)
        let key = try Self.key(request)
        let bytes: [UInt8]
        switch (try request.string("value"), try request.string("value_base64")) {
        case (let value?, nil): bytes = Array(value.utf8)
        case (nil, let encoded?):
            guard let data = Data(base64Encoded: encoded) else {
                throw .invalid("value_base64: expected base64 (RFC 4648, padded)")
            }
            bytes = Array(data)
        case (nil, nil): throw .invalid("value: required (a string, or value_base64 for bytes that are not UTF-8)")
        case (_?, _?): throw .invalid("value, value_base64: give one of them, not both")
        }
        guard bytes.count <= ns.settings.maxValueBytes else {
            throw .tooLarge(
                "value: \(bytes.count) bytes exceeds the namespace '\(ns.name)' limit of \(ns.settings.maxValueBytes) (max_value_bytes)"
            )
        }
        let ttl = try request.integer("ttl_ms", in: 1...Self.maxTTLMs, unit: "milliseconds")
        let cached = CachedValue(bytes: bytes, expiresAt: ns.expiry(ttlMs: ttl))
        try ns.store(key, cached)
        let inL1 = ns.l1.peek(CacheKey(key)) != nil
        return Reply.json(
            [
                "namespace": ns.name, "key": key, "l1": inL1 ? "stored" : "not admitted", "l3": ns.hasL3,
                "expires_at": cached.expiresAt.map { $0 as Any } ?? NSNull(),
            ], status: 201)
    }

    func invalidate(_ message: Message) throws(CacheError) -> Outgoing {
        let request = try CacheRequest(message, allowed: ["namespace", "key", "prefix"])
        let ns = try namespace(request)
        let key = try request.string("key")
        let prefix = try request.string("prefix")
        switch (key, prefix) {
        case (let key?, nil):
            try Self.check(key: key, name: "key")
            return Reply.json(["removed": try ns.invalidate(key: key) ? 1 : 0])
        case (nil, let prefix?):
            try Self.check(key: prefix, name: "prefix")
            return Reply.json(["removed": try ns.invalidate(prefix: prefix)])
        default:
            throw .invalid("key, prefix: give exactly one of them")
        }
    }

    /// Most keys one `cache.warm` names (`Schemas.warm`'s `maxItems`).
    static let maxWarmKeys = 10_000

    func warm(_ message: Message) async throws(CacheError) -> Outgoing {
        let request = try CacheRequest(message, allowed: ["namespace", "keys"])
        let chosen =
            try request.string("namespace") == nil ? namespaces.values.sorted { $0.name < $1.name } : [try namespace(request)]
        let keys = try request.strings("keys") ?? []
        guard keys.count <= Self.maxWarmKeys else {
            throw .invalid("keys: at most \(Self.maxWarmKeys) a request (the schema's maxItems), found \(keys.count)")
        }
        guard keys.isEmpty || chosen.count == 1 else { throw .invalid("keys: name the namespace they belong to") }
        for key in keys { try Self.check(key: key, name: "keys[]") }
        var report: [String: Any] = [:]
        for ns in chosen {
            // L3's hottest entries and the keys' local tiers are synchronous reads (SQLite, Redis),
            // as many as the namespace warms: on a thread of their own, not the concurrency pool.
            let (fromL3, found, missing) = try await onOwnThread(named: "cache-warm") { () throws(CacheError) in
                let fromL3 = try ns.warmFromL3()
                var found = 0
                var missing: [String] = []
                for key in keys {
                    switch Result(catching: { () throws(CacheError) in try ns.getLocalTier(key) }) {
                    case .success(.some): found += 1
                    case .success(.none): missing.append(key)
                    case .failure: break
                    }
                }
                return (fromL3, found, missing)
            }
            var loaded = found
            for key in missing where (try? await ns.load(key)) != nil { loaded += 1 }
            report[ns.name] = ["from_l3": fromL3, "loaded": loaded, "failed": keys.count - loaded]
        }
        return Reply.json(["namespaces": report])
    }

    func stats(_ message: Message) throws(CacheError) -> Outgoing {
        let request = try CacheRequest(message, allowed: ["namespace"])
        let chosen = try request.string("namespace") == nil ? Array(namespaces.values) : [try namespace(request)]
        var out: [String: Any] = [:]
        for ns in chosen {
            ns.flushHits()
            let (s, read) = ns.syncMetrics()
            let c = ns.counters
            let l3Hits = read.l3Hits
            let l3Misses = read.l3Reads - read.l3Hits
            let loads = c.loads.load(ordering: .relaxed)
            let failures = c.loadFailures.load(ordering: .relaxed)
            let shared = c.sharedLoads.load(ordering: .relaxed)
            let size = ns.l3Size()
            let (served, reads) = (read.served, read.reads)
            out[ns.name] = [
                "l1": [
                    "hits": s.hits, "misses": s.misses, "hit_ratio": s.hitRatio, "entries": s.entries, "bytes": s.bytes,
                    "max_bytes": ns.settings.maxBytes, "admissions_refused": s.admissionsRefused,
                    "evictions": ["size": s.evictionsSize, "expired": s.evictionsExpired, "explicit": s.evictionsExplicit],
                    "policy": ns.settings.policy,
                ],
                "l2": [
                    "enabled": ns.hasL2, "hits": c.l2Hits.load(ordering: .relaxed),
                    "misses": c.l2Misses.load(ordering: .relaxed), "missed_while_down": ns.missedL2Count,
                    "deleted_again": c.l2Redeletes.load(ordering: .relaxed),
                ],
                "l3": [
                    "enabled": ns.hasL3, "hits": l3Hits, "misses": l3Misses,
                    "hit_ratio": l3Hits + l3Misses == 0 ? 0 : Double(l3Hits) / Double(l3Hits + l3Misses),
                    "entries": size?.entries ?? 0, "bytes": size?.bytes ?? 0, "max_bytes": ns.settings.l3MaxBytes,
                    "evictions": [
                        "size": c.l3EvictedSize.load(ordering: .relaxed), "expired": c.l3EvictedExpired.load(ordering: .relaxed),
                        "explicit": c.l3EvictedExplicit.load(ordering: .relaxed),
                    ],
                ],
                "origin": [
                    "topic": ns.settings.origin, "loads": loads, "failures": failures, "shared": shared,
                    "too_large": c.loadsTooLarge.load(ordering: .relaxed),
                    "waiting": ns.waitingOnLoads,
                    "load_seconds_total": Double(c.loadNanoseconds.load(ordering: .relaxed)) / 1e9,
                ],
                "hit_ratio": reads == 0 ? 0 : Double(min(served, reads)) / Double(reads),
                "sketch_restored": ns.hasRestoredSketch,
            ]
        }
        var l2State: [String: Any] = ["enabled": l2 != nil]
        if let l2 {
            l2State["up"] = l2.isUp
            l2State["address"] = "\(l2.settings.host):\(l2.settings.port)"
            l2State["failures"] = l2.failures
            l2State["reconnects"] = l2.reconnections
            l2State["subscribed"] = subscriber?.isSubscribed ?? false
            if let outage = l2.outage { l2State["down_reason"] = outage.reason }
        }
        return Reply.json(["namespaces": out, "l2": l2State, "bus_invalidations": feed?.stats ?? ["enabled": false]])
    }
}
