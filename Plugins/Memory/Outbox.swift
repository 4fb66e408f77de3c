import Foundation
import GRDB
import Synchronization

/// The transactional outbox (migration `v5 outbox`): the item events of a write transaction are
/// rows of the `outbox` table, written in that transaction, so a change and its events commit
/// together. After the commit the plugin publishes them (``drain(read:publish:)``); a later
/// write deletes published rows ``deleteBatch`` at a time in one statement (the maintenance
/// task's write without events deletes what is left). What a crash or a failed publish leaves in
/// the table is published at the next start (or the next maintenance tick), oldest first and
/// before anything newer: delivery is at least once, in commit order, and each event carries its
/// row's sequence as `event_id` (README "Memory", "Events").
///
/// Committed entries are handed over under the writer's lock, in commit order, to an in-memory
/// queue (at most ``memoryBound``), so the hot path reads nothing back. Entries that do not fit
/// stay only in the table and are read from it.
final class Outbox: Sendable {
    /// One event with its sequence.
    struct Entry: Sendable, Equatable {
        var seq: Int64
        var topic: String
        /// The JSON payload without `event_id`.
        var payload: String

        /// The payload as published: `event_id` first, then the event's own fields.
        var published: [UInt8] {
            var bytes = Array("{\"event_id\":\(seq)".utf8)
            let body = payload.utf8.dropFirst()
            if body.first != UInt8(ascii: "}") { bytes.append(UInt8(ascii: ",")) }
            bytes += body
            return bytes
        }
    }

    private struct State {
        /// Committed, unpublished entries: consecutive commits, the newest last.
        var queue: [Entry] = []
        /// Unpublished rows lie in the table before `queue` (after opening, or after the queue
        /// overflowed).
        var backlog = false
        /// Bumped whenever the queue is dropped (overflow, restore).
        var epoch = 0
        /// The highest sequence published (or dropped).
        var published: Int64 = 0
        /// The highest sequence deleted from the table.
        var deleted: Int64 = 0
        /// The highest sequence committed.
        var committed: Int64 = 0
        /// Rows in the table.
        var rows = 0
        /// Rows not yet published.
        var unpublished = 0
        /// Rows dropped because the table was full.
        var dropped = 0
    }

    private let state = Mutex(State())
    /// Held while publishing: one publisher at a time keeps the order.
    private let publishing = Mutex(())
    /// Drains asked for: a caller that finds ``publishing`` held leaves its entries to the
    /// holder, which drains again when this moved during its pass.
    private let requests = Atomic<Int>(0)
    /// The most entries kept in memory; more are read back from the table.
    static let memoryBound = 10_000
    /// Published rows a write deletes at once (a write without events deletes any; the
    /// maintenance task deletes what is left once a second).
    static let deleteBatch: Int64 = 128
    /// Rows read from the table per step of a drain.
    static let readBatch = 1000
    /// The most rows the table holds: past it the oldest are dropped (counted), so a bus that
    /// refuses for long does not grow the database without bound.
    let maxRows: Int

    init(maxRows: Int) { self.maxRows = maxRows }

    /// The outbox table, and `outbox_high`: the highest sequence deleted, so numbering goes on
    /// past it when the table is empty. Sequences are given out by the writer (under its lock),
    /// not by AUTOINCREMENT, whose `sqlite_sequence` update would add a page to every commit;
    /// `outbox_high` is written only with a deletion.
    static func createTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE outbox (
                    seq INTEGER PRIMARY KEY,
                    topic TEXT NOT NULL,
                    payload TEXT NOT NULL
                );
                CREATE TABLE outbox_high (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL);
                """)
    }

    /// Takes the state of a database just opened: every row left is unpublished (a crash or a
    /// failed publish left it), to be published before anything newer.
    func load(_ db: Database) throws {
        let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM outbox") ?? 0
        let first = try Int64.fetchOne(db, sql: "SELECT MIN(seq) FROM outbox") ?? 0
        let last = try Self.highWater(db)
        state.withLock { s in
            s.queue = []
            s.epoch += 1
            s.backlog = rows > 0
            s.published = max(first - 1, 0)
            s.deleted = s.published
            s.committed = last
            s.rows = rows
            s.unpublished = rows
        }
    }

    /// The highest sequence ever given out: the newest row's, or the highest deleted.
    static func highWater(_ db: Database) throws -> Int64 {
        max(
            try Int64.fetchOne(db, sql: "SELECT MAX(seq) FROM outbox") ?? 0,
            try Int64.fetchOne(db, sql: "SELECT seq FROM outbox_high WHERE id = 1") ?? 0)
    }

    /// Records that sequences up to `seq` were given out (with a deletion).
    private static func raiseHighWater(_ db: Database, to seq: Int64) throws {
        try db.cachedStatement(
            sql: "INSERT INTO outbox_high(id, seq) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET seq = MAX(seq, excluded.seq)"
        ).execute(arguments: [seq])
    }

    /// For a restore, on the prepared copy of the snapshot (`snapshot`), under the live
    /// database's writer (`current`): the snapshot's rows are discarded (they describe changes
    /// the node that took it had published, or the state the restore replaces) and its sequence
    /// is set past everything handed out before, so `event_id`s stay unique and growing. It is
    /// written into the copy, so it arrives with the swap in one step: a crash right after the
    /// swap can neither publish the snapshot's rows again nor hand out `event_id`s twice.
    /// - Returns: the sequence to hand to ``restored(next:)`` once the swap is done.
    func prepareRestore(_ snapshot: Database, current: Database) throws -> Int64 {
        let next = max(
            try Self.highWater(snapshot), try Self.highWater(current), state.withLock { $0.committed })
        try snapshot.execute(sql: "DELETE FROM outbox")
        try Self.raiseHighWater(snapshot, to: next)
        return next
    }

    /// After a restore swapped in a copy ``prepareRestore(_:current:)`` prepared: the queue of
    /// the replaced state is dropped and numbering goes on from `next`.
    func restored(next: Int64) {
        state.withLock { s in
            s = State(epoch: s.epoch + 1, published: next, deleted: next, committed: next)
        }
    }

    /// The events from which ``record(_:_:)`` writes through a statement of its own.
    static let rawRows = 32

    /// Inside a write transaction: deletes the rows published so far, drops the oldest rows
    /// past ``maxRows``, and writes `events`.
    /// - Returns: what to hand to ``committed(_:)`` once the transaction committed.
    func record(_ db: Database, _ events: [ItemEvent]) throws -> Commit {
        var commit = Commit()
        let (published, deleted, rows, last) = state.withLock { ($0.published, $0.deleted, $0.rows, $0.committed) }
        if published - deleted >= Self.deleteBatch || (published > deleted && events.isEmpty) {
            try db.cachedStatement(sql: "DELETE FROM outbox WHERE seq <= ?").execute(arguments: [published])
            commit.deletedUpTo = published
            commit.deletedRows = db.changesCount
            try Self.raiseHighWater(db, to: published)
        }
        let excess = rows - commit.deletedRows + events.count - maxRows
        if excess > 0 {
            let gone = try Int64.fetchAll(
                db, sql: "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox ORDER BY seq LIMIT ?) RETURNING seq",
                arguments: [excess])
            commit.dropped = gone
            if let highest = gone.max() { try Self.raiseHighWater(db, to: highest) }
        }
        guard !events.isEmpty else { return commit }
        // Under the writer's lock: `last` is the previous commit's newest sequence.
        // One row per item: a batch's through SQLite's C API (``RawStatement``, prepared for it),
        // not GRDB's arguments; a few through GRDB's cached statement.
        let sql = "INSERT INTO outbox(seq, topic, payload) VALUES (?, ?, ?)"
        let raw = events.count >= Self.rawRows ? try RawStatement(db, sql: sql) : nil
        let cached = raw == nil ? try db.cachedStatement(sql: sql) : nil
        for (index, event) in events.enumerated() {
            let seq = last + 1 + Int64(index)
            let payload = String(decoding: event.payload, as: UTF8.self)
            if let raw {
                raw.bind(1, seq)
                raw.bind(2, event.topic)
                raw.bind(3, payload)
                _ = try raw.step()
            } else {
                try cached?.execute(arguments: [seq, event.topic, payload])
            }
            commit.entries.append(Entry(seq: seq, topic: event.topic, payload: payload))
        }
        return commit
    }

    /// What a transaction did to the outbox.
    struct Commit: Sendable {
        var entries: [Entry] = []
        var deletedUpTo: Int64 = 0
        var deletedRows = 0
        var dropped: [Int64] = []
    }

    /// After the commit, under the writer's lock (so entries arrive in commit order): queues the
    /// new entries and accounts for the deleted and dropped rows.
    func committed(_ commit: Commit) {
        state.withLock { s in
            if commit.deletedUpTo > 0 {
                s.deleted = max(s.deleted, commit.deletedUpTo)
                s.rows -= commit.deletedRows
            }
            if let last = commit.dropped.max() {
                // Dropped rows count as published: the table no longer has them.
                let unpublished = commit.dropped.filter { $0 > s.published }.count
                s.unpublished -= unpublished
                s.dropped += unpublished
                s.rows -= commit.dropped.count
                s.published = max(s.published, last)
                s.deleted = max(s.deleted, last)
                s.queue.removeAll { $0.seq <= last }
            }
            guard let last = commit.entries.last else { return }
            s.committed = last.seq
            s.rows += commit.entries.count
            s.unpublished += commit.entries.count
            if s.queue.count + commit.entries.count > Self.memoryBound {
                // The table has them all: read them back, oldest first.
                s.queue = []
                s.backlog = true
                s.epoch += 1
            } else {
                s.queue += commit.entries
            }
        }
    }

    /// Rows not yet published.
    var depth: Int { state.withLock { $0.unpublished } }

    /// Rows dropped since the store opened because the table was full.
    var dropped: Int { state.withLock { $0.dropped } }

    /// True when published rows wait to be deleted.
    var hasPublishedRows: Bool { state.withLock { $0.published > $0.deleted && $0.rows > 0 } }

    /// Publishes every unpublished entry, oldest first: the table's backlog, then the queue.
    /// Stops at the first failed publish (the rest stays, for the next drain).
    ///
    /// Never waits for another drain: when one is running (on another thread, or further up
    /// this thread's stack — a direct subscriber that stores from its event handler), it
    /// publishes this caller's entries too, because it drains again whenever a request came in
    /// during its pass.
    /// - Parameters:
    ///   - read: up to `limit` rows with a sequence above `after` and below `before` (nil: no
    ///     bound), oldest first, from the table.
    ///   - publish: publishes one entry.
    /// - Returns: false when a publish or a read failed (true when another drain took over).
    @discardableResult
    func drain(
        read: (_ after: Int64, _ before: Int64?, _ limit: Int) throws -> [Entry], publish: (Entry) throws -> Void
    ) -> Bool {
        requests.add(1, ordering: .sequentiallyConsistent)
        while true {
            let seen = requests.load(ordering: .sequentiallyConsistent)
            guard let ok = publishing.withLockIfAvailable({ _ in drainPass(read: read, publish: publish) }) else {
                return true
            }
            // A request that found the lock held before it was released is seen here.
            if !ok || requests.load(ordering: .sequentiallyConsistent) == seen { return ok }
        }
    }

    /// One pass of ``drain(read:publish:)``, under ``publishing``.
    private func drainPass(
        read: (_ after: Int64, _ before: Int64?, _ limit: Int) throws -> [Entry], publish: (Entry) throws -> Void
    ) -> Bool {
        while true {
            let (backlog, epoch, published, bound) = state.withLock {
                ($0.backlog, $0.epoch, $0.published, $0.queue.first?.seq)
            }
            var batch: [Entry]
            if backlog {
                do {
                    batch = try read(published, bound, Self.readBatch)
                } catch {
                    return false
                }
                if batch.count < Self.readBatch {
                    state.withLock { if $0.epoch == epoch { $0.backlog = false } }
                }
                if batch.isEmpty { continue }
            } else {
                batch = state.withLock { s in
                    defer { s.queue = [] }
                    return s.queue.filter { $0.seq > s.published }
                }
                if batch.isEmpty { return true }
            }
            for (index, entry) in batch.enumerated() {
                do {
                    try publish(entry)
                } catch {
                    state.withLock { s in
                        s.published = max(s.published, index > 0 ? batch[index - 1].seq : s.published)
                        s.unpublished -= index
                        // Back to the front of the queue, unless it was dropped meanwhile
                        // (then the table has them, as a backlog).
                        if !backlog && s.epoch == epoch { s.queue.insert(contentsOf: batch[index...], at: 0) }
                    }
                    return false
                }
            }
            state.withLock { s in
                if let last = batch.last, last.seq > s.published {
                    s.unpublished -= batch.filter { $0.seq > s.published }.count
                    s.published = last.seq
                }
            }
        }
    }
}

extension MemoryStore {
    /// Up to `limit` outbox rows with a sequence above `after` and below `before`, oldest first.
    func outboxRows(after: Int64, before: Int64?, limit: Int) throws -> [Outbox.Entry] {
        try pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT seq, topic, payload FROM outbox WHERE seq > ? AND seq < ? ORDER BY seq LIMIT ?",
                arguments: [after, before ?? Int64.max, limit]
            ).map { Outbox.Entry(seq: $0[0], topic: $0[1], payload: $0[2]) }
        }
    }

    /// Deletes the published rows now (the maintenance task's, when no write did it).
    func deletePublishedEvents() async throws {
        try await eventWrite(events: nil) { _ in () }
    }
}
