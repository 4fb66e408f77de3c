// memory-bench: the driver of scripts/bench-memory.sh.
//
//   memory-bench PLUGIN ITEMS [QUERIES]
//
// Generates ITEMS synthetic memories (a Zipf vocabulary of 50 000 words, 8–40 words each, fixed
// seed) and runs the same work against the memory plugin (loaded from PLUGIN, reached over the
// bus, default config but `duplicates: allow` for the bulk phase) and against raw SQLite FTS5 with
// the same schema through GRDB in the same process:
//   - bulk store rate (batches of 1000 items, one transaction each), acknowledged and until the
//     plugin's background merge has indexed everything (its pending log is empty); one batch in
//     flight at a time, or BULK_IN_FLIGHT=N in the environment (N threads storing at once);
//   - durable single store latency, p50/p99 (1000 stores, one transaction each), with
//     `duplicates: allow` and then, on the same data after a restart, with the default
//     `duplicates: merge` (another 1000 stores, each checked for near-duplicates among the items
//     merged into FTS5 and those still pending);
//   - top-10 search latency, p50/p99, by term class: rare, mid-frequency, common, two-term AND
//     (SEARCH_DELAY=S in the environment waits S seconds after the single stores first).
// SYNCHRONOUS=full syncs the WAL at every commit in both (the plugin's `synchronous: full`).
// CONSOLIDATE=1 then times one `memory.consolidate` on the plugin's data (after the searches)
// while another thread stores an item every millisecond, and prints to standard error how long
// it took and what the stores waited meanwhile (consolidation holds the writer: one transaction).
// EXPIRED=N (with CONSOLIDATE=1) first stores N items in `episodic`, whose TTL is then 2 s, and
// waits for them to expire, so the consolidation's sweep deletes them.
// Prints one Markdown table row per measure, with the ratio plugin / raw and the issue's goal,
// then per class how many queries' plugin top 10 carried FTS5's own bm25() values in FTS5's
// order (the plugin's default long_term ranking adds only constants to BM25 here: every item
// has importance 0.5 and no retrievals, so its order is BM25's). The ten slowest single stores of
// each policy and the ten slowest searches of each class go to standard error, by index.

import Foundation
import GRDB
import JameyKernel
import JameyTestKit
import MemoryBenchWorkload
import MemoryCore
import Synchronization

/// Prints the ten slowest of a phase's single stores or searches by index to standard error (a
/// p99 is the tenth of a thousand stores, the second of 200 searches: which ones they are tells a
/// merge's stall or a cold start from a costly text or query).
func reportSlowest(_ label: String, _ latencies: [Double]) {
    let slowest = latencies.enumerated().sorted { $0.element > $1.element }.prefix(10)
    let line = slowest.map { String(format: "#%d %.1f", $0.offset, $0.element) }.joined(separator: " ")
    FileHandle.standardError.write(Data("\(label) slowest (ms): \(line)\n".utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    return ms(ContinuousClock.now - start)
}

let arguments = CommandLine.arguments
guard arguments.count >= 3, let itemCount = Int(arguments[2]) else { fail("usage: memory-bench PLUGIN ITEMS [QUERIES]") }
let plugin = arguments[1]
let queryCount = arguments.count > 3 ? Int(arguments[3]) ?? 200 : 200
let workload = Workload(items: itemCount, queries: queryCount)
let corpus = workload.corpus
let singles = workload.singles
let mergeSingles = workload.mergeSingles
let classes = workload.classes

// Raw SQLite FTS5 with the plugin's schema (Plugins/Memory/MemoryStore.swift, migration v1) and
// its ids (time-ordered UUIDs, `ItemID`), written the way FTS5 is fastest: each transaction's
// items, then one `INSERT … SELECT` of their text into FTS5, through cached statements. An
// `AFTER INSERT` trigger into FTS5 (v1's, and this baseline's until 2026-12-04) makes FTS5 flush
// its pending terms at every row's statement savepoint: scripts/fts5-insert-rates.py 1000000 took
// 19 216 rows/s through the trigger against 47 276 with one statement a batch, so the trigger
// measured FTS5's flushes more than FTS5.
func rawRun(_ dir: String) throws -> [String: Double] {
    var configuration = Configuration()
    configuration.busyMode = .timeout(5)
    let pool = try DatabasePool(path: dir + "/raw.sqlite", configuration: configuration)
    if ProcessInfo.processInfo.environment["SYNCHRONOUS"] == "full" {
        try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
    }
    try pool.write { db in
        try db.execute(
            sql: """
                CREATE TABLE items (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, layer TEXT NOT NULL,
                    content TEXT NOT NULL, tags TEXT NOT NULL DEFAULT '[]', source TEXT NOT NULL DEFAULT '',
                    importance REAL NOT NULL DEFAULT 0.5, created_at REAL NOT NULL, last_accessed_at REAL NOT NULL,
                    access_count INTEGER NOT NULL DEFAULT 0, expires_at REAL, pinned INTEGER NOT NULL DEFAULT 0);
                CREATE INDEX items_by_layer_time ON items(layer, created_at);
                CREATE INDEX items_by_time ON items(created_at);
                CREATE INDEX items_eviction ON items(layer, pinned, created_at);
                CREATE INDEX items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL;
                CREATE VIRTUAL TABLE items_fts USING fts5(
                    content, content='items', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
                """)
    }
    /// Stores `texts` in one transaction: the rows, then their text into FTS5 in one statement.
    func insert(_ db: Database, _ texts: ArraySlice<String>) throws {
        let now = Date().timeIntervalSince1970
        let first = (try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(seq) FROM items")) ?? 0) + 1
        let row = try db.cachedStatement(
            sql: "INSERT INTO items(id, layer, content, created_at, last_accessed_at) VALUES (?, 'long_term', ?, ?, ?)")
        for (id, text) in zip(ItemID.make(texts.count), texts) { try row.execute(arguments: [id, text, now, now]) }
        try db.cachedStatement(sql: "INSERT INTO items_fts(rowid, content) SELECT seq, content FROM items WHERE seq >= ?")
            .execute(arguments: [first])
    }
    var result: [String: Double] = [:]
    let bulk = try time {
        for start in stride(from: 0, to: corpus.count, by: 1000) {
            try pool.write { db in try insert(db, corpus[start..<min(start + 1000, corpus.count)]) }
        }
    }
    result["bulk"] = Double(corpus.count) / (bulk / 1000)
    let single = try singles.map { text in try time { try pool.write { db in try insert(db, [text]) } } }
    result["single p50"] = percentile(single, 0.5)
    result["single p99"] = percentile(single, 0.99)
    for (name, queries) in classes {
        var tops: [[Double]] = []
        let latencies = try queries.map { q in
            let expression = q.split(separator: " ").map { "\"\($0)\"" }.joined(separator: " AND ")
            var rows: [Row] = []
            let elapsed = try time {
                rows = try pool.read { db in
                    try Row.fetchAll(
                        db,
                        sql: """
                            SELECT items.id, bm25(items_fts) AS rank FROM items_fts JOIN items ON items.seq = items_fts.rowid
                            WHERE items_fts MATCH ? ORDER BY rank LIMIT 10
                            """, arguments: [expression])
                }
            }
            tops.append(rows.map { $0["rank"] })
            return elapsed
        }
        result["\(name) p50"] = percentile(latencies, 0.5)
        result["\(name) p99"] = percentile(latencies, 0.99)
        rawTops[name] = tops
    }
    return result
}

/// Each query's top-10 `bm25()` values from raw FTS5, by class (the plugin's are compared).
nonisolated(unsafe) var rawTops: [String: [[Double]]] = [:]
/// Queries per class whose plugin top 10 had FTS5's bm25 values in FTS5's order.
nonisolated(unsafe) var agreeing: [String: Int] = [:]

/// True when two top-10 lists of bm25 values are the same (to rounding).
func same(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }
}

// The plugin over the bus.
func pluginRun(_ dir: String) throws -> [String: Double] {
    var result = try pluginRun(dir, duplicates: "allow")
    let merging = try pluginRun(dir, duplicates: "merge")
    result["merge single p50"] = merging["single p50"]
    result["merge single p99"] = merging["single p99"]
    return result
}

/// With `allow`: the bulk phase, the single stores and the searches; with another policy only
/// single stores (of ``mergeSingles``), on the data the first run left.
func pluginRun(_ dir: String, duplicates: String) throws -> [String: Double] {
    let allow = duplicates == "allow"
    let yaml = kernelConfiguration(node: "bench", directory: dir, plugin: plugin, duplicates: duplicates)
    let k = try TestKernel.boot(yaml: yaml)
    defer { k.shutdown() }
    @Sendable func request(_ topic: String, _ json: String) throws -> BusMessage {
        let reply = try k.bus.requestSync(BusMessage(topic: topic, payload: Array(json.utf8)), timeout: .seconds(600))
        if let status = reply.headers.first(where: { $0.key == "status" })?.value, !status.hasPrefix("2") {
            fail("\(topic): \(status) \(String(decoding: reply.payload, as: UTF8.self))")
        }
        return reply
    }
    var result: [String: Double] = [:]
    guard allow else {
        let single = try mergeSingles.map { text in
            try time { _ = try request("memory.items.store", #"{"content":"\#(text)","layer":"long_term"}"#) }
        }
        result["single p50"] = percentile(single, 0.5)
        result["single p99"] = percentile(single, 0.99)
        reportSlowest("single stores, duplicates: \(duplicates),", single)
        return result
    }
    let lanes = max(1, ProcessInfo.processInfo.environment["BULK_IN_FLIGHT"].flatMap { Int($0) } ?? 1)
    let bulk = try time {
        // A thread per batch in flight, each storing every `lanes`-th batch in turn.
        let failure = Mutex<(any Error)?>(nil)
        let done = DispatchGroup()
        for lane in 0..<lanes {
            done.enter()
            Thread {
                defer { done.leave() }
                for start in stride(from: lane * 1000, to: corpus.count, by: lanes * 1000) {
                    let items = corpus[start..<min(start + 1000, corpus.count)].map {
                        #"{"content":"\#($0)","layer":"long_term"}"#
                    }
                    do { _ = try request("memory.items.store", #"{"items":[\#(items.joined(separator: ","))]}"#) } catch {
                        failure.withLock { $0 = error }
                        return
                    }
                }
            }.start()
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
    result["bulk"] = Double(corpus.count) / (bulk / 1000)
    // The plugin acknowledges a store once the item and its pending-log row are committed; the
    // merge into FTS5 and the postings follows in the background. Until the log is empty.
    var readOnly = Configuration()
    readOnly.readonly = true
    let file = try DatabaseQueue(path: dir + "/data/memory/memory.sqlite", configuration: readOnly)
    func drain() throws {
        while try file.read({ try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM items_pending") ?? 0 }) > 0 {
            usleep(10_000)
        }
    }
    let drained = try time { try drain() }
    result["bulk indexed"] = Double(corpus.count) / ((bulk + drained) / 1000)
    let single = try singles.map { text in
        try time { _ = try request("memory.items.store", #"{"content":"\#(text)","layer":"long_term"}"#) }
    }
    result["single p50"] = percentile(single, 0.5)
    result["single p99"] = percentile(single, 0.99)
    reportSlowest("single stores, duplicates: allow,", single)
    // Searches run on the merged index (pending items would carry approximate bm25 values).
    try drain()
    usleep(UInt32(2_100_000))
    // SEARCH_DELAY=S waits S seconds more: the merger's catch-up folds FTS5's segments while
    // nothing is stored, so the searches can be timed with it at work (0) or done.
    if let delay = ProcessInfo.processInfo.environment["SEARCH_DELAY"].flatMap(Double.init), delay > 0 {
        usleep(UInt32(delay * 1_000_000))
    }
    for (name, queries) in classes {
        var agree = 0
        let latencies = try queries.enumerated().map { index, q in
            var reply: BusMessage?
            let elapsed = try time {
                reply = try request("memory.items.search", #"{"query":"\#(q)","limit":10,"reinforce":false}"#)
            }
            let body = reply.flatMap { try? JSONSerialization.jsonObject(with: Data($0.payload)) as? [String: Any] }
            let hits = (body?["hits"] as? [[String: Any]] ?? []).compactMap { $0["bm25"] as? Double }
            if same(hits, rawTops[name]?[index] ?? []) { agree += 1 }
            return elapsed
        }
        result["\(name) p50"] = percentile(latencies, 0.5)
        result["\(name) p99"] = percentile(latencies, 0.99)
        reportSlowest("searches, \(name),", latencies)
        agreeing[name] = agree
    }
    if ProcessInfo.processInfo.environment["CONSOLIDATE"] == "1" { try timeConsolidation(request) }
    return result
}

/// One consolidation, timed, with a store every millisecond beside it (`CONSOLIDATE=1`).
func timeConsolidation(_ request: @escaping @Sendable (String, String) throws -> BusMessage) throws {
    if let expired = ProcessInfo.processInfo.environment["EXPIRED"].flatMap(Int.init), expired > 0 {
        for start in stride(from: 0, to: expired, by: 1000) {
            let items = (start..<min(start + 1000, expired)).map {
                #"{"content":"expiring \#($0) \#(corpus[$0 % corpus.count])","layer":"episodic"}"#
            }
            _ = try request("memory.items.store", #"{"items":[\#(items.joined(separator: ","))]}"#)
        }
        usleep(3_000_000)
    }
    let running = Atomic<Bool>(true)
    let waits = Mutex<[Double]>([])
    let done = DispatchSemaphore(value: 0)
    Thread {
        var n = 0
        while running.load(ordering: .relaxed) {
            let text = singles[n % singles.count]
            n += 1
            if let elapsed = try? time({ _ = try request("memory.items.store", #"{"content":"c\#(n) \#(text)"}"#) }) {
                waits.withLock { $0.append(elapsed) }
            }
            usleep(1000)
        }
        done.signal()
    }.start()
    usleep(200_000)
    var report = ""
    let took = try time {
        report = String(decoding: try request("memory.consolidate", "{}").payload, as: UTF8.self)
    }
    running.store(false, ordering: .relaxed)
    done.wait()
    let stores = waits.withLock { $0 }
    let line = String(
        format: "consolidation of %d items: %.0f ms; %d stores beside it: p50 %.2f ms, p99 %.2f ms, max %.1f ms",
        corpus.count + singles.count, took, stores.count, percentile(stores, 0.5), percentile(stores, 0.99),
        stores.max() ?? 0)
    FileHandle.standardError.write(Data((line + "\n" + report.prefix(400) + "\n").utf8))
}

do {
    let dir = try TemporaryDirectory.make(prefix: "jamey-memory-bench")
    let raw = try rawRun(dir)
    let ours = try pluginRun(dir)
    print(
        "| measure (\(itemCount) items, \(queryCount) queries per class) | memory plugin | raw FTS5 | plugin / raw | goal |")
    print("|---|---|---|---|---|")
    let rows =
        ["bulk", "bulk indexed", "single p50", "single p99", "merge single p50", "merge single p99"]
        + classes.flatMap { ["\($0.0) p50", "\($0.0) p99"] }
    for row in rows {
        let a = ours[row] ?? 0
        // Raw FTS5 indexes inside its commits: acknowledged is indexed there.
        // Raw FTS5 checks no near-duplicates: its single store is the reference for both policies.
        let b = raw[row == "bulk indexed" ? "bulk" : row.hasPrefix("merge ") ? String(row.dropFirst(6)) : row] ?? 0
        let unit = row.hasPrefix("bulk") ? "items/s" : "ms"
        let format = row.hasPrefix("bulk") ? "%.0f" : "%.3f"
        let label =
            row == "bulk"
            ? "bulk store rate (acknowledged)"
            : row == "bulk indexed"
                ? "bulk store rate (until merged into FTS5)"
                : row.hasPrefix("single")
                    ? "durable single store \(row.dropFirst(7))"
                    : row.hasPrefix("merge single")
                        ? "durable single store \(row.dropFirst(13)), duplicates: merge" : "top-10 search, \(row)"
        let goal =
            row == "bulk"
            ? "≥ 100000 items/s"
            : row.hasSuffix("single p99") ? "≤ 2 ms" : row.hasSuffix("p99") && !row.contains("single") ? "≤ 5 ms" : ""
        print(
            "| \(label) | \(String(format: format, a)) \(unit) | \(String(format: format, b)) \(unit) | \(String(format: "%.2f", b == 0 ? 0 : a / b)) | \(goal) |"
        )
    }
    print("")
    print("| term class | queries whose plugin top 10 has FTS5's bm25 values in FTS5's order |")
    print("|---|---|")
    for (name, _) in classes { print("| \(name) | \(agreeing[name] ?? 0) / \(queryCount) |") }
} catch {
    fail("memory-bench: \(error)")
}
