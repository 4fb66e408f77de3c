// memory-probe: replays parts of scripts/bench-memory.sh's workload against the memory plugin on a
// data directory kept between runs, to study one measure at a million items without the bench's
// 10-minute bulk phase. Run it through scripts/probe-memory.sh, which keeps the directory and
// gives each run a fresh copy.
//
//   MemoryProbe PLUGIN DIR ITEMS [ROUNDS]
//
// PLUGIN is the absolute path of libMemory.so; DIR holds the kernel's data directory, DIR/data
// (created and bulk-stored with the bench's ITEMS-item corpus when it holds no database). Then, by
// environment:
//   MODE=merge   the bench's 1000 merge-mode single stores (`duplicates: merge`), one at a time:
//                p50, p90, p99, max, the mean without the 10 slowest, and the 15 slowest by index;
//   MODE=allow   the same for the bench's 1000 single stores of the `allow` phase;
//   EXTRA=N      N more bulk items, the wait until the merge has indexed them (with the merges'
//                time by phase, memory_index_merge_*, and the postings folds'), then 1000 singles (EXTRA_LAYER=name: the
//                extra items and the singles go to that layer instead of long_term, e.g. episodic,
//                whose capacity the singles then meet);
//   MIXED=N      N searches, reinforcing (the default) and not by turns, while another thread
//                stores batches of 100: latency quantiles of each kind, and the items stored and
//                merged per second (MIXED_QUERY=text: that query each time instead of the bench's;
//                MERGE_BATCH=n: the plugin's merge_batch);
//   ROUNDS       rounds of the bench's top-10 searches by class (CLASS=rare|mid|common|and for one;
//                SLOWEST=1: also each class's eight slowest searches of the round, by index, in ms);
//   SEARCH_DELAY=S waits S seconds before the rounds (as the bench's; SLOWEST=1 then also
//                prints each class's first four searches in ms);
//   SHOW=i,j     prints merge singles i and j with each word's rank, and exits;
//   CHECKPOINT=1 waits for the background fill of word signatures, and empties the write-ahead
//                log into the file at the end (scripts/probe-memory.sh's preparation).

import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import MemoryBenchWorkload
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count >= 4, arguments[1].hasPrefix("/"), let items = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: MemoryProbe /PATH/TO/libMemory.so DIR ITEMS [ROUNDS]\n".utf8))
    exit(2)
}
let plugin = arguments[1]
let dir = arguments[2]
let rounds = arguments.count > 4 ? Int(arguments[4]) ?? 0 : 0
let environment = ProcessInfo.processInfo.environment
let workload = Workload(items: items, queries: 300)

if let show = environment["SHOW"] {
    let rank = Dictionary(uniqueKeysWithValues: workload.vocabulary.words.enumerated().map { ($1, $0) })
    for i in show.split(separator: ",").compactMap({ Int($0) }) where workload.mergeSingles.indices.contains(i) {
        let words = workload.mergeSingles[i].split(separator: " ").map { "\($0)(\(rank[String($0)]!))" }
        print("#\(i):", words.joined(separator: " "))
    }
    exit(0)
}

/// Summary of single-store latencies: quantiles, the mean without the 10 slowest, the slowest.
func report(_ label: String, _ latencies: [Double]) {
    let sorted = latencies.sorted()
    let trimmed = sorted.dropLast(10)
    print(
        String(
            format: "%@ p50 %.3f p90 %.3f p99 %.3f max %.1f trimmed-mean %.3f ms", label, percentile(latencies, 0.5),
            percentile(latencies, 0.9), percentile(latencies, 0.99), sorted.last ?? 0,
            trimmed.reduce(0, +) / Double(max(1, trimmed.count))))
    let slowest = latencies.enumerated().sorted { $0.element > $1.element }.prefix(15)
    print("slowest:", slowest.map { String(format: "#%d %.1f", $0.offset, $0.element) }.joined(separator: " "))
}

let databasePath = dir + "/data/memory/memory.sqlite"
let fresh = !FileManager.default.fileExists(atPath: databasePath)
let yaml = kernelConfiguration(
    node: "probe", directory: dir, plugin: plugin, duplicates: environment["MODE"] == "merge" ? "merge" : "allow")
let kernel = try TestKernel.boot(yaml: yaml)
@Sendable func request(_ topic: String, _ json: String) throws -> BusMessage {
    try kernel.bus.requestSync(BusMessage(topic: topic, payload: Array(json.utf8)), timeout: .seconds(600))
}
@Sendable func store(_ texts: some Collection<String>, layer: String = "long_term") throws {
    let batch = texts.map { #"{"content":"\#($0)","layer":"\#(layer)"}"# }
    _ = try request("memory.items.store", #"{"items":[\#(batch.joined(separator: ","))]}"#)
}
/// Items stored and not yet merged into FTS5 (the plugin's pending log), read from the file.
func pendingItems() throws -> Int {
    var readOnly = Configuration()
    readOnly.readonly = true
    return try DatabaseQueue(path: databasePath, configuration: readOnly).read {
        try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items_pending") ?? 0
    }
}

if fresh {
    let start = ContinuousClock.now
    for from in stride(from: 0, to: workload.corpus.count, by: 1000) {
        try store(workload.corpus[from..<min(from + 1000, workload.corpus.count)])
    }
    print(String(format: "stored %d items in %.1f s", items, ms(ContinuousClock.now - start) / 1000))
}
if let extra = environment["EXTRA"].flatMap({ Int($0) }) {
    var rng = Seeded(state: 99)
    let more = (0..<extra).map { _ in workload.vocabulary.text(&rng) }
    let start = ContinuousClock.now
    let layer = environment["EXTRA_LAYER"] ?? "long_term"
    for from in stride(from: 0, to: more.count, by: 1000) {
        try store(more[from..<min(from + 1000, more.count)], layer: layer)
    }
    print(String(format: "extra %d stored in %.1f s", extra, ms(ContinuousClock.now - start) / 1000))
    while try pendingItems() > 0 { usleep(10_000) }
    print(String(format: "merged after %.1f s", ms(ContinuousClock.now - start) / 1000))
    // Where the merges' time went (the plugin's memory_index_merge_phase_seconds), and the folds of
    // the postings delta (memory_postings_fold_seconds), in all since boot (a moment first: the
    // last merge is counted just after its commit empties the log).
    usleep(200_000)
    let exposition = kernel.kernel.metrics.exposition().split(separator: "\n")
    func total(_ name: String) -> [String] {
        exposition.filter { $0.hasPrefix(name) && $0.contains("plugin=\"memory\"") }.map(String.init)
    }
    for line in total("memory_index_merge") + total("memory_postings_fold") { print(line) }
    var latencies: [Double] = []
    for _ in 0..<1000 {
        let text = workload.vocabulary.text(&rng)
        let start = ContinuousClock.now
        _ = try request("memory.items.store", #"{"content":"\#(text)","layer":"\#(layer)"}"#)
        latencies.append(ms(ContinuousClock.now - start))
    }
    report("singles after extra bulk (\(layer))", latencies)
}
// Let the open's background work (a first merge, checkpoints) settle.
sleep(3)
/// True while an older file's items still wait for their word signatures (filled in the background).
func filling() throws -> Bool {
    var readOnly = Configuration()
    readOnly.readonly = true
    return try DatabaseQueue(path: databasePath, configuration: readOnly).read { db in
        try db.tableExists("item_words_fill") && Int.fetchOne(db, sql: "SELECT COUNT(*) FROM item_words_fill") != 0
    }
}
if environment["CHECKPOINT"] == "1" {
    // Preparing the kept directory: every run should start from the same, finished state.
    let start = ContinuousClock.now
    while try filling() { usleep(100_000) }
    print(String(format: "word signatures filled after %.1f s", ms(ContinuousClock.now - start) / 1000))
}
if let mode = environment["MODE"], mode == "merge" || mode == "allow" {
    var latencies: [Double] = []
    for text in mode == "merge" ? workload.mergeSingles : workload.singles {
        let start = ContinuousClock.now
        _ = try request("memory.items.store", #"{"content":"\#(text)","layer":"long_term"}"#)
        latencies.append(ms(ContinuousClock.now - start))
    }
    report("\(mode) singles", latencies)
}
if let mixed = environment["MIXED"].flatMap({ Int($0) }) {
    // Searches while another thread stores batches of 100 (merges run meanwhile): each class's
    // queries in turn, reinforcing (the API's default) and not, alternating.
    let storing = Atomic<Bool>(true)
    let stores = Mutex<[Double]>([])
    let writer = Thread {
        var rng = Seeded(state: 7)
        while storing.load(ordering: .relaxed) {
            let texts = (0..<100).map { _ in workload.vocabulary.text(&rng) }
            let start = ContinuousClock.now
            _ = try? store(texts)
            let elapsed = ms(ContinuousClock.now - start)
            stores.withLock { $0.append(elapsed) }
        }
    }
    let mixedStart = ContinuousClock.now
    writer.start()
    var latencies: [Bool: [Double]] = [true: [], false: []]
    let queries = environment["MIXED_QUERY"].map { [$0] } ?? workload.classes.flatMap(\.queries)
    for i in 0..<mixed {
        let reinforce = i % 2 == 0
        let start = ContinuousClock.now
        _ = try request(
            "memory.items.search", #"{"query":"\#(queries[i % queries.count])","limit":10,"reinforce":\#(reinforce)}"#)
        latencies[reinforce]!.append(ms(ContinuousClock.now - start))
    }
    storing.store(false, ordering: .relaxed)
    for reinforce in [false, true] {
        let values = latencies[reinforce]!
        print(
            String(
                format: "searches while storing, reinforce %@: p50 %.3f p90 %.3f p99 %.3f max %.1f ms",
                "\(reinforce)", percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.99),
                values.max() ?? 0))
    }
    let batches = stores.withLock { $0 }
    print(
        String(
            format: "batches of 100 stored meanwhile: %d, p50 %.3f p90 %.3f p99 %.3f max %.1f ms", batches.count,
            percentile(batches, 0.5), percentile(batches, 0.9), percentile(batches, 0.99), batches.max() ?? 0))
    let storesEnd = ContinuousClock.now
    while try pendingItems() > 0 { usleep(10_000) }
    let merged = ContinuousClock.now
    print(
        String(
            format: "%d items stored in %.1f s; every one merged %.1f s after the stores stopped: %.0f items/s merged",
            batches.count * 100, ms(storesEnd - mixedStart) / 1000, ms(merged - storesEnd) / 1000,
            Double(batches.count * 100) / (ms(merged - mixedStart) / 1000)))
}
let only = environment["CLASS"].map { $0 == "and" ? "two-term AND" : $0 }
if rounds > 0, let delay = environment["SEARCH_DELAY"].flatMap(Double.init), delay > 0 {
    // As the bench's SEARCH_DELAY: the merger's catch-up runs while nothing is stored.
    usleep(UInt32(delay * 1_000_000))
}
for round in 0..<rounds {
    var line = "round \(round):"
    var cpu0 = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0)
    let wall0 = ContinuousClock.now
    var searches = 0
    for (name, queries) in workload.classes where only.map({ $0 == name }) ?? true {
        var latencies: [Double] = []
        for query in queries {
            let start = ContinuousClock.now
            _ = try request("memory.items.search", #"{"query":"\#(query)","limit":10,"reinforce":false}"#)
            latencies.append(ms(ContinuousClock.now - start))
        }
        line += String(format: " %@ p50 %.3f p99 %.3f |", name, percentile(latencies, 0.5), percentile(latencies, 0.99))
        if environment["SLOWEST"] == "1" {
            line += " first " + latencies.prefix(4).map { String(format: "%.2f", $0) }.joined(separator: " ")
            let slowest = latencies.enumerated().sorted { $0.element > $1.element }.prefix(8)
            line += " slowest " + slowest.map { String(format: "#%d %.2f", $0.offset, $0.element) }.joined(separator: " ") + " |"
        }
        searches += latencies.count
    }
    var cpu1 = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1)
    let cpu = Double(cpu1.tv_sec - cpu0.tv_sec) * 1000 + Double(cpu1.tv_nsec - cpu0.tv_nsec) / 1e6
    line += String(
        format: " process CPU %.3f ms a search, wall %.3f", cpu / Double(searches),
        ms(ContinuousClock.now - wall0) / Double(searches))
    print(line)
}
let down = ContinuousClock.now
kernel.shutdown()
print(String(format: "shutdown (drains pending) %.2f s", ms(ContinuousClock.now - down) / 1000))
if environment["CHECKPOINT"] == "1" {
    // Leaves the file without a write-ahead log, so a copy of it starts the same way every time.
    _ = try DatabaseQueue(path: databasePath).writeWithoutTransaction {
        try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
}
