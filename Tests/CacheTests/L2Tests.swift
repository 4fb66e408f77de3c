import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

/// L2 against a real redis-server: shared between two nodes, and a Redis that goes away degrades
/// the plugin to L1 + L3 and comes back by itself.
@Suite struct L2Tests {
    static func config(port: Int) -> String {
        """
        namespaces:
          - {name: shared, max_bytes: 1048576, l3_max_bytes: 0, max_value_bytes: 65536}
          - {name: main, max_bytes: 1048576, max_value_bytes: 65536}
        l2: {enabled: true, port: \(port), key_prefix: "t\(port):", connect_timeout_ms: 200, command_timeout_ms: 500}
        """
    }

    /// Two nodes on one Redis, each listening on its invalidation channel.
    static func twoSubscribedNodes(_ body: (RedisServer, CacheKernel, CacheKernel) async throws -> Void) async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: config(port: redis.port)) { (a: CacheKernel) async throws in
            try await CacheKernel.with(config: config(port: redis.port)) { (b: CacheKernel) async throws in
                for k in [a, b] {
                    let subscribed = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                        (try await k.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
                    }
                    #expect(subscribed)
                }
                try await body(redis, a, b)
            }
        }
    }

    static func health(_ k: CacheKernel) -> (status: String, detail: String) {
        let h = k.test.kernel.plugin(named: "cache")?.health
        return (h?.status ?? "", h?.detail ?? "")
    }

    @Test func twoNodesShareValuesThroughRedis() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: Self.config(port: redis.port)) { (a: CacheKernel) async throws in
            try await CacheKernel.with(config: Self.config(port: redis.port)) { (b: CacheKernel) async throws in
                #expect(try await a.put("shared", "greeting", "hello", ttl: 60000) == 201)
                let got = try await b.get("shared", "greeting")
                #expect(got.body["value"] as? String == "hello")
                #expect(got.body["tier"] as? String == "l2", "node b never saw the put: it came from Redis")
                // a's put event may still land on b and drop the copy that read made: read again
                // until b serves it from L1.
                let cached = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    try await b.get("shared", "greeting").body["tier"] as? String == "l1"
                }
                #expect(cached, "b keeps what it read from Redis in its L1")
                #expect(try await a.request("cache.invalidate", #"{"namespace":"shared","prefix":"greet"}"#).status == 200)
                let c = try await CacheKernel.boot(config: Self.config(port: redis.port))
                #expect(try await c.get("shared", "greeting").status == 404, "gone from Redis")
                await c.stop()
                let stats = try await a.request("cache.stats").body["l2"] as? [String: Any] ?? [:]
                #expect(stats["up"] as? Bool == true)
            }
        }
    }

    /// A put on one node racing a delete of the same key on another leaves both nodes agreeing,
    /// whichever Redis took last: the delete's event could land on the putting node between its
    /// Redis write and its L1 write, and the put's value then stayed in that node's L1 and L3 for
    /// good while Redis and the other node had none (33 of 150 rounds in the multi-node audit).
    @Test func aPutRacingAnotherNodesDeleteLeavesTheNodesAgreeing() async throws {
        try await Self.twoSubscribedNodes { redis, a, b in
            var diverged: [String] = []
            for round in 0..<120 {
                let key = "race\(round)"
                #expect(try await a.put("main", key, "old") == 201)
                async let put = b.put("main", key, "new")
                async let deleted = a.request("cache.invalidate", #"{"namespace":"main","key":"\#(key)"}"#)
                _ = try await (put, deleted)
                // Both nodes' events have landed once the two answers agree and hold.
                let agree = try await eventually(timeout: .seconds(5), polling: .milliseconds(20)) {
                    let (x, y) = (try await a.get("main", key), try await b.get("main", key))
                    return x.status == y.status && x.body["value"] as? String == y.body["value"] as? String
                }
                if !agree {
                    let (x, y) = (try await a.get("main", key), try await b.get("main", key))
                    diverged.append(
                        "\(key): a \(x.status) \(x.body["value"] ?? "-"), b \(y.status) \(y.body["value"] ?? "-") \(y.body["tier"] ?? "")"
                    )
                }
            }
            #expect(diverged.isEmpty, "\(diverged.count) of 120 rounds: \(diverged.prefix(5))")
        }
    }

    /// A put whose TTL runs out before its writes are done (1 ms: L3's commit alone takes
    /// longer) leaves nothing behind on any node, not the value before it: Redis kept the old
    /// value (the SET was skipped and counted as done) and L1 kept it too, so every node read
    /// the old value back after the put had dropped their copies.
    @Test func aPutWhoseTTLRunsOutOnItsWayLeavesNoOlderValue() async throws {
        try await Self.twoSubscribedNodes { _, a, b in
            var stale: [String] = []
            for round in 0..<20 {
                let key = "short\(round)"
                #expect(try await a.put("main", key, "old") == 201)
                #expect(try await b.get("main", key).body["value"] as? String == "old")
                #expect(try await a.put("main", key, "new", ttl: 1) == 201)
                let gone = try await eventually(timeout: .seconds(2), polling: .milliseconds(20)) {
                    let (x, y) = (try await a.get("main", key), try await b.get("main", key))
                    return x.status == 404 && y.status == 404
                }
                if !gone {
                    let (x, y) = (try await a.get("main", key), try await b.get("main", key))
                    stale.append(
                        "\(key): a \(x.body["value"] ?? "-") \(x.body["tier"] ?? ""), b \(y.body["value"] ?? "-") \(y.body["tier"] ?? "")"
                    )
                }
            }
            #expect(stale.isEmpty, "\(stale.count) of 20: \(stale.prefix(4))")
        }
    }

    /// A prefix's glob characters are escaped for Redis' pattern by code point: a "*" followed
    /// by a combining mark is one Character that is not "*", and was left a wildcard, so the
    /// invalidation deleted keys without the prefix from Redis.
    @Test func aPrefixMatchesOnlyItselfInRedis() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: Self.config(port: redis.port)) { (a: CacheKernel) async throws in
            #expect(try await a.put("shared", "a*\u{301}1", "star") == 201)
            #expect(try await a.put("shared", "aZ\u{301}2", "zed") == 201)
            let removed = try await a.request("cache.invalidate", #"{"namespace":"shared","prefix":"a*\u0301"}"#)
            #expect(removed.body["removed"] as? Int == 1)
            let c = try await CacheKernel.boot(config: Self.config(port: redis.port))
            #expect(try await c.get("shared", "aZ\u{301}2").body["value"] as? String == "zed", "still in Redis")
            #expect(try await c.get("shared", "a*\u{301}1").status == 404)
            await c.stop()
        }
    }

    /// A namespace with `l2: false` keeps its values off Redis (a third node that reads the same
    /// namespace through Redis finds nothing, while the shared namespace's value is there), and
    /// its puts still drop the other nodes' copies.
    @Test func aNamespaceWithoutL2KeepsItsValuesOnTheNode() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        func config(localUsesL2: Bool) -> String {
            """
            namespaces:
              - {name: shared, max_bytes: 1048576, l3_max_bytes: 0, max_value_bytes: 65536}
              - {name: local, max_bytes: 1048576, l3_max_bytes: 0, max_value_bytes: 65536, l2: \(localUsesL2)}
            l2: {enabled: true, port: \(redis.port), key_prefix: "t\(redis.port):", connect_timeout_ms: 200}
            """
        }
        try await CacheKernel.with(config: config(localUsesL2: false)) { (a: CacheKernel) async throws in
            try await CacheKernel.with(config: config(localUsesL2: false)) { (b: CacheKernel) async throws in
                let listening = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    (try await a.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
                }
                #expect(listening, "a listens for invalidations")
                let stats = try await a.request("cache.stats").body["namespaces"] as? [String: [String: Any]] ?? [:]
                #expect((stats["local"]?["l2"] as? [String: Any])?["enabled"] as? Bool == false)
                #expect((stats["shared"]?["l2"] as? [String: Any])?["enabled"] as? Bool == true)
                #expect(try await a.put("local", "k", "from-a") == 201)
                #expect(try await a.put("shared", "k", "from-a") == 201)
                #expect(try await a.get("local", "k").body["tier"] as? String == "l1")
                #expect(try await b.get("local", "k").status == 404, "b has no copy and Redis has none")
                #expect(try await b.get("shared", "k").body["tier"] as? String == "l2")
                let c = try await CacheKernel.boot(config: config(localUsesL2: true))
                #expect(try await c.get("local", "k").status == 404, "nothing of local went to Redis")
                #expect(try await c.get("shared", "k").body["value"] as? String == "from-a", "shared did")
                await c.stop()
                #expect(try await b.put("local", "k", "from-b") == 201)
                let dropped = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    try await a.get("local", "k").status == 404
                }
                #expect(dropped, "b's put dropped a's copy of local/k")
                #expect(try await b.get("local", "k").body["value"] as? String == "from-b")
            }
        }
    }

    @Test func aChangeOnOneNodeReachesTheOtherNodesL1() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        let config = Self.config(port: redis.port)
        try await CacheKernel.with(config: config) { (a: CacheKernel) async throws in
            try await CacheKernel.with(config: config) { (b: CacheKernel) async throws in
                let listening = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    (try await b.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
                }
                #expect(listening, "b listens for invalidations")
                #expect(try await a.put("shared", "colour", "red") == 201)
                // a's put also reaches b as an invalidation, through Redis and on its own time:
                // landing between b's two reads, it rightly drops the copy the first one made.
                // So b reads until the second read of a pair is an L1 hit.
                let cached = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    _ = try await b.get("shared", "colour")
                    let second = try await b.get("shared", "colour").body
                    return second["tier"] as? String == "l1" && second["value"] as? String == "red"
                }
                #expect(cached, "b holds red in its L1")
                #expect(try await a.put("shared", "colour", "blue") == 201)
                let updated = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    try await b.get("shared", "colour").body["value"] as? String == "blue"
                }
                #expect(updated, "a's put dropped b's L1 copy; b read blue from Redis")
                #expect(try await a.request("cache.invalidate", #"{"namespace":"shared","key":"colour"}"#).status == 200)
                let gone = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                    try await b.get("shared", "colour").status == 404
                }
                #expect(gone, "a's invalidation reached b's L1")
            }
        }
    }

    /// A Redis that goes away while nothing reads L2 is noticed by the maintenance pass's PING
    /// (the tier was marked down only by a failed command: an idle node reported "L2 redis ...
    /// up" and cache_l2_up 1 for 60 s in the observability audit), and comes back by itself.
    @Test func aRedisGoneWhileNothingReadsL2IsNoticed() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: Self.config(port: redis.port)) { (k: CacheKernel) async throws in
            #expect(await eventually { Self.health(k).detail.contains("up") })
            await redis.stop()
            // No request: only the maintenance pass can find out.
            let noticed = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                Self.health(k).detail.contains("unreachable")
            }
            #expect(noticed, "\(Self.health(k))")
            try await redis.restart()
            #expect(
                await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                    Self.health(k).detail.hasSuffix("up") && Self.health(k).status == "ok"
                })
        }
    }

    /// A hung Redis (SIGSTOP: it still takes connections into its backlog) is down until it
    /// answers a PING: a connection alone counted as up, and the tier flapped up and down every
    /// 2.5 s, each request behind a command timeout, with the gauge at 1 (multi-node audit).
    @Test func aHungRedisIsDownUntilItAnswers() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: Self.config(port: redis.port)) { (k: CacheKernel) async throws in
            #expect(await eventually { Self.health(k).detail.contains("up") })
            #expect(try await k.put("main", "kept", "1") == 201)
            redis.signal(SIGSTOP)
            func l2() async throws -> [String: Any] { try await k.request("cache.stats").body["l2"] as? [String: Any] ?? [:] }
            let noticed = try await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                let stats = try await l2()
                return stats["up"] as? Bool == false && (stats["failures"] as? Int ?? 0) >= 1
            }
            #expect(noticed)
            let before = try await l2()
            // Several maintenance passes, each trying to reconnect: none counts as up.
            for _ in 0..<8 {
                try await Task.sleep(for: .milliseconds(500))
                let stats = try await l2()
                #expect(stats["up"] as? Bool == false, "\(stats)")
                #expect(Self.health(k).status == "degraded", "\(Self.health(k))")
            }
            let after = try await l2()
            #expect(after["reconnects"] as? Int == before["reconnects"] as? Int, "\(before) \(after)")
            #expect((after["failures"] as? Int ?? 0) > (before["failures"] as? Int ?? 0), "the reconnections were tried")
            #expect(try await k.get("main", "kept").body["value"] as? String == "1", "served from L1 or L3")
            redis.signal(SIGCONT)
            let back = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) { Self.health(k).status == "ok" }
            #expect(back, "\(Self.health(k).detail)")
        }
    }

    /// A delete made while Redis is unreachable reaches Redis and the other nodes once it is
    /// back: Redis kept the old value (a hung Redis resumes with its data, as does one restarted
    /// from its AOF or a replica), and every node served it again, for good (multi-node audit).
    @Test func aDeleteMadeWhileRedisWasDownReachesItWhenItIsBack() async throws {
        try await Self.twoSubscribedNodes { redis, a, b in
            #expect(try await a.put("main", "gone", "old") == 201)
            #expect(try await a.put("main", "kept", "old") == 201)
            #expect(try await b.get("main", "gone").body["value"] as? String == "old")
            redis.signal(SIGSTOP)
            _ = try await a.request("cache.invalidate", #"{"namespace":"main","key":"gone"}"#)
            let down = try await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                (try await a.request("cache.stats").body["l2"] as? [String: Any])?["up"] as? Bool == false
            }
            #expect(down)
            redis.signal(SIGCONT)
            let agreed = try await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                let (x, y) = (try await a.get("main", "gone"), try await b.get("main", "gone"))
                return x.status == 404 && y.status == 404
            }
            let left = try await b.get("main", "gone").body
            #expect(agreed, "b: \(left)")
            #expect(try await b.get("main", "kept").body["value"] as? String == "old", "only what changed is dropped")
        }
    }

    /// A stopped cache applies no more invalidations from Redis: its listener used to go on for
    /// up to half a second after stop, and deleted from the L3 of a stopped node (whose data
    /// directory a new instance may already use) what another node changed meanwhile.
    @Test func aStoppedNodeAppliesNoMoreInvalidations() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-stopped")
        let config = Self.config(port: redis.port)
        let b = try await CacheKernel.boot(config: config, dataDir: data)
        #expect(try await b.put("main", "kept", "v") == 201)
        let subscribed = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
            (try await b.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
        }
        #expect(subscribed)
        await b.stop()
        // Right after the stop, as another node would: an invalidation of the key.
        let message = #"{"namespace":"main","key":"kept","node":"elsewhere"}"#
        let sent = try Run.command(
            "/usr/bin/redis-cli", ["-p", String(redis.port), "PUBLISH", "t\(redis.port):invalidations", message])
        #expect(sent.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "nobody listens any more")
        try await Task.sleep(for: .seconds(1))
        let database = try CacheKernel.openStopped(data + "/cache/cache.sqlite")
        let kept = try await database.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM entries WHERE namespace = 'main' AND key = 'kept'") ?? 0
        }
        try database.close()
        #expect(kept == 1)
    }

    /// A node restarted after another node changed and deleted keys while it was down warms
    /// Redis's values, not its own L3 copies: warmed as they were, the old ones were served from
    /// L1 until their TTL (the multi-node audit). Its L3 is brought up to date as well.
    @Test func aRestartedNodeWarmsRedisValuesNotItsStaleCopies() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-warm-l2")
        let config = Self.config(port: redis.port)
        let keys = ["changed", "deleted", "same"]
        try await CacheKernel.with(config: config, dataDir: data) { (b: CacheKernel) async throws in
            for key in keys { #expect(try await b.put("main", key, "old") == 201) }
        }
        try await CacheKernel.with(config: config) { (a: CacheKernel) async throws in
            #expect(try await a.put("main", "changed", "new") == 201)
            #expect(try await a.request("cache.invalidate", #"{"namespace":"main","key":"deleted"}"#).status == 200)
        }
        try await CacheKernel.with(config: config, dataDir: data) { (b: CacheKernel) async throws in
            let changed = try await b.get("main", "changed").body
            #expect(changed["value"] as? String == "new")
            #expect(changed["tier"] as? String == "l1", "warmed, with Redis's value")
            #expect(try await b.get("main", "deleted").status == 404)
            let same = try await b.get("main", "same").body
            #expect(same["value"] as? String == "old")
            #expect(same["tier"] as? String == "l1")
        }
        let database = try CacheKernel.openStopped(data + "/cache/cache.sqlite")
        let rows = try await database.read { db in
            var rows: [String: String] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, CAST(value AS TEXT) AS text FROM entries WHERE namespace = 'main'")
            {
                rows[row["key"]] = row["text"]
            }
            return rows
        }
        try database.close()
        #expect(rows == ["changed": "new", "same": "old"], "L3 follows Redis")
    }

    @Test func aKilledRedisDegradesToL1AndL3AndReconnects() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        try await CacheKernel.with(config: Self.config(port: redis.port)) { (k: CacheKernel) async throws in
            let connected = await eventually { Self.health(k).detail.contains("up") }
            #expect(connected)
            #expect(try await k.put("main", "before", "1") == 201)
            await redis.stop()
            // Reads and writes go on from L1 and L3.
            #expect(try await k.get("main", "before").body["value"] as? String == "1")
            #expect(try await k.put("main", "during", "2") == 201)
            #expect(try await k.get("main", "during").status == 200)
            let degraded = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                Self.health(k).status == "degraded"
            }
            #expect(degraded)
            let detail = Self.health(k).detail
            #expect(detail.contains("unreachable"), "\(detail)")
            let down = try await k.request("cache.stats").body["l2"] as? [String: Any] ?? [:]
            #expect(down["up"] as? Bool == false)
            #expect((down["failures"] as? Int ?? 0) >= 1)
            try await redis.restart()
            let back = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) { Self.health(k).status == "ok" }
            #expect(back, "\(Self.health(k).detail)")
            #expect(try await k.put("main", "after", "3") == 201)
            let other = try await CacheKernel.boot(config: Self.config(port: redis.port))
            #expect(try await other.get("main", "after").body["tier"] as? String == "l2", "written to Redis again")
            await other.stop()
            let up = try await k.request("cache.stats").body["l2"] as? [String: Any] ?? [:]
            #expect((up["reconnects"] as? Int ?? 0) >= 1)
            let resubscribed = try await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                (try await k.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
            }
            #expect(resubscribed, "the invalidation listener reconnected too")
        }
    }

    /// Another node's invalidation deletes again from Redis only what a load of this node put
    /// there (its value may predate the change and have landed after the other node's delete),
    /// not the whole prefix: every node SCANned all of Redis for each prefix invalidation. Over
    /// the bus and over Redis' channel alike (the channel did not delete from Redis at all).
    @Test func anotherNodesInvalidationDeletesFromRedisOnlyWhatThisNodesLoadsPutThere() async throws {
        let redis = try await RedisServer.make()
        defer { redis.kill() }
        let port = String(redis.port)
        let config = """
            namespaces:
              - {name: loaded, max_bytes: 1048576, l3_max_bytes: 0, origin: test.origin, max_value_bytes: 65536}
            l2: {enabled: true, port: \(port), key_prefix: "t\(port):", connect_timeout_ms: 200, command_timeout_ms: 500}
            """
        func redisCLI(_ arguments: String...) throws -> String {
            try Run.command("/usr/bin/redis-cli", ["-p", port] + arguments).stdout
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        func inRedis(_ key: String) throws -> Bool { try redisCLI("EXISTS", "t\(port):loaded:\(key)") == "1" }
        func scans() throws -> Int {
            let line = try redisCLI("INFO", "commandstats").split(whereSeparator: \.isNewline)
                .first { $0.hasPrefix("cmdstat_scan:") }
            return line.flatMap { $0.split(separator: "=").dropFirst().first?.split(separator: ",").first }
                .flatMap { Int($0) } ?? 0
        }
        func deletedAgain(_ k: CacheKernel) async throws -> Int {
            let stats = try await k.request("cache.stats").body["namespaces"] as? [String: Any]
            return ((stats?["loaded"] as? [String: Any])?["l2"] as? [String: Any])?["deleted_again"] as? Int ?? -1
        }
        try await CacheKernel.with(config: config) { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { key in .value("origin's \(key)") }
            defer { origin.cancel() }
            let subscribed = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                (try await k.request("cache.stats").body["l2"] as? [String: Any])?["subscribed"] as? Bool == true
            }
            #expect(subscribed)
            #expect(try await k.get("loaded", "item").body["tier"] as? String == "origin")
            #expect(try inRedis("item"), "the loaded value went to Redis")
            _ = try redisCLI("SET", "t\(port):loaded:other", "another node's value")
            let scansBefore = try scans()

            // Over the bus: another node invalidated every key of the namespace.
            try k.test.bus.publish(
                BusMessage(
                    topic: "cache.invalidated.loaded",
                    payload: Array(
                        #"{"node":"n","run":"other","seq":1,"namespace":"loaded","kind":"invalidate","prefix":""}"#.utf8),
                    contentType: "application/json"))
            #expect(try await eventually(timeout: .seconds(30)) { try await deletedAgain(k) == 1 })
            #expect(try !inRedis("item"), "what this node's load put in Redis is deleted again")
            #expect(try inRedis("other"), "the rest is the invalidating node's to delete")
            #expect(try scans() == scansBefore, "no SCAN of Redis")

            // Over Redis' channel: an invalidation deletes a loaded key again; a put does not.
            #expect(try await k.get("loaded", "item2").body["tier"] as? String == "origin")
            #expect(try await k.get("loaded", "item3").body["tier"] as? String == "origin")
            #expect(try inRedis("item2") && inRedis("item3"))
            let channel = "t\(port):invalidations"
            _ = try redisCLI(
                "PUBLISH", channel, #"{"namespace":"loaded","key":"item2","node":"elsewhere","kind":"invalidate"}"#)
            _ = try redisCLI("PUBLISH", channel, #"{"namespace":"loaded","key":"item3","node":"elsewhere"}"#)
            #expect(try await eventually(timeout: .seconds(30)) { try await deletedAgain(k) == 2 })
            #expect(try !inRedis("item2"))
            let dropped = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                try await k.get("loaded", "item3").body["tier"] as? String == "l2"
            }
            #expect(dropped, "the put dropped item3 from L1; Redis still has it")
            #expect(try await deletedAgain(k) == 2)
            #expect(try scans() == scansBefore)
            #expect(
                k.test.kernel.metrics.exposition().contains(
                    #"cache_l2_deleted_again_total{plugin="cache",namespace="loaded"} 2"#),
                "the metric counts what cache.stats does")
        }
    }
}
