import Foundation
import GRDB
import JameyTestKit
import Testing

/// Warming copies L3's hottest entries into L1 on start, so reads right after a restart hit L1.
@Suite struct WarmingTests {
    /// Stores 50 keys in `hot` and in `cold`, reads the first 10 of each five times, restarts, then
    /// reads those 10 again and returns each namespace's L1 hit ratio over those reads.
    @Test func hitRatioRightAfterRestartIsAboveTheColdOne() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-warm")
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            for ns in ["hot", "cold"] {
                for i in 0..<50 { _ = try await k.put(ns, "k\(i)", "value \(i)") }
                for _ in 0..<5 { for i in 0..<10 { _ = try await k.get(ns, "k\(i)") } }
            }
        }
        try await CacheKernel.with(dataDir: data) { (k: CacheKernel) async throws in
            for ns in ["hot", "cold"] { for i in 0..<10 { #expect(try await k.get(ns, "k\(i)").status == 200) } }
            let hot = try await k.stats("hot")
            let cold = try await k.stats("cold")
            #expect(hot.int("l1", "entries") >= 10)
            #expect(hot.int("l1", "hits") == 10, "the 10 hottest were warmed")
            #expect(cold.int("l1", "hits") == 0, "cold starts empty: its reads come from L3")
            #expect(cold.int("l3", "hits") == 10)
        }
    }

    @Test func configuredWarmKeysAreInL1RightAfterStart() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-warm-keys")
        let config = """
            namespaces:
              - {name: listed, max_bytes: 1048576, max_value_bytes: 1024, warm_entries: 0, warm_keys: [k3, absent]}
            """
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            for i in 0..<5 { #expect(try await k.put("listed", "k\(i)", "v\(i)") == 201) }
        }
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.get("listed", "k3").body["tier"] as? String == "l1", "listed: warmed")
            #expect(try await k.get("listed", "k4").body["tier"] as? String == "l3", "not listed: cold")
        }
    }

    @Test func warmOperationLoadsGivenKeysAndReportsL3Copies() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { key in .value("loaded \(key)") }
            defer { origin.cancel() }
            let reply = try await k.request("cache.warm", #"{"namespace":"loaded","keys":["a","b"]}"#)
            #expect(reply.status == 200)
            let report = (reply.body["namespaces"] as? [String: Any])?["loaded"] as? [String: Any] ?? [:]
            #expect(report.int("loaded") == 2)
            #expect(try await k.get("loaded", "a").body["tier"] as? String == "l1")
            #expect(try await k.request("cache.warm", "").status == 200, "every namespace from L3")
        }
    }

    /// The access sketch is saved in L3 at stop and read at start: warming ranks by it, not by
    /// L3's read counts, and the L1 admission sketch learns the warmed keys' heat.
    @Test func keysHotBeforeARestartAreWarmedFirstByThePersistedSketch() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-sketch")
        let config = """
            namespaces:
              - {name: ranked, max_bytes: 1048576, max_value_bytes: 1024, warm_entries: 3}
            """
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            for i in 0..<10 { #expect(try await k.put("ranked", "k\(i)", "v\(i)") == 201) }
            for _ in 0..<6 { for i in 7..<10 { _ = try await k.get("ranked", "k\(i)") } }
            #expect(try await k.stats("ranked")["sketch_restored"] as? Bool == false, "first run: nothing saved yet")
        }
        // Make L3's read counts say the opposite: k0, k1, k2 the most read. Only the sketch knows better.
        let database = try CacheKernel.openStopped(data + "/cache/cache.sqlite")
        let saved = try await database.write { db in
            try db.execute(sql: "UPDATE entries SET hits = 1000 WHERE key IN ('k0', 'k1', 'k2')")
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sketches WHERE namespace = 'ranked'") ?? 0
        }
        #expect(saved == 1, "the sketch was saved at stop")
        try database.close()
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.stats("ranked")["sketch_restored"] as? Bool == true)
            for i in 7..<10 {
                #expect(try await k.get("ranked", "k\(i)").body["tier"] as? String == "l1", "k\(i) was hot: warmed")
            }
            for i in 0..<3 {
                #expect(try await k.get("ranked", "k\(i)").body["tier"] as? String == "l3", "k\(i) only had read counts")
            }
        }
    }

    /// An idle node does not rewrite its access sketch: the default namespace's 2 MiB sketch was
    /// written every minute (and at stop) whether or not anything was read, about 4 GB a day.
    @Test func anUnreadSketchIsNotWrittenAgain() async throws {
        let data = try TemporaryDirectory.make(prefix: "jamey-cache-idle-sketch")
        let config = "namespaces:\n  - {name: idle, max_bytes: 1048576, max_value_bytes: 1024}\n"
        func savedAt() async throws -> Int64? {
            let database = try CacheKernel.openStopped(data + "/cache/cache.sqlite")
            defer { try? database.close() }
            return try await database.read { db in
                try Int64.fetchOne(db, sql: "SELECT saved_at FROM sketches WHERE namespace = 'idle'")
            }
        }
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.put("idle", "a", "1") == 201)
            _ = try await k.get("idle", "a")
        }
        let first = try #require(try await savedAt(), "read: saved at stop")
        try await CacheKernel.with(config: config, dataDir: data) { (k: CacheKernel) async throws in
            #expect(try await k.stats("idle")["sketch_restored"] as? Bool == true)
        }
        #expect(try await savedAt() == first, "nothing read: not written again")
    }
}
