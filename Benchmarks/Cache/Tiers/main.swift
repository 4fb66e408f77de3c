// cache-tiers-bench: the "through the tiers" part of scripts/bench-cache.sh.
//
//   CacheTiersBench PLUGIN REDIS_PORT [GETS]
//
// Boots a kernel with the cache plugin (loaded from PLUGIN) and times `cache.get` bus requests
// answered by each tier: L1 (a key read again), L2 (a 4 KiB L1 over 10 000 keys in Redis, no L3),
// L3 (a 4 KiB L1 over 10 000 keys in SQLite, no L2). Beside them, in the same process: a raw
// SQLite point select through GRDB on a table of the same shape, and a bus round trip to a
// responder that answers at once (the floor of any bus request). redis-benchmark's GET latency is
// measured by the script. Prints Markdown rows: p50 and p99 in microseconds.

import Foundation
import GRDB
import JameyKernel
import JameyTestKit

let arguments = CommandLine.arguments
guard arguments.count >= 3, let redisPort = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: CacheTiersBench PLUGIN REDIS_PORT [GETS]\n".utf8))
    exit(2)
}
let plugin = arguments[1]
let gets = arguments.count > 3 ? Int(arguments[3]) ?? 20000 : 20000
let keys = 10_000

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p))]
}

func micros(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }

/// Times `body` `count` times; returns (p50, p99) in microseconds.
func measure(_ count: Int, _ body: (Int) throws -> Void) rethrows -> (Double, Double) {
    var samples: [Double] = []
    samples.reserveCapacity(count)
    let clock = ContinuousClock()
    for i in 0..<count {
        let start = clock.now
        try body(i)
        samples.append(micros(clock.now - start))
    }
    return (percentile(samples, 0.5), percentile(samples, 0.99))
}

func row(_ name: String, _ f: (Double, Double)) {
    print("| \(name) | \(String(format: "%.1f", f.0)) | \(String(format: "%.1f", f.1)) |")
}

let config = """
    namespaces:
      - {name: hot, max_bytes: 1048576, l3_max_bytes: 0, max_value_bytes: 1024}
      - {name: l2only, max_bytes: 4096, l3_max_bytes: 0, max_value_bytes: 1024}
      - {name: l3only, max_bytes: 4096, l3_max_bytes: 67108864, max_value_bytes: 1024, l2: false}
    l2: {enabled: true, port: \(redisPort), key_prefix: "bench:"}
    """
let kernel = try TestKernel.boot(plugins: [.init("cache", path: plugin, required: true, config: config)])
defer { kernel.shutdown() }
let bus = kernel.bus
let value = String(repeating: "v", count: 100)

func request(_ topic: String, _ json: String) throws -> Int {
    let reply = try bus.requestSync(
        BusMessage(topic: topic, payload: Array(json.utf8), contentType: "application/json"), timeout: .seconds(30))
    return reply.headers.first { $0.key == "status" }.flatMap { Int($0.value) } ?? 200
}

for ns in ["l2only", "l3only"] {
    for k in 0..<keys {
        _ = try request("cache.put", #"{"namespace":"\#(ns)","key":"k\#(k)","value":"\#(value)"}"#)
    }
}
_ = try request("cache.put", #"{"namespace":"hot","key":"k","value":"\#(value)"}"#)

// Responders that answer at once: on the caller's thread (direct), and from a bus worker's
// mailbox like the cache's handlers (the hand-off to another thread and back every request pays).
for (topic, direct) in [("bench.echo", true), ("bench.echo.mailbox", false)] {
    _ = try bus.subscribe(topic, responder: true, direct: direct) { message in
        if let replyTo = message.replyTo {
            try? bus.reply(
                to: replyTo, correlationID: message.correlationID, BusMessage(topic: replyTo, payload: message.payload))
        }
        return true
    }
}

// Raw SQLite: the same shape as L3's table, the same rows, a point select by primary key, its
// statement prepared once per connection (GRDB's statement cache), as L3's is.
let pointSelect = "SELECT value, expires_at FROM entries WHERE namespace = ? AND key = ?"
let directory = try TemporaryDirectory.make(prefix: "jamey-cache-tiers")
let pool = try DatabasePool(path: directory + "/raw.sqlite")
try pool.write { db in
    try db.execute(
        sql: """
            CREATE TABLE entries (namespace TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, expires_at INTEGER,
              hits INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL, updated_at INTEGER NOT NULL,
              PRIMARY KEY (namespace, key)) WITHOUT ROWID
            """)
    for k in 0..<keys {
        try db.execute(
            sql: "INSERT INTO entries VALUES ('l3only', ?, ?, NULL, 0, 100, 0)", arguments: ["k\(k)", Data(value.utf8)])
    }
}

// The raw select behind the bus: a responder on a bus worker that runs it for the key in the
// payload and replies with the value, as the cache's handler does for an L3 read.
_ = try bus.subscribe("bench.select.mailbox", responder: true, direct: false) { message in
    guard let replyTo = message.replyTo else { return true }
    let key = String(decoding: message.payload, as: UTF8.self)
    let row = try? pool.read { db in
        try Row.fetchOne(db.cachedStatement(sql: pointSelect), arguments: ["l3only", key])
    }
    let found: Data? = row?["value"]
    try? bus.reply(
        to: replyTo, correlationID: message.correlationID, BusMessage(topic: replyTo, payload: Array(found ?? Data())))
    return true
}

var rng = SystemRandomNumberGenerator()
let order = (0..<gets).map { _ in Int.random(in: 0..<keys, using: &rng) }
print("| path (\(gets) gets, 100-byte values, one caller) | p50 µs | p99 µs |")
print("|---|---|---|")
row("bus round trip to a direct echo responder", try measure(gets) { _ in _ = try request("bench.echo", "{}") })
row(
    "bus round trip to an echo responder on a bus worker (floor)",
    try measure(gets) { _ in _ = try request("bench.echo.mailbox", "{}") })
row("cache.get answered by L1", try measure(gets) { _ in _ = try request("cache.get", #"{"namespace":"hot","key":"k"}"#) })
row(
    "cache.get answered by L2 (Redis)",
    try measure(gets) { i in _ = try request("cache.get", #"{"namespace":"l2only","key":"k\#(order[i])"}"#) })
row(
    "cache.get answered by L3 (SQLite)",
    try measure(gets) { i in _ = try request("cache.get", #"{"namespace":"l3only","key":"k\#(order[i])"}"#) })
row(
    "raw SQLite point select (GRDB, same table shape)",
    try measure(gets) { i in
        _ = try pool.read { db in
            try Row.fetchOne(db.cachedStatement(sql: pointSelect), arguments: ["l3only", "k\(order[i])"])
        }
    })
row(
    "raw SQLite point select answered on a bus worker (the same read behind the bus)",
    try measure(gets) { i in
        let reply = try bus.requestSync(
            BusMessage(topic: "bench.select.mailbox", payload: Array("k\(order[i])".utf8)), timeout: .seconds(30))
        guard reply.payload.count == value.utf8.count else { fatalError("bench.select.mailbox: no value for k\(order[i])") }
    })
let stats = try bus.requestSync(
    BusMessage(topic: "cache.stats", payload: Array("{}".utf8), contentType: "application/json"), timeout: .seconds(30))
let text = String(decoding: stats.payload, as: UTF8.self)
FileHandle.standardError.write(Data(("cache.stats after the run: " + text + "\n").utf8))
// Each row must have been answered by the tier it names: the L3 row once measured L2, when the
// l3only namespace still kept its values in Redis too.
let namespaces =
    (try? JSONSerialization.jsonObject(with: Data(stats.payload)) as? [String: Any])?["namespaces"] as? [String: Any]
func hits(_ namespaces: [String: Any]?, _ namespace: String, _ tier: String) -> Int {
    ((namespaces?[namespace] as? [String: Any])?[tier] as? [String: Any])?["hits"] as? Int ?? 0
}
guard hits(namespaces, "l2only", "l2") > 0, hits(namespaces, "l3only", "l3") > 0, hits(namespaces, "l3only", "l2") == 0
else {
    FileHandle.standardError.write(Data("the L2 and L3 rows were not answered by L2 and L3 (see cache.stats above)\n".utf8))
    exit(1)
}
