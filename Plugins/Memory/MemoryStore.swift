import Foundation
import GRDB
import JameyGRDB
import MemoryCore
import Synchronization

/// The memory's storage: one SQLite database (WAL) with an FTS5 index over item contents.
///
/// Every read filters out expired items against the injected clock, swept or not; a sweep
/// deletes them through a partial index on `expires_at`, so it costs in proportion to what
/// expired. Writes are serialised by GRDB's pool; reads run concurrently. Every method may be
/// called from any thread; the async ones run their database work on GRDB's own queues.
final class MemoryStore: Sendable {
    let pool: DatabasePool
    let settings: MemorySettings
    let clock: @Sendable () -> Date
    /// The terms with impact-ordered postings (``HotTerms``).
    let hot = HotTerms()
    /// Checkpoints the WAL off the writer's commits.
    let checkpointer: WALCheckpointer
    /// The items committed but not yet merged into FTS5 and the postings (searchable here).
    let tail = PendingTail()
    /// How many merged items hold the terms near-duplicate checks looked up.
    let frequencies = TermFrequencies()
    /// The word signatures of `item_words`, in memory.
    let signatures = WordSignatureCache()
    /// Merges pending items in the background (nil when ``MemorySettings/backgroundMerge`` is off).
    let merger = Mutex<IndexMerger?>(nil)
    /// The item events committed and not yet published or deleted.
    let outbox: Outbox
    /// Retrievals noted and not yet written (``Reinforcements``).
    let reinforcements = Reinforcements()
    /// Told the contents of the items of each retrieval as it is noted, before its reply
    /// (``SearchCache`` moves the cached searches for their words).
    let retrievalNoted = Hook<[String]>()
    /// Tests: runs on the writer's thread right after a merge's transaction commits, before the
    /// store's in-memory bookkeeping of it (a search started here sees the merge in the file).
    let afterMergeCommit = Hook<Void>()
    /// Tests: runs on the writer's thread inside a merge's transaction, after its items left the
    /// tail and before the commit (a search started here lacks them in its snapshot's FTS5).
    let beforeMergeCommit = Hook<Void>()
    /// Tests: runs on the reader's thread inside a plain-word search's read transaction, after
    /// its snapshot's write epoch was read (a merge and a purge run here run while it reads).
    let duringSearch = Hook<Void>()
    /// Tests: runs right after a restore's copy replaced the file, before the store's in-memory
    /// state follows it (what the file holds here is what a crash here leaves).
    let restoreSwapped = Hook<Void>()
    /// Told where each committed merge's time went (the plugin's metrics).
    let mergeObserved = Hook<MergeTiming>()
    /// Told how long each committed fold of the postings delta took (the plugin's metrics).
    let foldObserved = Hook<Duration>()
    /// Told how many items each committed transaction evicted for capacity, by layer (the
    /// plugin's metrics).
    let evictionObserved = Hook<[MemoryLayer: Int]>()
    /// The items the writer's current transaction evicted for capacity, by layer
    /// (``enforceCapacity(_:layer:events:)``), told to ``evictionObserved`` once it commits.
    let evictions = Mutex<[MemoryLayer: Int]>([:])
    /// The postings in `term_postings_new`: counted once (nil until then, and after a restore),
    /// then kept up by the merges' commits and the fold's chunks, and counted again by the chunk
    /// that ends a fold's pass. Deletes from the table are not taken off, so it may overstate,
    /// which only brings a fold a little early. Counting the table after every merge scanned up
    /// to a million rows.
    let deltaPostings = Mutex<Int?>(nil)
    /// A fold of the postings delta under way (``foldPostingsIfDue(chunks:)``), nil when none is.
    let foldPass = Mutex<FoldPass?>(nil)
    /// Stores (and other requests' writes) waiting for the writer's lock: a fold gives it up
    /// after its current piece while one is (``MemorySettings/postingsFoldPiece``).
    let writersWaiting = Atomic<Int>(0)

    /// The WAL pages past which the writer checkpoints inside a commit after all (a bound on the
    /// WAL should ``WALCheckpointer`` fall behind): 256 MiB.
    static let walBoundPages = 65536

    /// Opens (creating and migrating when needed) the database at `path`.
    /// - Parameters:
    ///   - path: the database file (`<data_dir>/memory/memory.sqlite`).
    ///   - settings: what to enforce.
    ///   - clock: the current time (tests move it).
    /// - Throws: when the database cannot be opened or migrated.
    init(path: String, settings: MemorySettings = .init(), clock: @escaping @Sendable () -> Date = { Date() }) throws {
        // Before any text is counted (the tail loads below).
        FTS5Tokenizer.install()
        PreparedRestore.removeLeftovers(besides: path)
        var configuration = Configuration()
        configuration.label = "memory"
        // Longer than the other plugins' 2 s (DatabaseFailure.busyTimeout): a store may wait behind
        // the checkpointer's TRUNCATE of a large WAL; shorter than the bus's default request
        // timeout of 5 s, so a database held longer answers 503 storage-busy, not 504 with the
        // store's outcome unknown.
        configuration.busyMode = .timeout(4)
        // A 64 MiB page cache per connection keeps the B-trees a bulk store touches in memory.
        // Reads map the file (up to SQLite's limit of 2 GiB), so the pool's readers share the
        // system's page cache instead of each copying pages into its own (writes still go
        // through the WAL): at 1M items a search's p50 fell by a fifth to a quarter.
        // The writer leaves checkpoints to WALCheckpointer unless the WAL passes its bound (its
        // WAL hook replaces SQLite's automatic checkpoint). No `journal_size_limit`: with it the
        // commit that starts a large WAL over cuts the file back, 7-27 ms on this machine's
        // ext4 for a WAL past 64 MiB, held by that store and every one behind it (the first
        // single store after a bulk took 12-20 ms). WALCheckpointer cuts it back once the
        // store is idle instead.
        let checkpointer = WALCheckpointer(
            boundPages: Int32(Self.walBoundPages), keptBytes: settings.walKeptBytes, idle: settings.walIdle)
        configuration.prepareDatabase { db in
            try db.execute(
                sql: """
                    PRAGMA cache_size = -65536;
                    PRAGMA mmap_size = 2147418112
                    """)
            checkpointer.install(on: db)
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        // After the pool's own setup, which sets `NORMAL` on the writer once WAL is on.
        if settings.syncEveryCommit { try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") } }
        self.settings = settings
        self.clock = clock
        outbox = Outbox(maxRows: settings.maxOutbox)
        try Self.migrator.migrate(pool)
        try pool.read(outbox.load)
        hot.load(try pool.read(Self.hotTerms))
        self.checkpointer = checkpointer
        try checkpointer.start(path: path)
        tail.load(try pool.read(Self.pendingItems))
        try pool.read(frequencies.load)
        try loadSignatures()
        try pool.write { [self] db in try forgetUnindexed(db, promoted: []) }
        if settings.backgroundMerge {
            let merger = IndexMerger(store: self)
            self.merger.withLock { $0 = merger }
            if !tail.isEmpty { merger.wake() }
        }
    }

    deinit {
        checkpointer.stop()
        merger.withLock { $0 }?.stop()
    }

    /// The schema, in code: items, their links, the FTS5 index and its triggers.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE items (
                        seq INTEGER PRIMARY KEY,
                        id TEXT NOT NULL UNIQUE,
                        layer TEXT NOT NULL,
                        content TEXT NOT NULL,
                        tags TEXT NOT NULL DEFAULT '[]',
                        source TEXT NOT NULL DEFAULT '',
                        importance REAL NOT NULL DEFAULT 0.5,
                        created_at REAL NOT NULL,
                        last_accessed_at REAL NOT NULL,
                        access_count INTEGER NOT NULL DEFAULT 0,
                        expires_at REAL,
                        pinned INTEGER NOT NULL DEFAULT 0
                    );
                    CREATE INDEX items_by_layer_time ON items(layer, created_at);
                    CREATE INDEX items_by_time ON items(created_at);
                    CREATE INDEX items_eviction ON items(layer, pinned, created_at);
                    CREATE INDEX items_expiry ON items(expires_at) WHERE expires_at IS NOT NULL;
                    CREATE TABLE item_links (
                        item_seq INTEGER NOT NULL REFERENCES items(seq) ON DELETE CASCADE,
                        kind TEXT NOT NULL,
                        target TEXT NOT NULL,
                        relation TEXT NOT NULL DEFAULT '',
                        PRIMARY KEY (item_seq, kind, target)
                    ) WITHOUT ROWID;
                    CREATE INDEX item_links_by_target ON item_links(kind, target);
                    CREATE VIRTUAL TABLE items_fts USING fts5(
                        content, content='items', content_rowid='seq', tokenize='unicode61 remove_diacritics 2');
                    CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN
                        INSERT INTO items_fts(rowid, content) VALUES (new.seq, new.content);
                    END;
                    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
                        INSERT INTO items_fts(items_fts, rowid, content) VALUES ('delete', old.seq, old.content);
                    END;
                    CREATE TRIGGER items_fts_update AFTER UPDATE OF content ON items BEGIN
                        INSERT INTO items_fts(items_fts, rowid, content) VALUES ('delete', old.seq, old.content);
                        INSERT INTO items_fts(rowid, content) VALUES (new.seq, new.content);
                    END;
                    """)
        }
        // A view of the FTS5 index's terms with their document counts: near-duplicate checks
        // look for candidates through an item's rarest words only (short posting lists).
        migrator.registerMigration("v2 vocabulary") { db in
            try db.execute(sql: "CREATE VIRTUAL TABLE items_vocab USING fts5vocab(items_fts, 'row')")
        }
        // Impact-ordered postings of frequent terms, so a search for one costs in proportion to
        // the limit, not to the rows holding it (MemoryStore+Impact.swift).
        migrator.registerMigration("v3 impact postings", migrate: createImpactTables)
        // Stores commit items to a pending log; a background merge indexes them in batches
        // (MemoryStore+Pending.swift).
        migrator.registerMigration("v4 pending index", migrate: createPendingLog)
        // Item events are written with their change and published after the commit (Outbox.swift).
        migrator.registerMigration("v5 outbox", migrate: Outbox.createTable)
        // Items and content bytes per layer kept by triggers, so the gauges read five rows
        // instead of every item once a second.
        migrator.registerMigration("v6 layer stats", migrate: createLayerStats)
        // Each item's word signature, for near-duplicate checks to rule candidates out unread.
        migrator.registerMigration("v7 word signatures", migrate: createWordSignatures)
        // Each (term, tf) group of postings keeps its best rows only; deleted items' postings are
        // found by key (MemoryStore+Impact.swift).
        migrator.registerMigration("v8 capped postings", migrate: capPostings)
        // Retrievals are noted and written later (Reinforcements); reads compare epochs.
        migrator.registerMigration("v9 retrieval epoch", migrate: Reinforcements.createTable)
        // FTS5 merges its segments only in the merger's transactions (MemoryStore+Pending.swift).
        migrator.registerMigration("v10 segment merges by the merger", migrate: stopAutomerge)
        // Lists filtered by a tag or a source read the matching items only.
        migrator.registerMigration("v11 tag and source indexes", migrate: createTagAndSourceIndexes)
        // A merge writes its postings to a small table, folded into term_postings in sorted
        // chunks now and then (MemoryStore+Impact.swift).
        migrator.registerMigration("v12 postings delta", migrate: createPostingsDelta)
        // A store writes its batch's pending-log rows, layer counts and tags in three statements,
        // not through a trigger per inserted row (MemoryStore+Write.swift).
        migrator.registerMigration("v13 insert bookkeeping by the store", migrate: dropInsertTriggers)
        return migrator
    }

    /// Items and content bytes per layer (visible items only): the totals the triggers of
    /// `layer_stats` keep (``createLayerStats(_:)``) less the items expired but not yet swept,
    /// found through the partial index on `expires_at`. It costs in proportion to those (a
    /// sweep runs every minute by default), not to the store: at a million items the pass over
    /// every item this replaced took a core for about a second, once a second, and slowed the
    /// stores running beside it tenfold.
    func counts() async throws -> [MemoryLayer: (items: Int, bytes: Int)] {
        let now = clock().timeIntervalSince1970
        return try await pool.read { db in
            var result: [MemoryLayer: (items: Int, bytes: Int)] = [:]
            for layer in MemoryLayer.all { result[layer] = (0, 0) }
            for row in try Row.fetchAll(db, sql: "SELECT layer, items, bytes FROM layer_stats") {
                if let layer = MemoryLayer(name: row["layer"]) { result[layer] = (row["items"], row["bytes"]) }
            }
            let expired = try Row.fetchAll(
                db,
                sql: """
                    SELECT layer, \(Self.layerTotals) FROM items
                    WHERE \(Self.expired) GROUP BY layer
                    """, arguments: [now])
            for row in expired {
                if let layer = MemoryLayer(name: row[0]), let total = result[layer] {
                    result[layer] = (total.items - row[1], total.bytes - row[2])
                }
            }
            return result
        }
    }

    /// The table `layer_stats` (migration `v6 layer stats`): per layer, how many items and
    /// content bytes it holds, expired or not, filled from the items once and then kept by
    /// triggers on every delete and change of layer or content, whatever path makes it
    /// (merges, eviction, sweeps, consolidation, a restored older file), and on insert by the
    /// store, once per batch, since `v13` (``recordInserted(_:after:)``).
    static func createLayerStats(_ db: Database) throws {
        let add = """
            INSERT INTO layer_stats(layer, items, bytes) VALUES (new.layer, 1, LENGTH(CAST(new.content AS BLOB)))
                    ON CONFLICT(layer) DO UPDATE SET items = items + 1, bytes = bytes + excluded.bytes;
            """
        let remove = """
            UPDATE layer_stats SET items = items - 1, bytes = bytes - LENGTH(CAST(old.content AS BLOB))
                    WHERE layer = old.layer;
            """
        try db.execute(
            sql: """
                CREATE TABLE layer_stats (
                    layer TEXT PRIMARY KEY, items INTEGER NOT NULL, bytes INTEGER NOT NULL) WITHOUT ROWID;
                INSERT INTO layer_stats(layer, items, bytes) SELECT layer, \(layerTotals) FROM items GROUP BY layer;
                CREATE TRIGGER layer_stats_insert AFTER INSERT ON items BEGIN \(add) END;
                CREATE TRIGGER layer_stats_delete AFTER DELETE ON items BEGIN \(remove) END;
                CREATE TRIGGER layer_stats_update AFTER UPDATE OF layer, content ON items BEGIN \(remove) \(add) END;
                """)
    }

    /// The table `item_words` (migration `v7 word signatures`): the ``NearDuplicate/WordSignature``
    /// of each item whose text is ASCII (whose words FTS5 and the shingles split alike), for the
    /// near-duplicate checks to rule out FTS5's candidates unread. Written by the merge that
    /// indexes the item in FTS5 (``mergeStep(_:limit:promotions:)``), so a single store writes
    /// no more pages (written with each store, it raised the merge-mode store's median by a
    /// tenth at a million items); pending items are ruled out by the tail's terms instead.
    /// The items a file already holds get theirs from ``fillWordSignatures(batch:)`` in the
    /// background, from the first `seq` up (`item_words_fill.next`, the row gone when done),
    /// while stores pause: about 65 000 items a second at a million items. In the migration
    /// itself it took about 10 s there, on the plugin's open and inside its init deadline, so a
    /// larger file would have failed to open. A change of content or a delete drops the row by trigger,
    /// whatever path makes it, so a row is never stale; an item without one is compared by its
    /// text.
    static func createWordSignatures(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE item_words (seq INTEGER PRIMARY KEY, low INTEGER NOT NULL, high INTEGER NOT NULL);
                \(dropsWithItemContent("item_words"))
                CREATE TABLE item_words_fill (next INTEGER NOT NULL);
                INSERT INTO item_words_fill(next) SELECT MIN(seq) FROM items HAVING COUNT(*) > 0;
                """)
    }

    /// Writes the signatures of up to `batch` items from where the fill of an older file's
    /// items stands (``createWordSignatures(_:)``), in one write transaction, so each is the
    /// item's content as committed.
    /// - Returns: true when items are left to fill.
    @discardableResult
    func fillWordSignatures(batch: Int = 1000) throws -> Bool {
        try pool.writeWithoutTransaction { db in
            var filled: [(seq: Int64, signature: NearDuplicate.WordSignature)] = []
            var more = false
            try db.inTransaction {
                guard let next = try Int64.fetchOne(db, sql: "SELECT next FROM item_words_fill") else { return .commit }
                let rows = try Row.fetchAll(
                    db, sql: "SELECT seq, content FROM items WHERE seq >= ? ORDER BY seq LIMIT ?", arguments: [next, batch])
                let signatures = try RawStatement(db, sql: Self.setWordSignatureSQL)
                for row in rows {
                    let content: String = row[1]
                    guard content.utf8.allSatisfy({ $0 < 0x80 }) else { continue }
                    let signature = NearDuplicate.WordSignature(words: FTSQuery.words(content))
                    try Self.setWordSignature(signatures, seq: row[0], signature)
                    filled.append((row[0], signature))
                }
                if rows.count == batch, let last = rows.last?[0] as Int64? {
                    try db.execute(sql: "UPDATE item_words_fill SET next = ?", arguments: [last + 1])
                    more = true
                } else {
                    try db.execute(sql: "DELETE FROM item_words_fill")
                }
                return .commit
            }
            // Committed, and still under the writer's lock: no delete has come between.
            signatures.set(filled)
            return more
        }
    }

    /// The triggers `<table>_delete` and `<table>_update` that delete an item's rows of `table`
    /// (by `seq`) when the item is deleted or its content is set: data derived from the content.
    static func dropsWithItemContent(_ table: String) -> String {
        """
        CREATE TRIGGER \(table)_delete AFTER DELETE ON items BEGIN
            DELETE FROM \(table) WHERE seq = old.seq;
        END;
        CREATE TRIGGER \(table)_update AFTER UPDATE OF content ON items BEGIN
            DELETE FROM \(table) WHERE seq = old.seq;
        END;
        """
    }

    /// Migration `v11 tag and source indexes`: `item_tags`, each tag of each item with the item's
    /// creation time (kept by triggers on every delete and change of tags, whatever path makes
    /// it, and on insert by the store since `v13`, ``recordInserted(_:after:)``), and an index of
    /// `items` by source and time. A list filtered by a tag or a source
    /// then reads the matching items newest first and stops at its limit; before, it walked every
    /// item newest first testing each (at a million items without such a tag: 2.8 s for a tag,
    /// 0.5 s for a source). Filling `item_tags` reads only the items that have tags.
    static func createTagAndSourceIndexes(_ db: Database) throws {
        let add = """
            INSERT OR IGNORE INTO item_tags(tag, created_at, seq)
                    SELECT value, new.created_at, new.seq FROM json_each(new.tags);
            """
        let remove = """
            DELETE FROM item_tags
                    WHERE tag IN (SELECT value FROM json_each(old.tags)) AND created_at = old.created_at AND seq = old.seq;
            """
        try db.execute(
            sql: """
                CREATE TABLE item_tags (
                    tag TEXT NOT NULL, created_at REAL NOT NULL, seq INTEGER NOT NULL,
                    PRIMARY KEY (tag, created_at, seq)) WITHOUT ROWID;
                INSERT OR IGNORE INTO item_tags(tag, created_at, seq)
                    SELECT tag.value, items.created_at, items.seq FROM items, json_each(items.tags) AS tag
                    WHERE items.tags != '[]';
                CREATE TRIGGER item_tags_insert AFTER INSERT ON items WHEN new.tags != '[]' BEGIN \(add) END;
                CREATE TRIGGER item_tags_delete AFTER DELETE ON items WHEN old.tags != '[]' BEGIN \(remove) END;
                CREATE TRIGGER item_tags_update AFTER UPDATE OF tags, created_at ON items BEGIN \(remove) \(add) END;
                CREATE INDEX items_by_source_time ON items(source, created_at);
                """)
    }

    /// Writes an item's word signature through `statement`, prepared with ``setWordSignatureSQL``
    /// (a merge and a fill step write one per item).
    static func setWordSignature(_ statement: RawStatement, seq: Int64, _ signature: NearDuplicate.WordSignature) throws {
        statement.bind(1, seq)
        statement.bind(2, Int64(bitPattern: signature.low))
        statement.bind(3, Int64(bitPattern: signature.high))
        _ = try statement.step()
    }

    /// The statement that writes an item's word signature.
    static let setWordSignatureSQL = "INSERT OR REPLACE INTO item_words(seq, low, high) VALUES (?, ?, ?)"

    /// The word signatures of these items (those that have one), read in order of `seq`.
    static func wordSignatures(_ db: Database, seqs: [Int64]) throws -> [Int64: NearDuplicate.WordSignature] {
        var result: [Int64: NearDuplicate.WordSignature] = [:]
        let rows = try Row.fetchCursor(
            db.cachedStatement(sql: "SELECT seq, low, high FROM json_each(?) JOIN item_words ON seq = value"),
            arguments: [seqList(seqs.sorted())])
        while let row = try rows.next() {
            result[row[0]] = NearDuplicate.WordSignature(
                low: UInt64(bitPattern: row[1] as Int64), high: UInt64(bitPattern: row[2] as Int64))
        }
        return result
    }

    /// The item count and content bytes of a group of items, in SQL.
    static let layerTotals = "COUNT(*), COALESCE(SUM(LENGTH(CAST(content AS BLOB))), 0)"

    /// The database file's name in the plugin's data directory and in a snapshot.
    static let fileName = "memory.sqlite"

    /// Writes a consistent copy of the live database into `directory` (the kit's online backup;
    /// stores go on meanwhile).
    ///
    /// The outbox travels in the copy (it is a table of the file) but is not replayed from it:
    /// ``restore(from:)`` discards the restored rows, see ``Outbox/restored(_:)``.
    func snapshot(into directory: String) throws {
        try flushReinforcements()
        try pool.writeSnapshot(into: directory, fileName: Self.fileName)
    }

    /// (Re)installs ``signatures``' trigger on the writer's connection and loads it from the
    /// table, under the writer's lock (at open and after a restore).
    private func loadSignatures() throws {
        try pool.writeWithoutTransaction { [signatures] db in
            try signatures.install(db)
            try signatures.load(db)
        }
    }

    /// Refuses a snapshot whose sequence numbers the store could not have given: they index
    /// arrays (word signatures) and count on (`event_id`s), so a negative one or one near the
    /// largest integer would stop the process. (Its schema and value types are checked by the
    /// kit against the migrations.)
    static func checkSnapshot(_ db: Database) throws {
        // The tables an earlier version's snapshot has (the outbox came with v5).
        let tables = try ["items", "outbox", "outbox_high"].filter { try db.tableExists($0) }
        let outOfRange = try tables.contains { table in
            try Int.fetchOne(
                db, sql: "SELECT 1 FROM \(table) WHERE seq < 0 OR seq > ? LIMIT 1", arguments: [Int64(1) << 62]) != nil
        }
        guard !outOfRange else {
            throw MemoryError.badRequest("the snapshot holds sequence numbers out of range (below 0 or above 2^62): refused")
        }
    }

    /// Replaces the whole database with the snapshot in `directory`, online, then runs any newer
    /// migrations on it.
    /// - Throws: when the snapshot is missing, damaged or not a memory database.
    func restore(from directory: String) throws {
        // Forgotten before the swap too: a flush queued on the writer behind the restore would
        // otherwise write retrievals noted before it into the restored file (CI saw an access
        // count other than the snapshot's after a restore); and the pending tail's terms are the old
        // file's, which a merge queued behind the restore would give the new file's items of the
        // same seq (it counts afresh what the tail does not hold).
        reinforcements.clear()
        tail.load([])
        var next: Int64 = 0
        do {
            // The outbox's part is prepared in the copy that replaces the file (see
            // `Outbox.prepareRestore`), as are the migrations; its in-memory state follows under
            // the same hold of the writer, so no store numbers an event from the replaced state.
            try pool.restoreSnapshot(
                from: directory, fileName: Self.fileName, requiringTable: "items", migrator: Self.migrator,
                check: Self.checkSnapshot,
                prepare: { [outbox] snapshot, current in next = try outbox.prepareRestore(snapshot, current: current) },
                swapped: { [outbox] _ in outbox.restored(next: next) })
            restoreSwapped.current?(())
        } catch {
            tail.load((try? pool.read(Self.pendingItems)) ?? [])
            throw error
        }
        reinforcements.clear()
        deltaPostings.withLock { $0 = nil }
        foldPass.withLock { $0 = nil }
        hot.load(try pool.read(Self.hotTerms))
        try pool.write { [self] db in try forgetUnindexed(db, promoted: []) }
        tail.load(try pool.read(Self.pendingItems))
        try pool.read(frequencies.load)
        try loadSignatures()
        merger.withLock { $0 }?.refill()
        pendingCommitted()
    }
}
