// jamey-snapshot-stall: how long a plugin's writes stall while the kit's online snapshot
// (JameyGRDB `writeSnapshot`) copies its database (scripts/bench-snapshot-stall.sh).
//
// A DatabasePool in WAL mode (as the plugins open theirs) is filled to SIZE_MB, then one thread
// commits small transactions back to back while the main thread takes snapshots. Reported: the
// gaps between consecutive commits without a snapshot running (the baseline, same run) and while
// snapshots run, at p50/p99/max, and the snapshot rate in MB/s.
//
//   jamey-snapshot-stall DIR SIZE_MB SNAPSHOTS
import Foundation
import GRDB
import JameyGRDB
import Synchronization

let arguments = CommandLine.arguments
guard arguments.count == 4, let sizeMB = Int(arguments[2]), let snapshots = Int(arguments[3]) else {
    FileHandle.standardError.write(Data("usage: jamey-snapshot-stall DIR SIZE_MB SNAPSHOTS\n".utf8))
    exit(2)
}
let dir = arguments[1]
var configuration = Configuration()
configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
let pool = try DatabasePool(path: dir + "/live.sqlite", configuration: configuration)
try pool.write { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)") }
let row = [UInt8](repeating: 0x5A, count: 1000)
let rowsPerBatch = 1000
var written = 0
while written < sizeMB * 1000 {
    try pool.write { db in
        for _ in 0..<rowsPerBatch { try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [Data(row)]) }
    }
    written += rowsPerBatch
}
FileHandle.standardError.write(Data("filled \(written) rows (~\(sizeMB) MB)\n".utf8))

/// Gaps between consecutive commits, in microseconds, while `phase` is set.
let gaps = Mutex<[Int: [Double]]>([0: [], 1: []])
let phase = Atomic<Int>(0)
let stop = Atomic<Bool>(false)
let writer = Thread {
    var last = DispatchTime.now().uptimeNanoseconds
    while !stop.load(ordering: .acquiring) {
        try? pool.write { db in try db.execute(sql: "INSERT INTO t (body) VALUES (?)", arguments: [Data(row.prefix(100))]) }
        let now = DispatchTime.now().uptimeNanoseconds
        let p = phase.load(ordering: .acquiring)
        gaps.withLock { $0[p, default: []].append(Double(now - last) / 1000) }
        last = now
    }
}
writer.start()
Thread.sleep(forTimeInterval: 2)  // baseline: commits with no snapshot running
phase.store(1, ordering: .releasing)
let began = Date()
for i in 0..<snapshots {
    let target = dir + "/snap-\(i)"
    try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
    try pool.writeSnapshot(into: target, fileName: "live.sqlite")
    try FileManager.default.removeItem(atPath: target)
}
let seconds = Date().timeIntervalSince(began)
phase.store(2, ordering: .releasing)
stop.store(true, ordering: .releasing)
Thread.sleep(forTimeInterval: 0.2)

func percentile(_ values: [Double], _ p: Double) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}
let size = (try FileManager.default.attributesOfItem(atPath: dir + "/live.sqlite")[.size] as? Int) ?? 0
let result = gaps.withLock { $0 }
print("| phase | commits | p50 gap | p99 gap | max gap |")
print("|---|---|---|---|---|")
for (name, key) in [("no snapshot (baseline)", 0), ("\(snapshots) snapshots running", 1)] {
    let g = result[key] ?? []
    print(
        String(
            format: "| %@ | %d | %.0f µs | %.0f µs | %.1f ms |", name, g.count, percentile(g, 0.5), percentile(g, 0.99),
            (g.max() ?? 0) / 1000))
}
print(
    String(
        format: "snapshot: %.1f MB in %.2f s each, %.0f MB/s", Double(size) / 1e6, seconds / Double(snapshots),
        Double(size) / 1e6 * Double(snapshots) / seconds))
