// memory-search-cache-bench: the "real user" part of scripts/bench-cache.sh.
//
//   MemorySearchCacheBench CACHE_PLUGIN MEMORY_PLUGIN [SEARCHES]
//
// Boots two kernels in this process, each with the memory plugin and the same 5 000 items
// (12 words each from a 2 000-word vocabulary, fixed seed): one without the cache plugin, one with
// it and its `memory-search` namespace. Both then answer the same sequence of `memory.items.search`
// bus requests (`"reinforce": false`; 1 000 distinct one- and two-word queries drawn Zipf(1.0), fixed
// seed): first read-only, then with one store every 50 searches (a store moves the cached searches
// for its words), then with every 10th search a default, reinforcing one (its hits' access counts
// change: it moves the cached searches for their words; it is never cached itself). Prints Markdown
// rows: p50/p99 latency over all searches, searches per second, the cache's hit ratio, and the
// ratios of the cached run against the uncached one.

import CacheCore
import Foundation
import JameyKernel
import JameyTestKit

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: MemorySearchCacheBench CACHE_PLUGIN MEMORY_PLUGIN [SEARCHES]\n".utf8))
    exit(2)
}
let cachePlugin = arguments[1]
let memoryPlugin = arguments[2]
let searches = arguments.count > 3 ? Int(arguments[3]) ?? 20000 : 20000
let items = 5000
let distinctQueries = 1000
let storeEvery = 50
let reinforceEvery = 10

/// What comes between the searches.
enum Mix: CaseIterable {
    case readOnly, stores, retrievals

    var label: String {
        switch self {
        case .readOnly: "read-only"
        case .stores: "with a store every \(storeEvery) searches"
        case .retrievals: "every \(reinforceEvery)th search reinforcing"
        }
    }
}

var rng = SplitMix64(seed: 42)
let letters = Array("abcdefghijklmnopqrstuvwxyz")
let vocabulary = (0..<2000).map { _ in
    String((0..<Int.random(in: 4...9, using: &rng)).map { _ in letters.randomElement(using: &rng)! })
}
@MainActor func sentence() -> String { (0..<12).map { _ in vocabulary.randomElement(using: &rng)! }.joined(separator: " ") }
let contents = (0..<items).map { _ in sentence() }
let queries = (0..<distinctQueries).map { i in
    i % 2 == 0
        ? vocabulary.randomElement(using: &rng)!
        : vocabulary.randomElement(using: &rng)! + " " + vocabulary.randomElement(using: &rng)!
}
// Zipf(1.0) over the queries by inverse CDF.
let weights = (1...distinctQueries).map { 1.0 / Double($0) }
let total = weights.reduce(0, +)
var cumulative: [Double] = []
var running = 0.0
for w in weights {
    running += w / total
    cumulative.append(running)
}
let sequence = (0..<searches).map { _ -> Int in
    let u = Double.random(in: 0..<1, using: &rng)
    var lo = 0
    var hi = cumulative.count - 1
    while lo < hi {
        let mid = (lo + hi) / 2
        if cumulative[mid] < u { lo = mid + 1 } else { hi = mid }
    }
    return lo
}
let extra = (0..<(searches / storeEvery + 1)).map { _ in sentence() }

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func micros(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }

func request(_ bus: BusEndpoint, _ topic: String, _ json: String) throws -> BusMessage {
    try bus.requestSync(
        BusMessage(topic: topic, payload: Array(json.utf8), contentType: "application/json"), timeout: .seconds(60))
}

func quoted(_ s: String) -> String { "\"" + s + "\"" }

struct Run {
    var p50 = 0.0
    var p99 = 0.0
    var perSecond = 0.0
    var hitRatio: Double?
}

/// Boots a kernel, stores the items, runs the searches with `mix` between them, stops it.
func run(cached: Bool, mix: Mix) throws -> Run {
    var plugins: [TestKernel.Plugin] = [.init("memory", path: memoryPlugin, required: true)]
    if cached {
        plugins.append(
            .init(
                "cache", path: cachePlugin, required: true,
                config: """
                    namespaces:
                      - {name: memory-search, max_bytes: 67108864, l3_max_bytes: 0, max_value_bytes: 1048576}
                    """))
    }
    let kernel = try TestKernel.boot(plugins: plugins)
    defer { kernel.shutdown() }
    let bus = kernel.bus
    for start in stride(from: 0, to: items, by: 500) {
        let batch = contents[start..<min(items, start + 500)].map { #"{"layer":"semantic","content":\#(quoted($0))}"# }
        _ = try request(bus, "memory.items.store", #"{"items":[\#(batch.joined(separator: ","))]}"#)
    }
    var samples: [Double] = []
    samples.reserveCapacity(searches)
    let clock = ContinuousClock()
    let began = clock.now
    for (i, q) in sequence.enumerated() {
        if mix == .stores, i % storeEvery == storeEvery - 1 {
            _ = try request(bus, "memory.items.store", #"{"layer":"semantic","content":\#(quoted(extra[i / storeEvery]))}"#)
        }
        let start = clock.now
        let reinforce = mix == .retrievals && i % reinforceEvery == reinforceEvery - 1
        let reply = try request(
            bus, "memory.items.search", #"{"query":\#(quoted(queries[q])),"reinforce":\#(reinforce),"limit":10}"#)
        samples.append(micros(clock.now - start))
        if reply.headers.first(where: { $0.key == "status" })?.value != "200" {
            throw TestKitError("search failed: \(String(decoding: reply.payload, as: UTF8.self))")
        }
    }
    let elapsed = micros(clock.now - began) / 1e6
    var result = Run(p50: percentile(samples, 0.5), p99: percentile(samples, 0.99), perSecond: Double(searches) / elapsed)
    if cached {
        let stats = try request(bus, "cache.stats", #"{"namespace":"memory-search"}"#)
        let body = (try JSONSerialization.jsonObject(with: Data(stats.payload)) as? [String: Any]) ?? [:]
        let l1 = ((body["namespaces"] as? [String: Any])?["memory-search"] as? [String: Any])?["l1"] as? [String: Any]
        result.hitRatio = l1?["hit_ratio"] as? Double
    }
    return result
}

print(
    "| memory search (\(items) items, \(searches) searches over \(distinctQueries) Zipf(1.0) queries, one caller) | p50 µs | p99 µs | searches/s | cache hit ratio |"
)
print("|---|---|---|---|---|")
for mix in Mix.allCases {
    let plain = try run(cached: false, mix: mix)
    let cached = try run(cached: true, mix: mix)
    let label = mix.label
    func line(_ name: String, _ r: Run) {
        let ratio = r.hitRatio.map { String(format: "%.3f", $0) } ?? "–"
        print(
            "| \(name), \(label) | \(String(format: "%.1f", r.p50)) | \(String(format: "%.1f", r.p99)) | \(String(format: "%.0f", r.perSecond)) | \(ratio) |"
        )
    }
    line("without the cache", plain)
    line("through the cache", cached)
    print(
        "| ratio cached / uncached, \(label) | \(String(format: "%.2f", cached.p50 / plain.p50)) | \(String(format: "%.2f", cached.p99 / plain.p99)) | \(String(format: "%.2f", cached.perSecond / plain.perSecond)) | |"
    )
}
