// scripts/bench-cache.sh: the L1 (CacheCore.ConcurrentCache) next to a plain dictionary under one
// lock, same keys, same process, release build.
//
//   CacheBench [ENTRIES] [OPS] [ROUNDS]
//
// ROUNDS (default 1) repeats the one-thread measurements, the structures interleaved, and reports
// each figure's median over the rounds (the shared machine's memory latency drifts by 2× within
// minutes; interleaving keeps the L1 and the dictionary under the same conditions).
// CACHEBENCH_LATENCY_ONLY=1 stops after the one-thread table.
//
// Latency: gets are timed in batches of 64 (a clock read costs about as much as a get), and the
// per-get figure of each batch goes into the distribution; p50/p99 are over batches. Throughput:
// one thread, a key mix that hits 90 % of the time. Threads: 2 threads, 1 stripe vs 16 stripes.
// Eviction under load: a Zipf(1.0) stream replayed as fast as one thread can through the L1 with
// lossy read buffers (the default) and with every read replayed, miss ratios side by side.
import CacheCore
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

let entries = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 100_000 : 100_000
let operations = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 5_000_000 : 5_000_000
let rounds = CommandLine.arguments.count > 3 ? max(1, Int(CommandLine.arguments[3]) ?? 1) : 1
let latencyOnly = ProcessInfo.processInfo.environment["CACHEBENCH_LATENCY_ONLY"] == "1"
let batch = 64

@inline(__always) func now() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// A plain dictionary behind one lock: the baseline.
final class LockedDictionary: Sendable {
    let storage = Mutex<[Int: Int]>([:])
    func get(_ k: Int) -> Int? { storage.withLock { $0[k] } }
    func put(_ k: Int, _ v: Int) { storage.withLock { $0[k] = v } }
}

/// Keys: `hitShare` of them resident (0..<entries), the rest never stored.
func keys(count: Int, hitShare: Double, seed: UInt64) -> [Int] {
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        Double(rng.next() % 1_000_000) / 1_000_000 < hitShare
            ? Int(rng.next() % UInt64(entries)) : entries + Int(rng.next() % UInt64(entries))
    }
}

struct Figures {
    var p50 = 0.0
    var p99 = 0.0
    var perSecond = 0.0
}

/// Times `get` over `keys` in batches; returns per-get p50/p99 (ns) and gets per second.
func measure(_ keys: [Int], _ get: (Int) -> Int?) -> Figures {
    var samples: [Double] = []
    samples.reserveCapacity(keys.count / batch)
    var found = 0
    let started = now()
    var i = 0
    while i + batch <= keys.count {
        let t0 = now()
        for j in i..<(i + batch) where get(keys[j]) != nil { found += 1 }
        samples.append(Double(now() - t0) / Double(batch))
        i += batch
    }
    let total = Double(now() - started)
    samples.sort()
    if found == -1 { print("unreachable") }
    return Figures(
        p50: samples[samples.count / 2], p99: samples[samples.count * 99 / 100],
        perSecond: Double(i) / total * 1e9)
}

func line(_ name: String, _ f: Figures) {
    print(
        "| \(name) | \(String(format: "%.1f", f.p50)) | \(String(format: "%.1f", f.p99)) | "
            + "\(String(format: "%.1f", f.perSecond / 1e6)) |")
}

func format(_ x: Double) -> String { String(format: "%.2f", x) }

// Fill: the L1 holds every entry (capacity with room to spare), the baseline the same keys.
func makeCache(stripes: Int) -> ConcurrentCache<Int, Int> {
    let cache = ConcurrentCache<Int, Int>(
        capacity: entries * 2, policy: .tinyLFU, expectedEntries: entries, stripes: stripes)
    for k in 0..<entries { cache.put(k, k, weight: 1) }
    return cache
}
let cache = makeCache(stripes: 16)
let single = makeCache(stripes: 1)
let baseline = LockedDictionary()
for k in 0..<entries { baseline.put(k, k) }

let allHits = keys(count: operations, hitShare: 1.0, seed: 1)
let mixed = keys(count: operations, hitShare: 0.9, seed: 2)

// Warm-up pass on both.
_ = measure(Array(allHits.prefix(200_000)), cache.get)
_ = measure(Array(allHits.prefix(200_000)), baseline.get)

print("## L1 get latency and throughput (\(entries) entries, \(operations) gets, one thread)\n")
print("| structure | get p50 ns | get p99 ns | M gets/s |")
print("|---|---|---|---|")
/// The median of each figure over the rounds.
/// The middle value of `values`.
func mid(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }

func median(_ runs: [Figures]) -> Figures {
    Figures(p50: mid(runs.map(\.p50)), p99: mid(runs.map(\.p99)), perSecond: mid(runs.map(\.perSecond)))
}
var runs: [[Figures]] = Array(repeating: [], count: 5)
for _ in 0..<rounds {
    runs[0].append(measure(allHits, cache.get))
    runs[1].append(measure(allHits, baseline.get))
    runs[2].append(measure(mixed, cache.get))
    runs[3].append(measure(mixed, baseline.get))
    runs[4].append(measure(allHits, single.get))
}
let l1Hit = median(runs[0])
let dictHit = median(runs[1])
let l1Mixed = median(runs[2])
let dictMixed = median(runs[3])
let singleHit = median(runs[4])
line("L1 W-TinyLFU, 16 stripes, 100 % hits", l1Hit)
line("L1 W-TinyLFU, 1 lock, 100 % hits", singleHit)
line("dictionary under a lock, 100 % hits", dictHit)
line("L1 W-TinyLFU, 16 stripes, 90 % hits", l1Mixed)
line("dictionary under a lock, 90 % hits", dictMixed)
if rounds > 1 { print("\n(medians of \(rounds) interleaved rounds)") }
// String keys, as the plugin's namespaces have (19 bytes: stored out of line, so a key
// comparison follows a pointer), 100 % hits; the same key table maps both structures' keys.
let names = (0..<entries).map { "session-key-\($0 + 1_000_000)" }
// The keys a get is given: equal to the stored ones, in storage of their own, as a request's are
// (a `String` compared with itself is equal at its storage's pointer, without reading a byte).
let probes = names.map { String(decoding: Array($0.utf8), as: UTF8.self) }
let stringCache = ConcurrentCache<String, Int>(capacity: entries * 2, policy: .tinyLFU, stripes: 16)
let stringBaseline = Mutex<[String: Int]>([:])
// The plugin's namespaces key L1 by the key's bytes (`CacheKey`), wrapped per call.
let byteCache = ConcurrentCache<CacheKey, Int>(capacity: entries * 2, policy: .tinyLFU, stripes: 16)
for k in 0..<entries {
    stringCache.put(names[k], k, weight: 1)
    byteCache.put(CacheKey(names[k]), k, weight: 1)
    stringBaseline.withLock { $0[names[k]] = k }
}
var stringRuns: [[Figures]] = [[], [], []]
for _ in 0..<rounds {
    stringRuns[0].append(measure(allHits) { stringCache.get(probes[$0]) })
    stringRuns[1].append(measure(allHits) { k in stringBaseline.withLock { $0[probes[k]] } })
    stringRuns[2].append(measure(allHits) { byteCache.get(CacheKey(probes[$0])) })
}
print("\n## String keys (\"session-key-N\", 19 bytes), \(entries) entries, one thread, 100 % hits\n")
print("| structure | get p50 ns | get p99 ns | M gets/s |")
print("|---|---|---|---|")
line("L1 W-TinyLFU, 16 stripes, String keys", median(stringRuns[0]))
line("dictionary under a lock, String keys", median(stringRuns[1]))
line("L1 W-TinyLFU, 16 stripes, CacheKey keys (the plugin's)", median(stringRuns[2]))

if latencyOnly {
    print(
        "\n- L1 ÷ dictionary p50 on hit: \(String(format: "%.2f", l1Hit.p50 / dictHit.p50))×; "
            + "throughput at 90 % hits: \(String(format: "%.2f", l1Mixed.perSecond / dictMixed.perSecond))×")
    exit(0)
}

// Two threads, one lock vs 16 stripes: each thread's keys are copied and the threads started
// before the clock starts; they wait for one flag and the time runs until both are done.
let halves = [Array(mixed[0..<(operations / 2)]), Array(mixed[(operations / 2)..<(operations / 2 * 2)])]
func twoThreads(_ get: @escaping @Sendable (Int) -> Int?) -> Double {
    final class Work: @unchecked Sendable {
        let keys: [Int]
        let get: @Sendable (Int) -> Int?
        let go: UnsafeMutablePointer<Atomic<Int>>
        init(_ k: [Int], _ g: @escaping @Sendable (Int) -> Int?, _ go: UnsafeMutablePointer<Atomic<Int>>) {
            keys = k
            self.get = g
            self.go = go
        }
    }
    let go = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1)
    go.initialize(to: Atomic(0))
    defer { go.deallocate() }
    var threads: [pthread_t] = []
    for t in 0..<2 {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Work(halves[t], get, go)).toOpaque()
        pthread_create(
            &thread, nil,
            { raw in
                let w = Unmanaged<Work>.fromOpaque(raw!).takeRetainedValue()
                w.go.pointee.add(1, ordering: .relaxed)
                // Yield while waiting, so the main thread is not kept off a core before it starts the clock.
                while w.go.pointee.load(ordering: .acquiring) < 3 { sched_yield() }
                var n = 0
                for k in w.keys where w.get(k) != nil { n += 1 }
                if n == -1 { print("unreachable") }
                return nil
            }, box)
        threads.append(thread)
    }
    while go.pointee.load(ordering: .relaxed) < 2 {}
    let started = now()
    go.pointee.add(1, ordering: .releasing)
    for t in threads { pthread_join(t, nil) }
    return Double(halves[0].count + halves[1].count) / Double(now() - started) * 1e9
}
var twoRuns: [[Double]] = [[], [], []]
for _ in 0..<rounds {
    twoRuns[0].append(twoThreads { cache.get($0) })
    twoRuns[1].append(twoThreads { single.get($0) })
    twoRuns[2].append(twoThreads { baseline.get($0) })
}
let two16 = mid(twoRuns[0])
let two1 = mid(twoRuns[1])
let twoDict = mid(twoRuns[2])
print("\n## Two threads, 90 % hits (M gets/s, both threads together)\n")
print("| structure | M gets/s |")
print("|---|---|")
print("| L1, 16 stripes | \(format(two16 / 1e6)) |")
print("| L1, 1 lock | \(format(two1 / 1e6)) |")
print("| dictionary under a lock | \(format(twoDict / 1e6)) |")

// Eviction under load: what the reads the L1 drops (full read buffers, drain pending) cost.
func zipfKeys(count: Int, objects: Int, alpha: Double, seed: UInt64) -> [Int] {
    var cumulative = [Double](repeating: 0, count: objects)
    var sum = 0.0
    for i in 0..<objects {
        sum += 1 / pow(Double(i + 1), alpha)
        cumulative[i] = sum
    }
    var rng = SplitMix64(seed: seed)
    return (0..<count).map { _ in
        let u = Double(rng.next() >> 11) / Double(1 << 53) * sum
        var lo = 0
        var hi = objects - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
func missRatio(_ stream: [Int], lossy: Bool) -> (missRatio: Double, dropped: Double) {
    let l1 = ConcurrentCache<Int, Int>(capacity: 10_000, policy: .tinyLFU, stripes: 16, lossyReads: lossy)
    var misses = 0
    for k in stream where l1.get(k) == nil {
        misses += 1
        l1.put(k, k, weight: 1)
    }
    return (Double(misses) / Double(stream.count), Double(l1.readsDropped) / Double(stream.count))
}
let zipf = zipfKeys(count: 1_000_000, objects: 100_000, alpha: 1.0, seed: 42)
let exact = missRatio(zipf, lossy: false)
let lossy = missRatio(zipf, lossy: true)
print("\n## Eviction with lossy read buffers (Zipf 1.0, 100k objects, 1M gets, 10k entries, 16 stripes, one thread)\n")
print("| L1 read recording | miss ratio | reads not recorded |")
print("|---|---|---|")
print("| every read replayed | \(String(format: "%.4f", exact.missRatio)) | 0 |")
print("| lossy (default) | \(String(format: "%.4f", lossy.missRatio)) | \(String(format: "%.1f", lossy.dropped * 100)) % |")

let meta = BoundedCache<Int, Int>(capacity: 10, policy: .tinyLFU).policyBytesPerEntry
print("\n## Ratios and goals\n")
let sketch = Double(cache.policySharedBytes) / Double(entries)
print(
    "- policy metadata: \(meta) bytes per entry in the entry's list record (goal ≤ 24), plus the frequency "
        + "sketches: \(cache.policySharedBytes / 1024) KiB over 16 stripes, \(String(format: "%.1f", sketch)) bytes per "
        + "entry here (one 8-byte word per entry the sketch is sized for, its \(entries) entries) — "
        + "\(String(format: "%.1f", Double(meta) + sketch)) in all (goal ≤ 24)")
print("- get on hit p50 \(format(l1Hit.p50)) ns (goal ≤ 40), p99 \(format(l1Hit.p99)) ns (goal ≤ 150)")
print("- gets/s at 90 % hits, one thread: \(format(l1Mixed.perSecond / 1e6)) M (goal ≥ 25 M per core)")
print("- L1 ÷ dictionary-under-lock p50 on hit: \(format(l1Hit.p50 / dictHit.p50))×")
print("- L1 ÷ dictionary-under-lock throughput at 90 % hits: \(format(l1Mixed.perSecond / dictMixed.perSecond))×")
// The 16-stripe L1 served the warm-up, both one-thread runs and the two-thread runs.
let readsOn16Stripes = 200_000 + 2 * rounds * operations + rounds * (operations / 2 * 2)
print(
    "- reads not recorded for the policy (16-stripe L1, all its runs): \(cache.readsDropped) of \(readsOn16Stripes), "
        + "\(format(Double(cache.readsDropped) / Double(readsOn16Stripes) * 100)) %"
)
print(
    "- miss ratio with lossy read buffers − with every read replayed: \(String(format: "%+.4f", lossy.missRatio - exact.missRatio))"
)
