import Foundation
import Metrics
import Testing

@testable import Cache

/// `cache_hit_ratio{namespace, tier}`: hits over reads in the last minute, per tier and overall.
@Suite struct HitRatioTests {
    /// The ratios look back a minute from the newest sync: reads older than that leave them.
    @Test func theRatiosCoverTheLastMinute() {
        let start = ContinuousClock.now
        let metrics = CacheMetrics(namespace: "t", factory: NOOPMetricsHandler.instance, now: start)
        typealias Reads = CacheMetrics.Reads
        let first = Reads(l1Hits: 9, l1Reads: 10, l3Hits: 1, l3Reads: 1, served: 10, reads: 10)
        #expect(metrics.syncRatios(first, now: start + .seconds(1)) == ["l1": 0.9, "l3": 1, "all": 1])
        // Ten misses in every tier: the minute holds 9 of 20 L1 hits.
        let second = Reads(l1Hits: 9, l1Reads: 20, l3Hits: 1, l3Reads: 11, served: 10, reads: 20)
        #expect(metrics.syncRatios(second, now: start + .seconds(30)) == ["l1": 0.45, "l3": 1.0 / 11, "all": 0.5])
        // Ten L1 hits more; the first second's reads are over a minute old now.
        let third = Reads(l1Hits: 19, l1Reads: 30, l3Hits: 1, l3Reads: 11, served: 20, reads: 30)
        #expect(metrics.syncRatios(third, now: start + .seconds(65)) == ["l1": 0.5, "l3": 0, "all": 0.5])
        // Nothing read for a minute: no tier answered anything in it.
        #expect(metrics.syncRatios(third, now: start + .seconds(200)) == ["l1": 0, "l3": 0, "all": 0])
        let fourth = Reads(l1Hits: 22, l1Reads: 34, l3Hits: 1, l3Reads: 12, served: 23, reads: 34)
        #expect(metrics.syncRatios(fourth, now: start + .seconds(201)) == ["l1": 0.75, "l3": 0, "all": 0.75])
    }

    /// Through the kernel: three hits and a miss in L1 (the miss misses L3 too) make the gauges
    /// 0.75, 0 and 0.75 once the namespace's metrics are published.
    @Test func theGaugesShowTheNamespacesReads() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            #expect(try await k.put("main", "a", "v") == 201)
            for _ in 0..<3 { #expect(try await k.get("main", "a").status == 200) }
            #expect(try await k.get("main", "absent").status == 404)
            #expect(try await k.request("cache.stats", #"{"namespace":"main"}"#).status == 200)
            let text = k.test.kernel.metrics.exposition()
            func ratio(_ namespace: String, _ tier: String) -> Double? {
                for line in text.split(separator: "\n") where line.hasPrefix("cache_hit_ratio{") {
                    guard line.contains(#"namespace="\#(namespace)""#), line.contains(#"tier="\#(tier)""#) else { continue }
                    return line.split(separator: " ").last.flatMap { Double($0) }
                }
                return nil
            }
            #expect(ratio("main", "l1") == 0.75)
            #expect(ratio("main", "l3") == 0)
            #expect(ratio("main", "all") == 0.75)
            #expect(ratio("cold", "l1") == 0, "a namespace nothing read")
        }
    }
}
