import Testing

@testable import CacheCore

@Suite struct PolicyTests {
    /// Replays keys (weight 1 each) and returns the hit count.
    func replay(_ keys: [UInt64], _ cache: BoundedCache<UInt64, Int>) -> Int {
        var hits = 0
        for k in keys {
            if cache.get(k, now: 0) != nil { hits += 1 } else { cache.put(k, Int(k), weight: 1, ttl: nil, now: 0) }
        }
        return hits
    }

    @Test(arguments: ["lru", "sieve", "s3-fifo", "w-tinylfu"])
    func neverExceedsItsWeight(policy: String) throws {
        let kind = try #require(PolicyKind(name: policy))
        let cache = BoundedCache<UInt64, Int>(capacity: 100, policy: kind)
        var rng = SplitMix(seed: 1)
        for _ in 0..<20_000 {
            let k = rng.next() % 1000
            if cache.get(k, now: 0) == nil { cache.put(k, 0, weight: Int(k % 7) + 1, ttl: nil, now: 0) }
            #expect(cache.currentStatistics.bytes <= 100)
        }
        let s = cache.currentStatistics
        #expect(s.entries == cache.count)
        #expect(s.hits + s.misses == 20_000)
    }

    @Test func lruEvictsTheLeastRecentlyUsed() {
        let cache = BoundedCache<UInt64, Int>(capacity: 3, policy: .lru)
        for k: UInt64 in [1, 2, 3] { cache.put(k, 0, weight: 1, ttl: nil, now: 0) }
        _ = cache.get(1, now: 0)
        cache.put(4, 0, weight: 1, ttl: nil, now: 0)
        #expect(cache.peek(2, now: 0) == nil)
        #expect(cache.peek(1, now: 0) != nil)
        #expect(cache.currentStatistics.evictionsSize == 1)
    }

    @Test func sieveKeepsVisitedEntries() {
        let cache = BoundedCache<UInt64, Int>(capacity: 3, policy: .sieve)
        for k: UInt64 in [1, 2, 3] { cache.put(k, 0, weight: 1, ttl: nil, now: 0) }
        _ = cache.get(1, now: 0)
        cache.put(4, 0, weight: 1, ttl: nil, now: 0)
        #expect(cache.peek(1, now: 0) != nil, "visited: survives")
        #expect(cache.peek(2, now: 0) == nil, "the oldest unvisited goes")
    }

    /// The hot set left after a one-hit scan, with keys hashed by a fixed seeded mix instead of
    /// Swift's per-process `hashValue`, so which cold keys collide with hot ones in the sketch is
    /// the same on every run; and the admissions the scan was refused.
    func survivorsOfAScan(hashSeed: UInt64) -> (survivors: Int, refused: Int) {
        let cache = BoundedCache<UInt64, Int>(policy: TinyLFUPolicy(capacity: 100, adaptive: false))
        func hash(_ k: UInt64) -> UInt64 {
            var mix = SplitMix64(seed: k ^ (hashSeed &* 0x9E37_79B9_7F4A_7C15))
            return mix.next()
        }
        func touch(_ k: UInt64) {
            if cache.get(k, hash: hash(k), now: 0) == nil { cache.put(k, hash: hash(k), 0, weight: 1, ttl: nil, now: 0) }
        }
        // Make 1...100 hot, and resident.
        for _ in 0..<5 { for k: UInt64 in 1...100 { touch(k) } }
        let before = cache.currentStatistics.admissionsRefused
        // A scan of cold keys, each seen once.
        for k: UInt64 in 1000..<2000 { touch(k) }
        let survivors = (1...100).filter { cache.peek(UInt64($0), hash: hash(UInt64($0)), now: 0) != nil }.count
        return (survivors, cache.currentStatistics.admissionsRefused - before)
    }

    @Test func tinyLFURefusesAColdCandidateAgainstAHotVictim() {
        // Over 64 fixed hash seeds (LRU would keep none of the hot set). Today: worst 90, mean
        // 94.5. The window holds one entry, so a hot key in it when the scan starts can lose to
        // an equally hot victim; the rest is sketch collisions after the sketch halves mid-scan.
        let runs = (UInt64(1)...64).map { survivorsOfAScan(hashSeed: $0) }
        let worst = runs.map(\.survivors).min() ?? 0
        let mean = Double(runs.map(\.survivors).reduce(0, +)) / Double(runs.count)
        #expect(worst >= 88, "a scan must not flush the hot set (worst seed left \(worst))")
        #expect(mean >= 93, "the hot set mostly survives a scan (mean \(mean))")
        #expect(runs.allSatisfy { $0.refused > 0 })
    }

    @Test func tinyLFUAdmitsACandidateSeenMoreOftenThanTheVictim() {
        let cache = BoundedCache<UInt64, Int>(policy: TinyLFUPolicy(capacity: 10, adaptive: false))
        for k: UInt64 in 1...10 { cache.put(k, 0, weight: 1, ttl: nil, now: 0) }
        // Key 50 is requested many times; each miss re-offers it.
        var admitted = false
        for _ in 0..<10 {
            if cache.get(50, now: 0) != nil {
                admitted = true
                break
            }
            cache.put(50, 0, weight: 1, ttl: nil, now: 0)
        }
        #expect(admitted)
    }

    @Test func tinyLFUBeatsLRUOnAScanOverAHotSet() {
        var rng = SplitMix(seed: 3)
        var keys: [UInt64] = []
        for i in 0..<50_000 {
            keys.append(i % 10 == 0 ? 1_000_000 + UInt64(i) : rng.next() % 200)  // hot set + one-hit scan
        }
        let lru = replay(keys, BoundedCache(capacity: 150, policy: .lru))
        let tiny = replay(keys, BoundedCache(capacity: 150, policy: .tinyLFU))
        #expect(tiny > lru)
    }

    @Test func aTooHeavyEntryIsRefusedUpFront() {
        let cache = BoundedCache<UInt64, Int>(capacity: 10, policy: .tinyLFU)
        #expect(cache.put(1, 0, weight: 11, ttl: nil, now: 0) == .tooLarge)
        #expect(cache.count == 0)
    }

    @Test func replacingAKeyKeepsOneEntry() {
        let cache = BoundedCache<String, Int>(capacity: 10, policy: .tinyLFU)
        cache.put("a", 1, weight: 2, ttl: nil, now: 0)
        cache.put("a", 2, weight: 3, ttl: nil, now: 0)
        #expect(cache.count == 1)
        #expect(cache.get("a", now: 0) == 2)
        #expect(cache.currentStatistics.bytes == 3)
    }

    @Test func removeByPrefix() {
        let cache = BoundedCache<String, Int>(capacity: 100, policy: .lru)
        for k in ["user:1", "user:2", "post:1"] { cache.put(k, 0, weight: 1, ttl: nil, now: 0) }
        #expect(cache.removeAll { $0.hasPrefix("user:") } == 2)
        #expect(cache.count == 1)
        #expect(cache.currentStatistics.evictionsExplicit == 2)
    }

    @Test func policyMetadataIsAtMost24BytesPerEntryWithTheSketch() {
        for kind in [PolicyKind.lru, .sieve, .s3fifo, .tinyLFU] {
            for entries in [1000, 6250, 10_000, 312] {
                let policy = kind.make(capacity: entries)
                let perEntry = Double(policy.bytesPerEntry) + Double(policy.sharedBytes) / Double(entries)
                #expect(perEntry <= 24, "\(kind) at \(entries) entries: \(perEntry) bytes")
            }
        }
    }

    /// S3-FIFO's ghost remembers as many hashes as main holds entries, not as it holds weight,
    /// and allocates only for the hashes it was given: a byte-bounded policy of 2 GiB made one
    /// of 1.9 billion hashes (15 GB, written at once) before.
    @Test func s3fifosGhostIsSizedInEntriesAndGrowsWithUse() {
        let policy = S3FIFOPolicy(capacity: 64 << 20, expectedEntries: 1000)
        #expect(policy.ghostLimit == 900)
        #expect(policy.ghostAllocated == 0)
        var evicted: [Int32] = []
        var free: [Int32] = []
        var next: Int32 = 0
        // 64 KiB each: 1 024 fit. Read once, so each leaves through the small queue to the ghost.
        for key in 0..<5000 as Range<UInt64> {
            let slot = free.popLast() ?? next
            if slot == next { next += 1 }
            policy.insert(slot, hash: key &* 0x9E37_79B9_7F4A_7C15, weight: 1 << 16, evicted: &evicted)
            free += evicted
            evicted.removeAll()
        }
        #expect(policy.ghostAllocated >= 900 && policy.ghostAllocated <= 1800, "\(policy.ghostAllocated)")
        #expect(PolicyKind.s3fifo.make(capacity: 1 << 31, expectedEntries: 16).weight == 0)
        #expect(S3FIFOPolicy(capacity: 1000).ghostLimit == 900, "weight 1 each: as many as the capacity")
    }

    @Test func aWeightTooLargeForTheRecordIsKeptExactly() {
        for kind in [PolicyKind.lru, .sieve, .s3fifo, .tinyLFU] {
            let policy = kind.make(capacity: 1 << 31, expectedEntries: 16)
            var evicted: [Int32] = []
            policy.insert(0, hash: 7, weight: (1 << 30) + 5, evicted: &evicted)
            policy.insert(1, hash: 8, weight: 3, evicted: &evicted)
            #expect(evicted.isEmpty, "\(kind)")
            #expect(policy.weight == (1 << 30) + 8, "\(kind)")
            policy.remove(0)
            #expect(policy.weight == 3, "\(kind)")
            policy.insert(0, hash: 9, weight: 2, evicted: &evicted)
            #expect(policy.weight == 5, "\(kind): a reused slot forgets the heavy weight")
        }
    }
}

/// The tests' seeded generator.
typealias SplitMix = SplitMix64
