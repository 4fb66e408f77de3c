import Foundation
import JameyTestKit
import Testing

/// A read that finds a key in L3 (not in L1) copies it into L1. An invalidation running at the same
/// moment must still win: after it returns, no tier holds the key, whatever the read did meanwhile.
@Suite struct InvalidationRaceTests {
    @Test func aReadRacingAnInvalidationNeverPutsTheValueBackIntoL1() async throws {
        // 4 KiB of L1 over 16 stripes holds one 100-byte value per stripe, so the fillers push
        // the key out of L1 while L3 keeps it: the next read comes from L3.
        let config = """
            namespaces:
              - {name: racy, max_bytes: 4096, l3_max_bytes: 16777216, max_value_bytes: 200, policy: lru, warm_entries: 0}
            """
        try await CacheKernel.with(config: config) { (k: CacheKernel) async throws in
            let value = String(repeating: "v", count: 100)
            var resurrected: [String] = []
            var fromL3 = 0
            for round in 0..<150 {
                let key = "key\(round)"
                #expect(try await k.put("racy", key, value) == 201)
                for filler in 0..<40 { _ = try await k.put("racy", "filler\(round)-\(filler)", value) }
                async let first = k.get("racy", key)
                async let second = k.get("racy", key)
                async let invalidated = k.request("cache.invalidate", #"{"namespace":"racy","key":"\#(key)"}"#)
                let reads = try await [first, second]
                #expect(try await invalidated.status == 200)
                fromL3 += reads.filter { $0.body["tier"] as? String == "l3" }.count
                if try await k.get("racy", key).status != 404 { resurrected.append(key) }
            }
            #expect(resurrected.isEmpty, "keys back in L1 after their invalidation returned: \(resurrected)")
            #expect(fromL3 > 0, "some reads came from L3, where the race is")
        }
    }
}
