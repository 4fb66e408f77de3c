import Testing

@testable import CacheCore

/// The L1's open-addressed table and its buffered read recording.
@Suite struct TableTests {
    /// Random puts, removes and gets over few keys, so the table grows and shifts buckets back on
    /// almost every removal: every read must agree with a dictionary kept alongside.
    @Test func randomOperationsAgreeWithADictionary() {
        let cache = BoundedCache<Int, Int>(capacity: 1_000_000, policy: .lru)
        let (disagreements, model) = randomOperations(
            on: cache, keys: 3_000, count: 200_000, seed: 7, key: { $0 }, value: { $0 }, number: { $0 })
        #expect(disagreements == 0)
        #expect(cache.count == model.count)
        let snapshot = Dictionary(uniqueKeysWithValues: cache.snapshot(now: 0).map { ($0.key, $0.value) })
        #expect(snapshot == model)
        #expect(cache.removeAll { $0 % 2 == 0 } == model.keys.filter { $0 % 2 == 0 }.count)
        #expect(cache.count == model.keys.filter { $0 % 2 != 0 }.count)
    }

    /// Keys that all hash alike share a home bucket, a tag and a mark, so every key lies in one
    /// cluster: lookups run past equal marks to compare keys, and each removal shifts the
    /// cluster back. Every read must still agree with a dictionary.
    @Test func keysThatAllHashAlikeAgreeWithADictionary() {
        struct Colliding: Hashable {
            let id: Int
            func hash(into hasher: inout Hasher) { hasher.combine(0) }
        }
        let cache = BoundedCache<Colliding, Int>(capacity: 1_000_000, policy: .lru)
        let (disagreements, model) = randomOperations(
            on: cache, keys: 200, count: 20_000, seed: 5, key: Colliding.init, value: { $0 }, number: { $0 })
        #expect(disagreements == 0)
        #expect(cache.count == model.count)
        #expect(model.count > 50, "the cluster is long")
    }

    /// With evictions: whatever a read returns is the value last stored for that key.
    @Test(arguments: ["lru", "sieve", "s3-fifo", "w-tinylfu"])
    func readsReturnTheLastValueStored(policy: String) throws {
        let cache = BoundedCache<Int, Int>(capacity: 500, policy: try #require(PolicyKind(name: policy)))
        var last: [Int: Int] = [:]
        var rng = SplitMix64(seed: 11)
        var wrong = 0
        for i in 0..<100_000 {
            let key = Int(rng.next() % 2_000)
            if let v = cache.get(key, now: 0) {
                if v != last[key] { wrong += 1 }
            } else {
                cache.put(key, i, weight: 1 + key % 3, ttl: nil, now: 0)
                last[key] = i
            }
        }
        #expect(wrong == 0)
        #expect(cache.currentStatistics.bytes <= 500)
    }

    /// A lossy buffer stops recording reads once full, until it is drained; the counters still
    /// count every read.
    @Test func aFullLossyReadBufferDropsReadsUntilDrained() {
        let cache = BoundedCache<Int, Int>(capacity: 100, policy: .lru, lossyReads: true)
        for k in 0..<10 { cache.put(k, k, weight: 1, ttl: nil, now: 0) }
        let size = BoundedCache<Int, Int>.readBufferSize
        for _ in 0..<(size + 5) { _ = cache.get(1, now: 0) }
        #expect(cache.readBufferFull)
        #expect(cache.readsDropped == 5)
        cache.drainReads()
        #expect(!cache.readBufferFull)
        #expect(cache.statistics.hits == size + 5)
    }

    /// A partial drain replays the oldest reads and keeps the rest in order.
    @Test func aPartialDrainKeepsTheNewerReads() {
        let cache = BoundedCache<Int, Int>(capacity: 3, policy: .lru, lossyReads: true)
        for k in [1, 2, 3] { cache.put(k, k, weight: 1, ttl: nil, now: 0) }
        _ = cache.get(2, now: 0)
        _ = cache.get(1, now: 0)
        #expect(cache.drainReads(limit: 1), "one read still waits")
        #expect(!cache.drainReads(limit: 8))
        cache.put(4, 4, weight: 1, ttl: nil, now: 0)
        #expect(cache.peek(3, now: 0) == nil, "not read: evicted")
        #expect(cache.peek(1, now: 0) == 1)
        #expect(cache.peek(2, now: 0) == 2)
    }

    /// A buffer that fills is replayed on another thread without any write coming.
    @Test func aFullBufferIsDrainedInTheBackground() async throws {
        let cache = ConcurrentCache<Int, Int>(capacity: 3, policy: .lru, stripes: 1)
        for k in [1, 2, 3] { cache.put(k, k, weight: 1) }
        for _ in 0..<BoundedCache<Int, Int>.readBufferSize { _ = cache.get(1) }
        var waited = 0
        while cache.pendingReads > 0, waited < 1_000 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(cache.pendingReads == 0)
        cache.put(4, 4, weight: 1)
        #expect(cache.peek(1) == 1)
        #expect(cache.peek(2) == nil)
    }

    /// Reads still waiting in the buffer reach the policy before the next write decides what to
    /// evict: the key read last is kept, the one not read goes.
    @Test(arguments: [false, true])
    func aWriteSeesTheReadsBeforeIt(lossy: Bool) {
        let cache = ConcurrentCache<Int, Int>(capacity: 3, policy: .lru, stripes: 1, lossyReads: lossy)
        for k in [1, 2, 3] { cache.put(k, k, weight: 1) }
        #expect(cache.get(1) == 1)
        cache.put(4, 4, weight: 1)
        #expect(cache.peek(1) == 1, "read just before the write: kept")
        #expect(cache.peek(2) == nil, "least recently used: evicted")
    }

    /// Reads handed off to the policy's gate (the background drain's first step) and not yet
    /// replayed are replayed by the next write before it evicts, older reads first, and the gate's
    /// own replay afterwards finds nothing left.
    @Test(arguments: [false, true])
    func aWriteReplaysHandedOffReadsFirst(replayFirst: Bool) {
        let cache = BoundedCache<Int, Int>(capacity: 3, policy: .lru, lossyReads: true)
        for k in [1, 2, 3] { cache.put(k, k, weight: 1, ttl: nil, now: 0) }
        _ = cache.get(1, now: 0)
        #expect(cache.handOffReads())
        #expect(cache.pendingReads == 0)
        _ = cache.get(2, now: 0)  // newer, still in the buffer
        #expect(!cache.handOffReads() || cache.gate.handedOffCount == 1, "a second hand-off waits for the first replay")
        if replayFirst { cache.gate.replayHandedOff() }
        cache.put(4, 4, weight: 1, ttl: nil, now: 0)
        #expect(cache.gate.handedOffCount == 0)
        cache.gate.replayHandedOff()
        #expect(cache.peek(3, now: 0) == nil, "the only key not read: evicted")
        for k in [1, 2, 4] { #expect(cache.peek(k, now: 0) == k) }
    }

    /// Values whose keys and values are references (retain/release on every copy) survive
    /// growth, backward shifts and removal of the raw-memory table: every read agrees with a
    /// dictionary, and every value is released when the cache goes.
    @Test func referenceKeysAndValuesAgreeWithADictionaryAndAreReleased() {
        final class Box: Sendable {
            let n: Int
            init(_ n: Int) { self.n = n }
        }
        weak var probe: Box?
        do {
            let cache = BoundedCache<String, Box>(capacity: 1_000_000, policy: .tinyLFU)
            let (disagreements, model) = randomOperations(
                on: cache, keys: 2_000, count: 50_000, seed: 3, key: { "k\($0)" }, value: Box.init, number: \.n)
            let last = Box(-1)
            probe = last
            cache.put("last", last, weight: 1, ttl: nil, now: 0)
            #expect(disagreements == 0)
            #expect(cache.count == model.count + 1)
        }
        #expect(probe == nil, "released with the cache")
    }
}

/// Runs `count` random removes, puts and gets (a quarter, a quarter, half) over `keys` keys on
/// `cache` and on a dictionary alongside. `key` and `value` make the cache's key and value of a
/// number (operation `i` stores `value(i)`); `number` reads the number back from a value.
/// - Returns: how many results disagreed, and the dictionary (key number to value number).
private func randomOperations<Key: Hashable, Value>(
    on cache: BoundedCache<Key, Value>, keys: UInt64, count: Int, seed: UInt64, key: (Int) -> Key,
    value: (Int) -> Value, number: (Value) -> Int
) -> (disagreements: Int, model: [Int: Int]) {
    var model: [Int: Int] = [:]
    var rng = SplitMix64(seed: seed)
    var disagreements = 0
    for i in 0..<count {
        let k = Int(rng.next() % keys)
        switch rng.next() % 4 {
        case 0:
            if cache.remove(key(k)) != (model.removeValue(forKey: k) != nil) { disagreements += 1 }
        case 1:
            cache.put(key(k), value(i), weight: 1, ttl: nil, now: 0)
            model[k] = i
        default:
            if cache.get(key(k), now: 0).map(number) != model[k] { disagreements += 1 }
        }
    }
    return (disagreements, model)
}
