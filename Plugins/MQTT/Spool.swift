import Foundation
import GRDB
import JameyGRDB
import MQTTCore
import Synchronization

/// The bounded, persistent queue of QoS 1/2 messages waiting for the broker: a SQLite database
/// (`spool.sqlite`, WAL) in the plugin's data directory, read back in order.
///
/// Rows are ordered by `id`. New messages get the next id from a counter that only grows (never
/// SQLite's "largest id + 1", which hands out a smaller id again once the newest rows are deleted,
/// so a message spooled while acknowledged ones are being deleted could land behind the drain's
/// read position and wait there, overtaken by newer ones, until the next reconnection). Messages
/// that were in flight when a connection dropped are put back in front (smaller ids), since they
/// are older than anything spooled after them. A row is deleted only once the broker acknowledged it, so a Jamey restart
/// or a second drop re-sends rather than loses it (QoS 1 is at least once).
///
/// Thread-safe: every method may be called from any thread.
final class Spool: Sendable {
    /// Bound on the number of rows; 0 disables spooling.
    let maxMessages: Int
    /// Bound on the total payload bytes.
    let maxBytes: Int
    /// The database file.
    let path: String

    private let database: DatabaseQueue
    private let totals: Mutex<(count: Int, bytes: Int, nextID: Int64)>

    /// A spooled message and its row id.
    struct Entry: Sendable {
        /// Row id (the order).
        var id: Int64
        /// The message.
        var message: OutboundMessage
        /// When it was spooled (seconds since 1970).
        var spooledAt: Double
    }

    /// Opens (or creates) the spool.
    /// - Parameters:
    ///   - directory: the plugin's data directory.
    ///   - maxMessages: bound on rows.
    ///   - maxBytes: bound on payload bytes.
    /// - Throws: ``MQTTError`` when the database cannot be opened or migrated.
    init(directory: String, maxMessages: Int, maxBytes: Int) throws(MQTTError) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.path = (directory as NSString).appendingPathComponent(Self.fileName)
        do {
            var configuration = Configuration()
            configuration.journalMode = .wal
            // A restart (reload, restore, deploy) opens the spool while the instance before may
            // still be closing it: the last connection of a WAL database checkpoints and removes
            // the WAL under an exclusive lock, and without a wait the new init failed at once
            // with "database is locked".
            configuration.busyMode = .timeout(DatabaseFailure.busyTimeout)
            configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
            database = try DatabaseQueue(path: path, configuration: configuration)
            try Self.migrator.migrate(database)
            let (count, bytes, last) = try Self.totals(database)
            totals = Mutex((count, bytes, last + 1))
        } catch {
            throw MQTTError.spool("cannot open the spool \(path): \(error)")
        }
    }

    /// Writes a consistent copy of the spool into `directory` (the kit's online backup). The kit
    /// reads a WAL `DatabaseQueue` through a connection of its own, so sends go on spooling while
    /// a large spool is copied.
    func snapshot(into directory: String) throws {
        try database.writeSnapshot(into: directory, fileName: Self.fileName)
    }

    /// Replaces the spool with the snapshot in `directory` (before the bridge starts), so the
    /// messages it held are sent again, in order.
    /// - Throws: when the snapshot is missing, damaged or not a spool.
    func restore(from directory: String) throws {
        try database.restoreSnapshot(from: directory, fileName: Self.fileName, requiringTable: "spool", migrator: Self.migrator) {
            db in
            // Ids count on from either end (``prepend(_:)`` puts messages in flight at a drop
            // below the smallest, down from 0 when the spool was empty); a QoS goes to
            // libmosquitto as a 32-bit integer.
            let bad = try Int.fetchOne(
                db,
                sql: "SELECT count(*) FROM (SELECT 1 FROM spool WHERE id < ? OR id > ? OR qos NOT BETWEEN 0 AND 2 LIMIT 1)",
                arguments: [-(Int64(1) << 62), Int64(1) << 62])
            guard bad == 0 else { throw MQTTError.spool("the snapshot holds ids or QoS values out of range: refused") }
        }
        try Self.migrator.migrate(database)
        let (count, bytes, last) = try Self.totals(database)
        totals.withLock { $0 = (count, bytes, max($0.nextID, last + 1)) }
    }

    /// The spool's file name in the plugin's data directory and in a snapshot.
    static let fileName = "spool.sqlite"

    /// Rows, payload bytes and the last row id.
    private static func totals(_ database: DatabaseQueue) throws -> (Int, Int, Int64) {
        try database.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0), COALESCE(MAX(id), 0) FROM spool")
            return (row?[0] as Int? ?? 0, row?[1] as Int? ?? 0, row?[2] as Int64? ?? 0)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "spool") { t in
                t.primaryKey("id", .integer)
                t.column("topic", .text).notNull()
                t.column("payload", .blob).notNull()
                t.column("qos", .integer).notNull()
                t.column("retain", .boolean).notNull()
                t.column("content_type", .text)
                t.column("user_properties", .text)
                t.column("spooled_at", .double).notNull()
            }
        }
        migrator.registerMigration("v2") { db in
            // The outbound rule that exported the message (its bus pattern), for per-rule counts.
            try db.alter(table: "spool") { t in t.add(column: "rule", .text) }
        }
        return migrator
    }

    /// Messages waiting.
    var count: Int { totals.withLock { $0.count } }
    /// Payload bytes waiting.
    var bytes: Int { totals.withLock { $0.bytes } }

    /// Appends a message after every other one.
    /// - Returns: false when the spool is full (or disabled): the caller counts and logs the drop.
    /// - Throws: ``MQTTError`` when SQLite fails.
    func append(_ message: OutboundMessage) throws(MQTTError) -> Bool {
        let id = totals.withLock { t -> Int64? in
            guard t.count < maxMessages && t.bytes + message.payload.count <= maxBytes else { return nil }
            t.count += 1
            t.bytes += message.payload.count
            t.nextID += 1
            return t.nextID - 1
        }
        guard let id else { return false }
        do {
            try write { db in try Self.insert(message, id: id, db) }
        } catch {
            totals.withLock { t in
                t.count -= 1
                t.bytes -= message.payload.count
            }
            throw error
        }
        return true
    }

    /// Puts messages back in front of every other one, keeping their order. The bound does not
    /// apply: these were accepted before and were in flight.
    func prepend(_ messages: [OutboundMessage]) throws(MQTTError) {
        guard !messages.isEmpty else { return }
        let next = totals.withLock { $0.nextID }
        try write { db in
            let first = try Int64.fetchOne(db, sql: "SELECT MIN(id) FROM spool") ?? next
            var id = first - Int64(messages.count)
            for message in messages {
                try Self.insert(message, id: id, db)
                id += 1
            }
        }
        let added = messages.reduce(0) { $0 + $1.payload.count }
        totals.withLock { t in
            t.count += messages.count
            t.bytes += added
        }
    }

    /// Up to `limit` messages with ids above `id`, oldest first.
    func read(after id: Int64, limit: Int) throws(MQTTError) -> [Entry] {
        do {
            return try database.read { db in
                try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT id, topic, payload, qos, retain, content_type, user_properties, rule, spooled_at
                            FROM spool WHERE id > ? ORDER BY id LIMIT ?
                            """), arguments: [id, limit]
                ).map(Self.entry)
            }
        } catch {
            throw MQTTError.spool("cannot read the spool \(path): \(error)")
        }
    }

    /// Deletes acknowledged messages.
    func delete(_ ids: [Int64]) throws(MQTTError) {
        guard !ids.isEmpty else { return }
        var removed = (count: 0, bytes: 0)
        try write { db in
            for id in ids {
                if let length = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT LENGTH(payload) FROM spool WHERE id = ?"), arguments: [id])
                {
                    try db.cachedStatement(sql: "DELETE FROM spool WHERE id = ?").execute(arguments: [id])
                    removed.count += 1
                    removed.bytes += length
                }
            }
        }
        totals.withLock { t in
            t.count -= removed.count
            t.bytes -= removed.bytes
        }
    }

    private func write(_ body: (Database) throws -> Void) throws(MQTTError) {
        do {
            try database.write(body)
        } catch {
            throw MQTTError.spool("cannot write the spool \(path): \(error)")
        }
    }

    private static func insert(_ message: OutboundMessage, id: Int64, _ db: Database) throws {
        let properties: String? =
            message.userProperties.isEmpty
            ? nil : String(decoding: try JSONEncoder().encode(message.userProperties), as: UTF8.self)
        // A cached statement: prepared once per connection, not once per message.
        try db.cachedStatement(
            sql: """
                INSERT INTO spool (id, topic, payload, qos, retain, content_type, user_properties, rule, spooled_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                id, message.topic, Data(message.payload), Int(message.qos), message.retain, message.contentType, properties,
                message.rule, Date().timeIntervalSince1970,
            ])
    }

    private static func entry(_ row: Row) throws -> Entry {
        let properties: [OutboundMessage.UserProperty]
        if let text: String = row["user_properties"] {
            properties = try JSONDecoder().decode([OutboundMessage.UserProperty].self, from: Data(text.utf8))
        } else {
            properties = []
        }
        let payload: Data = row["payload"] ?? Data()
        let qos: Int = row["qos"]
        return Entry(
            id: row["id"],
            message: OutboundMessage(
                topic: row["topic"], payload: [UInt8](payload), qos: Int32(qos), retain: row["retain"],
                contentType: row["content_type"], userProperties: properties, rule: row["rule"]),
            spooledAt: row["spooled_at"])
    }
}
