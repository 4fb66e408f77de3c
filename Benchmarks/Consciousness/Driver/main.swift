// consciousness-bench: the driver of scripts/bench-consciousness.sh.
//
//   ConsciousnessBench [TEXTS]
//
// On the calling thread only (one core), with a fixed-seed corpus of English-like texts (5–30
// words, some urgent, some with the conscience's keywords), measures:
//   - texts/s and p50/p99 latency through `Consciousness.process` (the whole pipeline: checks,
//     priority and competition, attention, higher-order thought, prediction, integration,
//     emotional state), next to an in-run baseline that only reads each text the way every stage
//     must (its Unicode scalars and whitespace-separated words);
//   - conscience evaluations/s with 10 and with 1,000 rules (3 keywords each), next to an in-run
//     baseline of the conscience's own tokenizer on the same texts.
// Prints one Markdown table row per measure, with the ratio measure / baseline.

import ConscienceCore
import ConsciousnessCore
import Foundation

/// SplitMix64: a small seeded generator.
struct Seeded: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

let common = """
    i you we they the a an of to in on for with and but not never think feel plan should remember system server \
    message memory people child family work today tomorrow morning evening data report update network storage \
    help honest truthful harm hurt lie cheat care protect friend important urgent critical decide reflect analyze
    """.split(separator: " ").map(String.init)

func corpus(_ count: Int, seed: UInt64) -> [String] {
    var rng = Seeded(state: seed)
    return (0..<count).map { _ in
        let words = Int.random(in: 5...30, using: &rng)
        var text = (0..<words).map { _ in common.randomElement(using: &rng) ?? "x" }.joined(separator: " ")
        if Int.random(in: 0..<10, using: &rng) == 0 { text = text.uppercased() + "!!!" } else { text += "." }
        return text.prefix(1).uppercased() + text.dropFirst()
    }
}

/// Runs `body` on every text, timing each call; returns texts/s and the p50/p99 in microseconds.
func measure(_ texts: [String], _ body: (String) -> Void) -> (rate: Double, p50: Double, p99: Double) {
    var latencies = [UInt64](repeating: 0, count: texts.count)
    let start = DispatchTime.now().uptimeNanoseconds
    for (i, text) in texts.enumerated() {
        let t0 = DispatchTime.now().uptimeNanoseconds
        body(text)
        latencies[i] = DispatchTime.now().uptimeNanoseconds - t0
    }
    let total = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    latencies.sort()
    func quantile(_ q: Double) -> Double { Double(latencies[min(latencies.count - 1, Int(Double(latencies.count) * q))]) / 1000 }
    return (Double(texts.count) / total, quantile(0.5), quantile(0.99))
}

func rules(_ count: Int, seed: UInt64) -> [MoralRule] {
    var rng = Seeded(state: seed)
    let letters = Array("bcdfghjklmnpqrtvwxz")
    var made: [MoralRule] = DefaultRules.all
    var n = 0
    while made.count < count {
        n += 1
        let keywords = (0..<3).map { _ in "k" + String((0..<5).map { _ in letters.randomElement(using: &rng) ?? "b" }) + "o" }
        // A third of the rules also watch a common word, so texts match some of them.
        let watched = n % 3 == 0 ? [common[Int.random(in: 0..<common.count, using: &rng)]] : []
        if let rule = try? MoralRule(
            name: "rule-\(n)", description: "generated rule \(n)", keywords: keywords + watched,
            weight: Double(Int.random(in: 1...10, using: &rng)), polarity: n % 2 == 0 ? .virtue : .prohibition)
        {
            made.append(rule)
        }
    }
    return Array(made.prefix(count))
}

var sink = 0.0
let count = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200_000 : 200_000
let texts = corpus(count, seed: 42)
func row(_ name: String, _ m: (rate: Double, p50: Double, p99: Double), _ base: (rate: Double, p50: Double, p99: Double)) {
    print(
        String(
            format: "| %@ | %.0f/s | %.2f µs | %.2f µs | %.0f/s | %.2f | %.2f µs |", name, m.rate, m.p50, m.p99, base.rate,
            base.rate / m.rate, base.p99))
}

print("| measure (\(count) texts, one thread) | rate | p50 | p99 | baseline rate | time / baseline | baseline p99 |")
print("|---|---|---|---|---|---|---|")

// Warm up both paths, then measure.
let warm = Consciousness()
for text in texts.prefix(10_000) { _ = try? warm.process(text, at: 0) }
let readBaseline = measure(texts) { text in
    let scalars = Array(text.unicodeScalars)
    let words = text.split(whereSeparator: { $0.isWhitespace })
    sink += Double(scalars.count + words.count)
}
let pipeline = Consciousness()
var clock = 0.0
let process = measure(texts) { text in
    clock += 0.001
    if let outcome = try? pipeline.process(text, at: clock) { sink += outcome.priority.value }
}
row("`Consciousness.process`", process, readBaseline)
let levels = pipeline.levels(at: clock)

let conscienceTexts = Array(texts.prefix(max(1, count / 4)))
let tokenize = measure(conscienceTexts) { text in sink += Double(Tokenizer.tokens(text).count) }
for ruleCount in [10, 1000] {
    let engine = ConscienceEngine(rules: rules(ruleCount, seed: 7))
    for text in conscienceTexts.prefix(1000) { _ = try? engine.evaluate(text) }
    let evaluate = measure(conscienceTexts) { text in
        if let e = try? engine.evaluate(text) { sink += e.score }
    }
    row("conscience evaluate, \(ruleCount) rules", evaluate, tokenize)
}
FileHandle.standardError.write(
    Data(
        "broadcasts \(levels.workspace.broadcasts) of \(levels.processed); attention shifts \(levels.attention.shifts); checksum \(sink)\n"
            .utf8))
