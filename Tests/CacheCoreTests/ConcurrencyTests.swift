import Synchronization
import Testing

@testable import CacheCore

@Suite struct ConcurrencyTests {
    /// Eight threads read and write overlapping keys; every value read must be the one written
    /// for that key (values encode their key), and the counters must add up.
    @Test(arguments: [1, 16])
    func stressKeepsEveryEntryConsistent(stripes: Int) async {
        let cache = ConcurrentCache<Int, Int>(capacity: 2_000, policy: .tinyLFU, stripes: stripes)
        let threads = 8
        let operations = 20_000
        let counts = Counts()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<threads {
                group.addTask {
                    await runOnThread {
                        var rng = SplitMix(seed: UInt64(t + 1))
                        var localReads = 0
                        for _ in 0..<operations {
                            let key = Int(rng.next() % 5_000)
                            switch rng.next() % 10 {
                            case 0: cache.remove(key)
                            case 1...3:
                                cache.put(
                                    key, key * 7 + 1, weight: 1 + key % 3, ttl: rng.next() % 2 == 0 ? nil : 3_600_000_000_000)
                            default:
                                localReads += 1
                                if let v = cache.get(key), v != key * 7 + 1 { counts.wrong.add(1, ordering: .relaxed) }
                            }
                        }
                        counts.reads.add(localReads, ordering: .relaxed)
                    }
                }
            }
        }
        let s = cache.statistics
        #expect(counts.wrong.load(ordering: .relaxed) == 0)
        #expect(s.hits + s.misses == counts.reads.load(ordering: .relaxed))
        #expect(s.bytes <= 2_000)
        #expect(s.entries == cache.snapshot().count)
        for (k, v) in cache.snapshot() { #expect(v == k * 7 + 1) }
    }
}

extension ConcurrencyTests {
    /// Mostly reads of few hot keys, so the stripes' read buffers fill and the background drain
    /// replays them into the policies (under the policies' own locks) while readers and writers go
    /// on: every value read is the one written for its key, the counters add up, and the policy's
    /// lists stay intact (a replay of a freed slot would break them: the evictions that follow,
    /// and a full sweep, would then lose or duplicate entries).
    @Test(arguments: [1, 4])
    func readsReplayedInTheBackgroundDuringWritesKeepEveryEntryConsistent(stripes: Int) async {
        let cache = ConcurrentCache<Int, Int>(capacity: 500, policy: .tinyLFU, stripes: stripes)
        let counts = Counts()
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<6 {
                group.addTask {
                    await runOnThread {
                        var rng = SplitMix(seed: UInt64(t + 100))
                        var localReads = 0
                        for i in 0..<60_000 {
                            // Hot keys most of the time, so reads fill the buffers between writes.
                            let key = Int(rng.next() % (rng.next() % 8 == 0 ? 2_000 : 64))
                            if t < 2, i % 16 == 0 {
                                if rng.next() % 5 == 0 { cache.remove(key) } else { cache.put(key, key * 3 + 2, weight: 1) }
                            } else {
                                localReads += 1
                                if let v = cache.get(key), v != key * 3 + 2 { counts.wrong.add(1, ordering: .relaxed) }
                            }
                        }
                        counts.reads.add(localReads, ordering: .relaxed)
                    }
                }
            }
        }
        cache.drainReads()
        // Churn through the policy's lists after the storm: every eviction walks them.
        for k in 10_000..<12_000 { cache.put(k, k * 3 + 2, weight: 1) }
        let s = cache.statistics
        #expect(counts.wrong.load(ordering: .relaxed) == 0)
        #expect(s.hits + s.misses == counts.reads.load(ordering: .relaxed))
        #expect(cache.readsDropped + cache.pendingReads <= s.hits + s.misses)
        #expect(s.bytes <= 500)
        #expect(s.entries == cache.snapshot().count)
        #expect(s.bytes == s.entries, "weight 1 each: the policy's weight matches the table")
        for (k, v) in cache.snapshot() { #expect(v == k * 3 + 2) }
    }
}

/// Counters the stress threads share.
final class Counts: Sendable {
    let wrong = Atomic<Int>(0)
    let reads = Atomic<Int>(0)
}

/// Runs `body` on a thread of its own (blocking work must stay off the cooperative pool).
func runOnThread(_ body: @escaping @Sendable () -> Void) async {
    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
        let thread = Thread {
            body()
            done.resume()
        }
        thread.start()
    }
}

#if canImport(Foundation)
    import Foundation
#endif
