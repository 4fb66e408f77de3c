import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import Testing

/// Values go through both tiers, survive a restart in L3, and invalidation reaches every tier.
@Suite struct TierTests {
    @Test func putThenGetIsAnL1HitAndL3HoldsACopy() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            #expect(try await k.put("main", "user:1", "ada") == 201)
            let got = try await k.get("main", "user:1")
            #expect(got.status == 200)
            #expect(got.body["value"] as? String == "ada")
            #expect(got.body["tier"] as? String == "l1")
            let stats = try await k.stats("main")
            #expect(stats.int("l1", "hits") == 1)
            #expect(stats.int("l3", "entries") == 1)
            #expect(try await k.get("main", "nobody").status == 404)
        }
    }

    /// A value is never served at or after its `expires_at`, even from L1, whose deadlines run
    /// on a coarse clock from a TTL rounded down (a hit could come up to a kernel tick late):
    /// gets from just before the expiry on, each sent after the wall-clock time it is compared to.
    @Test func aValueIsNeverServedAfterItsExpiry() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            var late: [String] = []
            for round in 0..<20 {
                let key = "brief\(round)"
                #expect(try await k.put("main", key, "v", ttl: 40) == 201)
                while true {
                    let sent = Int64(Date().timeIntervalSince1970 * 1000)
                    let got = try await k.get("main", key)
                    guard got.status == 200 else { break }
                    let expiresAt = (got.body["expires_at"] as? NSNumber)?.int64Value ?? .max
                    if expiresAt <= sent { late.append("\(key): expires_at \(expiresAt), asked at \(sent)") }
                }
            }
            #expect(late.count == 0, "\(late.prefix(5))")
        }
    }

    @Test func valuesWithQuotesControlCharactersAndUnicodeComeBackIntact() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let put = try await k.request(
                "cache.put", #"{"namespace":"main","key":"odd \"key\"","value":"a\"b\\c\nd\te\u0001f é 😀"}"#)
            #expect(put.status == 201)
            let got = try await k.request("cache.get", #"{"namespace":"main","key":"odd \"key\""}"#)
            #expect(got.status == 200)
            #expect(got.body["value"] as? String == "a\"b\\c\nd\te\u{01}f é 😀")
            #expect(got.body["key"] as? String == "odd \"key\"")
        }
    }

    @Test func valuesSurviveARestartThroughL3() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-restart")
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            for i in 0..<20 { #expect(try await k.put("cold", "k\(i)", "v\(i)") == 201) }
        }
        #expect(FileManager.default.fileExists(atPath: data + "/cache/cache.sqlite"))
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            let got = try await k.get("cold", "k7")
            #expect(got.body["value"] as? String == "v7")
            #expect(got.body["tier"] as? String == "l3", "cold does not warm: the first read comes from L3")
            #expect(try await k.get("cold", "k7").body["tier"] as? String == "l1", "then L1 holds it")
        }
    }

    @Test func invalidationByKeyAndPrefixReachesBothTiersAndLasts() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-invalidate")
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            for key in ["user:1", "user:2", "post:1"] { _ = try await k.put("main", key, "x") }
            let one = try await k.request("cache.invalidate", #"{"namespace":"main","key":"post:1"}"#)
            #expect(one.status == 200)
            #expect(one.body["removed"] as? Int == 1)
            let some = try await k.request("cache.invalidate", #"{"namespace":"main","prefix":"user:"}"#)
            #expect(some.body["removed"] as? Int == 2)
            for key in ["user:1", "user:2", "post:1"] { #expect(try await k.get("main", key).status == 404) }
        }
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.get("main", "user:1").status == 404, "gone from L3 too")
            #expect(try await k.stats("main").int("l3", "entries") == 0)
        }
    }

    /// Keys are told apart by their bytes in every tier, as Redis and SQLite do: "café" with a
    /// precomposed é and with "e" and a combining accent are two keys. With Swift `String` keys
    /// L1 took them for one: it served the second put's value for the first key while L3 kept
    /// both, an invalidation of one left the other's value in L3 to come back, and a prefix
    /// matched by Characters missed in L1 a key L2 and L3 dropped.
    @Test func keysAreToldApartByTheirBytesInEveryTier() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-bytes")
        let composed = "caf\u{e9}"
        let decomposed = "cafe\u{301}"
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.put("main", composed, "A") == 201)
            #expect(try await k.put("main", decomposed, "B") == 201)
            let first = try await k.get("main", composed)
            #expect(first.body["value"] as? String == "A" && first.body["tier"] as? String == "l1")
            #expect(try await k.get("main", decomposed).body["value"] as? String == "B")
            #expect(try await k.stats("main").int("l1", "entries") == 2)
            let one = try await k.request("cache.invalidate", #"{"namespace":"main","key":"cafe\u0301"}"#)
            #expect(one.body["removed"] as? Int == 1)
            #expect(try await k.get("main", decomposed).status == 404)
            #expect(try await k.get("main", composed).body["value"] as? String == "A")
            // "cafe" is a byte prefix of the decomposed key and not of the composed one.
            #expect(try await k.put("main", decomposed + "-1", "C") == 201)
            let some = try await k.request("cache.invalidate", #"{"namespace":"main","prefix":"cafe"}"#)
            #expect(some.body["removed"] as? Int == 1)
            #expect(try await k.get("main", decomposed + "-1").status == 404, "gone from L1 as from L3")
            #expect(try await k.get("main", composed).body["value"] as? String == "A")
        }
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.get("main", composed).body["value"] as? String == "A")
            #expect(try await k.get("main", decomposed).status == 404)
            #expect(try await k.get("main", decomposed + "-1").status == 404)
        }
    }

    /// An expiry read back from L3 (or Redis) is data: one near Int64.max (a file edited, a
    /// foreign writer) is served with L1's longest TTL; turning it into nanoseconds overflowed
    /// and stopped the process on the read that copied the value into L1.
    @Test func anExpiryFarInTheFutureReadFromL3IsServed() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-far")
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.put("cold", "far", "away", ttl: 60000) == 201)
        }
        try await CacheKernel.openStopped(data + "/cache/cache.sqlite").write { db in
            try db.execute(sql: "UPDATE entries SET expires_at = 9223372036854775000 WHERE key = 'far'")
        }
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            let got = try await k.get("cold", "far")
            #expect(got.body["value"] as? String == "away" && got.body["tier"] as? String == "l3")
            #expect(try await k.get("cold", "far").body["tier"] as? String == "l1")
        }
    }

    /// `cache.get` is a declared responder, so a listener on its topic (a plain subscription that
    /// never answers, as an HTTP event stream on `cache.get` was) takes none of its requests: the
    /// plain subscription it was took turns with the listener, and the listener's turns timed out.
    @Test func aListenerOnTheGetTopicTakesNoRequest() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            #expect(try await k.put("main", "k", "v") == 201)
            _ = try k.test.bus.subscribe("cache.>") { _ in true }
            for _ in 0..<10 {
                let message = BusMessage(
                    topic: "cache.get", payload: Array(#"{"namespace":"main","key":"k"}"#.utf8), contentType: "application/json")
                let bus = k.test.bus
                let reply = try await onThread { () throws(BusError) -> BusMessage in
                    try bus.requestSync(message, timeout: .seconds(3))
                }
                #expect(reply.headers.first { $0.key == "status" }?.value ?? "200" == "200")
            }
        }
    }

    @Test func l3StaysWithinItsBoundAndKeepsTheMostRead() async throws {
        let config = """
            namespaces:
              - {name: tight, max_bytes: 4096, l3_max_bytes: 2000, max_value_bytes: 200, policy: lru}
            """
        try await CacheKernel.with(config: config) { (k: CacheKernel) async throws in
            let value = String(repeating: "x", count: 100)
            _ = try await k.put("tight", "favourite", value)
            for _ in 0..<3 { _ = try await k.get("tight", "favourite") }
            #expect(try await k.stats("tight").int("l1", "hits") == 3, "stats also writes the read counts to L3")
            // L1 is split into stripes (8 here, three entries each) by the key's hash, which
            // Swift seeds per process: 50 puts left three or more in favourite's stripe only
            // about 96 % of the time (CI saw it stay in L1); with 200 the miss is ~1e-9.
            for i in 0..<200 { #expect(try await k.put("tight", "k\(i)", value) == 201) }
            let stats = try await k.stats("tight")
            #expect(try await k.request("cache.invalidate", #"{"namespace":"tight","prefix":"k"}"#).status == 200)
            let favourite = try await k.get("tight", "favourite")
            #expect(favourite.status == 200, "the most-read entry was never L3's victim")
            #expect(favourite.body["tier"] as? String == "l3", "(LRU pushed it out of the 4 KiB L1)")
            #expect(stats.int("l3", "bytes") <= 2000)
            #expect(stats.int("l3", "entries") >= 10)
            #expect(stats.int("l3", "evictions", "size") >= 30)
        }
    }

    @Test func anEntryExpiresInBothTiers() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            // No read right after the put: on a loaded machine 200 ms may pass before it.
            let put = try await k.request("cache.put", #"{"namespace":"main","key":"brief","value":"x","ttl_ms":200}"#)
            #expect(put.status == 201)
            #expect(put.body["expires_at"] is Int, "the reply names the expiry")
            #expect(try await k.put("main", "lasting", "y", ttl: 3_600_000) == 201)
            let expired = await eventually(timeout: .seconds(30), polling: .milliseconds(50)) {
                (try? await k.get("main", "brief").status) == 404
            }
            #expect(expired)
            #expect(try await k.get("main", "lasting").status == 200, "a long TTL is untouched")
            // The sweeps count what they removed (L1's wheel; L3's once a second).
            let swept = try await eventually(timeout: .seconds(30), polling: .milliseconds(100)) {
                let stats = try await k.stats("main")
                return stats.int("l3", "entries") == 1 && stats.int("l1", "entries") == 1
            }
            #expect(swept)
        }
    }

    @Test func snapshotAndRestoreRoundTripL3() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            _ = try await k.put("main", "kept", "before")
            let snapshot = try TemporaryDirectory.make(prefix: "jamey-cache-snap")
            let kernel = k.test.kernel
            try await onThread { try kernel.snapshot(plugin: "cache", into: snapshot) }
            #expect(FileManager.default.fileExists(atPath: snapshot + "/cache.sqlite"))
            _ = try await k.request("cache.invalidate", #"{"namespace":"main","key":"kept"}"#)
            _ = try await k.put("main", "later", "after")
            try await onThread { try kernel.restore(plugin: "cache", from: snapshot) }
            #expect(try await k.get("main", "kept").body["value"] as? String == "before")
            #expect(try await k.get("main", "later").status == 404)
        }
    }
}

/// Namespace settings that contradict each other are refused at start, naming the keys.
@Suite struct NamespaceSettingsTests {
    /// An L3 smaller than a value it must take (each large put emptied the namespace's L3 and
    /// still left it over its bound), an origin that is the cache itself or no topic, a warm key
    /// the cache refuses.
    @Test(arguments: [
        (
            "{name: big, max_bytes: 8388608, l3_max_bytes: 65536, max_value_bytes: 1048576}",
            "namespaces[0].max_value_bytes: 1048576 (plus a key of up to 512 bytes) does not fit in l3_max_bytes 65536"
        ),
        // A miss would ask the cache itself, and wait for it until load_timeout_ms.
        (
            "{name: loop, max_bytes: 8388608, origin: cache.get}",
            "namespaces[0].origin: 'cache.get' is one of the cache's own topics"
        ),
        ("{name: wild, max_bytes: 8388608, origin: \"users.*\"}", "namespaces[0].origin: 'users.*' is not a bus topic"),
        // A warm key the cache would refuse was skipped without a word.
        ("{name: warm, max_bytes: 8388608, warm_keys: [\"ok\", \"\"]}", "namespaces[0].warm_keys[1]: must not be empty"),
    ])
    func contradictorySettingsAreRefused(_ namespace: String, _ message: String) async throws {
        let config = "namespaces:\n  - \(namespace)\n"
        let k = try await onThread {
            try TestKernel.boot(
                plugins: [.init("cache", path: try TestPlugins.library("Cache"), config: config)], logLevel: "critical")
        }
        defer { k.shutdown() }
        let cache = k.kernel.plugin(named: "cache")
        #expect(cache?.state == .failed)
        #expect(cache?.failure?.contains(message) == true, "\(cache?.failure ?? "none")")
    }
}
