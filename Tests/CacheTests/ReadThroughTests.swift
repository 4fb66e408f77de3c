import Foundation
import JameyTestKit
import Testing

/// Misses load from the namespace's origin topic: once per key however many callers miss at once,
/// and a failed load is not cached.
@Suite struct ReadThroughTests {
    @Test func aBurstOfMissesCausesOneLoad() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { key in .hold("value of \(key)") }
            defer { origin.cancel() }
            let callers = 20
            async let replies = withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<callers {
                    group.addTask {
                        let r = try await k.get("loaded", "burst")
                        return (r.status, r.body["value"] as? String)
                    }
                }
                var all: [(Int, String?)] = []
                for try await r in group { all.append(r) }
                return all
            }
            // Every caller is in: one at the origin, the others waiting on its load.
            let joined = try await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
                let waiting = try await k.stats("loaded").int("origin", "waiting")
                return origin.count == 1 && waiting == callers - 1
            }
            #expect(joined)
            origin.release()
            let results = try await replies
            #expect(results.count == callers)
            #expect(results.allSatisfy { $0.0 == 200 && $0.1 == "value of burst" })
            #expect(origin.count == 1)
            let stats = try await k.stats("loaded")
            #expect(stats.int("origin", "loads") == 1)
            #expect(stats.int("origin", "shared") == callers - 1)
            #expect(try await k.get("loaded", "burst").body["tier"] as? String == "l1", "the loaded value is cached")
        }
    }

    @Test func aFailedLoadIsReportedAndNotCached() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { _ in .failure(status: 500) }
            defer { origin.cancel() }
            let first = try await k.get("loaded", "broken")
            #expect(first.status == 502)
            #expect((first.body["detail"] as? String)?.contains("test.origin") == true)
            #expect(try await k.get("loaded", "broken").status == 502)
            #expect(origin.count == 2, "the failure was not cached: the origin was asked again")
        }
    }

    @Test func aFailedLoadIsRememberedWhenConfiguredUntilInvalidated() async throws {
        let config = """
            namespaces:
              - {name: loaded, max_bytes: 1048576, max_value_bytes: 1024, origin: test.origin, failure_ttl_ms: 3600000}
            """
        try await CacheKernel.with(config: config) { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { _ in .failure(status: 503) }
            defer { origin.cancel() }
            #expect(try await k.get("loaded", "down").status == 502)
            #expect(try await k.get("loaded", "down").status == 502)
            #expect(origin.count == 1, "the second read got the remembered failure")
            _ = try await k.request("cache.invalidate", #"{"namespace":"loaded","key":"down"}"#)
            #expect(try await k.get("loaded", "down").status == 502)
            #expect(origin.count == 2, "an invalidation forgets the failure")
        }
    }

    @Test func anInvalidationDuringALoadKeepsTheLoadedValueOutOfTheCache() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let origin = try OriginResponder(k) { _ in .hold("stale") }
            defer { origin.cancel() }
            async let reply = k.get("loaded", "racy")
            let called = await eventually(timeout: .seconds(60), polling: .milliseconds(20)) { origin.count == 1 }
            #expect(called)
            #expect(try await k.request("cache.invalidate", #"{"namespace":"loaded","key":"racy"}"#).status == 200)
            origin.release()
            #expect(try await reply.body["value"] as? String == "stale", "the caller still gets what it asked for")
            #expect(try await k.stats("loaded").int("l1", "entries") == 0, "but it is not cached")
        }
    }
}
