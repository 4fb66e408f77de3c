import Foundation

// The synthetic memories of scripts/bench-memory.sh and scripts/probe-memory.sh: one generator,
// so the probe replays exactly the bench's corpus, single stores and queries.

/// SplitMix64: a small seeded generator.
public struct Seeded: RandomNumberGenerator {
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A Zipf(1.0) vocabulary of `size` words; word `i` (0-based rank) is "w<i in base 36>".
public struct Vocabulary: Sendable {
    public let words: [String]
    let cdf: [Double]

    public init(size: Int) {
        words = (0..<size).map { "w" + String($0, radix: 36) }
        var total = 0.0
        var cdf: [Double] = []
        cdf.reserveCapacity(size)
        for rank in 1...size {
            total += 1 / Double(rank)
            cdf.append(total)
        }
        self.cdf = cdf.map { $0 / total }
    }

    /// One word, by its Zipf probability.
    public func draw(_ rng: inout Seeded) -> String {
        let u = Double(rng.next() >> 11) / Double(1 << 53)
        var lo = 0
        var hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] < u { lo = mid + 1 } else { hi = mid }
        }
        return words[lo]
    }

    /// A memory: 8 to 40 words.
    public func text(_ rng: inout Seeded) -> String {
        let n = 8 + Int(rng.next() % 33)
        return (0..<n).map { _ in draw(&rng) }.joined(separator: " ")
    }
}

/// The bench's workload: the corpus (seed 42), then from the same generator 1000 single stores
/// and the queries by term class; the merge-mode single stores from a generator of their own
/// (seed 4242), so each part is the same as in earlier runs.
public struct Workload: Sendable {
    public let vocabulary = Vocabulary(size: 50_000)
    public let corpus: [String]
    public let singles: [String]
    public let mergeSingles: [String]
    /// Term classes by rank: common = the 10 most frequent words, mid = ranks 100–999,
    /// rare = ranks 10 000–49 999; AND = two mid-frequency words.
    public let classes: [(name: String, queries: [String])]

    public init(items: Int, queries: Int) {
        var rng = Seeded(state: 42)
        let vocabulary = vocabulary
        corpus = (0..<items).map { _ in vocabulary.text(&rng) }
        singles = (0..<1000).map { _ in vocabulary.text(&rng) }
        var mergeRNG = Seeded(state: 4242)
        mergeSingles = (0..<1000).map { _ in vocabulary.text(&mergeRNG) }
        var drawn: [(String, [String])] = []
        drawn.append(("rare", (0..<queries).map { _ in vocabulary.words[10_000 + Int(rng.next() % 40_000)] }))
        drawn.append(("mid", (0..<queries).map { _ in vocabulary.words[100 + Int(rng.next() % 900)] }))
        drawn.append(("common", (0..<queries).map { _ in vocabulary.words[Int(rng.next() % 10)] }))
        drawn.append(
            (
                "two-term AND",
                (0..<queries).map { _ in
                    vocabulary.words[100 + Int(rng.next() % 900)] + " " + vocabulary.words[100 + Int(rng.next() % 900)]
                }
            ))
        classes = drawn
    }
}

/// The kernel configuration of a bench or probe run: the memory plugin alone, from `plugin`, with
/// data under `directory`/data, the given duplicate policy, and no periodic sweep or
/// consolidation to disturb the timings.
/// With `POSTINGS_PER_GROUP` in the environment, the plugin's `postings_per_group` (its default
/// otherwise): to weigh a smaller cap's cheaper merges against the searches it sends to FTS5; with
/// `MERGE_BATCH`, its `merge_batch`: to weigh shorter waits of stores behind a merge against the
/// merge rate; with `SYNCHRONOUS=full`, `synchronous: full` (every commit syncs the WAL); with
/// `EXPIRED=N`, `episodic` items expire after 2 s (the driver's consolidation then sweeps N).
public func kernelConfiguration(node: String, directory: String, plugin: String, duplicates: String) -> String {
    let environment = ProcessInfo.processInfo.environment
    let cap =
        environment["POSTINGS_PER_GROUP"].flatMap(Int.init).map { "\n      postings_per_group: \($0)" } ?? ""
    let batch = environment["MERGE_BATCH"].flatMap(Int.init).map { "\n      merge_batch: \($0)" } ?? ""
    let sync = environment["SYNCHRONOUS"].map { "\n      synchronous: \($0)" } ?? ""
    let expiring = environment["EXPIRED"] == nil ? "" : "\n      layers:\n        episodic: {ttl_seconds: 2}"
    return """
        node:
          name: \(node)
        data_dir: \(directory)/data
        log:
          level: warning
        bus:
          request_timeout_ms: 600000
        plugins:
          memory:
            path: "\(plugin)"
            config:
              duplicates: \(duplicates)
              sweep_interval_ms: 0
              consolidation_interval_ms: 0\(cap)\(batch)\(sync)\(expiring)

        """
}

/// The `p` quantile of `values` (the value at rank ⌊(n − 1)·p⌋), 0 when empty.
public func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

/// A duration in milliseconds.
public func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }
