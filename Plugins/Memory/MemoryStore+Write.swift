import Foundation
import GRDB
import MemoryCore
import PluginReplies

/// What storing one item did.
struct StoreOutcome: Sendable {
    /// The stored item, or the existing one a near-duplicate was merged into.
    var item: MemoryItem
    /// True when the item was merged into an existing near-duplicate.
    var merged: Bool
    /// The item's links after the store: the new item's, or for a merge the existing item's
    /// with the new item's added.
    var links: [MemoryLink] = []
}

extension MemoryStore {
    /// The parts of an item ``validate(_:checking:)`` checks.
    struct Checked: OptionSet {
        let rawValue: Int
        static let content = Checked(rawValue: 1)
        static let importance = Checked(rawValue: 2)
        static let tags = Checked(rawValue: 4)
        static let source = Checked(rawValue: 8)
        static let links = Checked(rawValue: 16)
        /// A pinned item's layer allows pinning.
        static let pin = Checked(rawValue: 32)
        static let all: Checked = [.content, .importance, .tags, .source, .links, .pin]
    }

    /// Checks an item before anything is written: all of it for a store, what a patch sets for
    /// an update (``update(id:_:events:)``).
    func validate(_ item: NewItem, checking: Checked = .all) throws(MemoryError) {
        if checking.contains(.content) {
            let bytes = item.content.utf8.count
            // Lengths count code points and blank means every code point is White_Space, as the
            // route schemas' maxLength and pattern do (`Schemas`).
            guard bytes > 0, !SchemaPatterns.isBlank(item.content) else {
                throw .badRequest("content is empty")
            }
            guard bytes <= settings.maxContentBytes else {
                throw .tooLarge("content is \(bytes) bytes; at most \(settings.maxContentBytes) are allowed (max_content_bytes)")
            }
            try MemoryError.refuseNUL(item.content, "content")
        }
        if checking.contains(.importance), !(0...1).contains(item.importance) {
            throw .badRequest("importance must be between 0 and 1")
        }
        if checking.contains(.tags) {
            guard item.tags.count <= MemoryItem.maxTags, item.tags.allSatisfy({ (1...64).contains($0.unicodeScalars.count) })
            else { throw .badRequest("at most \(MemoryItem.maxTags) tags of 1 to 64 characters each are allowed") }
            for tag in item.tags { try MemoryError.refuseNUL(tag, "tags") }
        }
        if checking.contains(.source) {
            guard item.source.unicodeScalars.count <= 128 else { throw .badRequest("source is longer than 128 characters") }
            try MemoryError.refuseNUL(item.source, "source")
        }
        if checking.contains(.links) {
            guard item.links.count <= MemoryLink.maxPerItem,
                item.links.allSatisfy({ MemoryLink.kinds.contains($0.kind) && !$0.target.isEmpty })
            else {
                throw .badRequest(
                    "links need a kind ('entity' or 'item') and a target; at most \(MemoryLink.maxPerItem) are allowed")
            }
            for link in item.links {
                try MemoryError.refuseNUL(link.target, "links.target")
                try MemoryError.refuseNUL(link.relation, "links.relation")
            }
        }
        if checking.contains(.pin), item.pinned && !settings.retention.policy(item.layer).allowsPinning {
            throw .badRequest("items in the \(item.layer) layer cannot be pinned")
        }
    }

    /// Stores items in one transaction: all of them or, on any error, none.
    /// - Parameters:
    ///   - items: the items (at most ``MemorySettings/maxBatch``).
    ///   - events: receives the item events (`stored`, `updated` for a merge, `deleted` for an
    ///     eviction) of the transaction.
    /// - Returns: one outcome per item, in order.
    /// - Throws: ``MemoryError`` (nothing stored).
    func store(_ items: [NewItem], events: ItemEvents? = nil) async throws -> [StoreOutcome] {
        guard !items.isEmpty else { throw MemoryError.badRequest("nothing to store") }
        guard items.count <= settings.maxBatch else {
            throw MemoryError.tooLarge("a batch holds at most \(settings.maxBatch) items; this one has \(items.count)")
        }
        for item in items { try validate(item) }
        // Composed after the checks (``ComposedText``): FTS5 and the tail then see one form of
        // each word, and tags and link targets compare as the soul's names do.
        let items = items.map(\.composed)
        // A tail past its bound is merged by the store that finds it so (the merger is behind).
        if tail.count >= settings.maxPending { try await mergeBatch() }
        let now = clock()
        // The tail's terms, counted before the writer's lock is taken. Every policy leaves the
        // items pending: a near-duplicate check reads FTS5 and the tail together.
        let terms = await TermCounts.counting(items.map(\.content))
        let ids = ItemID.make(items.count)
        // With `allow` no item of the batch looks for a near-duplicate among the others: the
        // tail takes them together after the inserts (``PendingTail/add(_:)``).
        let together = settings.duplicates == .allow
        let outcomes = try await eventWrite(events: events) { [self] db in
            let last = try Self.lastSeq(db)
            var outcomes: [StoreOutcome] = []
            var added: [(seq: Int64, terms: TermCounts)] = []
            if together { added.reserveCapacity(items.count) }
            for (index, item) in items.enumerated() {
                let outcome = try insert(db, item, id: ids[index], now: now, terms: terms[index]) { seq in
                    if together { added.append((seq, terms[index])) } else { tail.add(seq: seq, terms: terms[index]) }
                }
                events?.append(
                    outcome.merged ? ItemEvent(.updated, outcome.item, ["reason": "merged"]) : ItemEvent(.stored, outcome.item))
                outcomes.append(outcome)
            }
            tail.add(added)
            try Self.recordInserted(db, after: last)
            for layer in Set(items.map(\.layer)) { _ = try enforceCapacity(db, layer: layer, events: events) }
            return outcomes
        }
        pendingCommitted()
        return outcomes
    }

    /// The largest `seq` of `items` (0 when empty). Every row inserted after it in the writer's
    /// transaction has a larger one: SQLite gives a new row the largest rowid plus one.
    static func lastSeq(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT MAX(seq) FROM items")) ?? 0
    }

    /// Records the items inserted since `seq` ``lastSeq(_:)`` where the rest of the schema keeps
    /// them, in three statements for the whole batch (migration `v13 insert bookkeeping by the
    /// store`): their rows in the pending log, their layers' counts in `layer_stats`, and their
    /// tags in `item_tags`. Before it, an `AFTER INSERT` trigger on `items` did each of these
    /// per row, and a trigger program run per row cost more than the row itself: 1 000 rows in
    /// a million-item file took 17.4 ms with the three triggers, 8.0 ms without (median of 30
    /// batches each, alternating, in Python's sqlite3). `store(_:events:)`'s insert is the only
    /// one into `items`; it calls this before anything else in its transaction deletes. Each
    /// statement reads the new rows by `seq` (`NOT INDEXED`: grouping by layer, the planner
    /// otherwise walks all of `items_eviction`).
    static func recordInserted(_ db: Database, after seq: Int64) throws {
        for sql in insertedBookkeeping { try db.cachedStatement(sql: sql).execute(arguments: [seq]) }
    }

    /// The statements of ``recordInserted(_:after:)``, each taking the `seq` the new rows follow.
    static let insertedBookkeeping = [
        "INSERT INTO items_pending(seq) SELECT seq FROM items NOT INDEXED WHERE seq > ?",
        """
        INSERT INTO layer_stats(layer, items, bytes)
            SELECT layer, \(layerTotals) FROM items NOT INDEXED WHERE seq > ? GROUP BY layer
            ON CONFLICT(layer) DO UPDATE SET items = items + excluded.items, bytes = bytes + excluded.bytes
        """,
        """
        INSERT OR IGNORE INTO item_tags(tag, created_at, seq)
            SELECT tag.value, items.created_at, items.seq FROM items NOT INDEXED, json_each(items.tags) AS tag
            WHERE items.seq > ? AND items.tags != '[]'
        """,
    ]

    /// Migration `v13 insert bookkeeping by the store`: drops the `AFTER INSERT` triggers on
    /// `items` (`items_pending_insert`, `layer_stats_insert`, `item_tags_insert`); the store
    /// does their work once per batch (``recordInserted(_:after:)``). The triggers on delete and
    /// update stay: those paths are many and change a row at a time.
    static func dropInsertTriggers(_ db: Database) throws {
        try db.execute(
            sql: """
                DROP TRIGGER IF EXISTS items_pending_insert;
                DROP TRIGGER IF EXISTS layer_stats_insert;
                DROP TRIGGER IF EXISTS item_tags_insert;
                """)
    }

    /// Merges one batch of pending items (``mergePending(limit:)``) on GRDB's writer queue.
    func mergeBatch() async throws {
        let limit = settings.mergeBatch
        try await mergingWrite { [self] db, promotions in ((), try mergeStep(db, limit: limit, promotions: promotions)) }
    }

    /// Inserts an item, or merges it into a near-duplicate (``MemorySettings/duplicates``), inside
    /// the writer's transaction: the check sees every item committed before and the ones this
    /// transaction inserted, pending or merged, and no other store runs until the commit. A new
    /// item gets `id` (``ItemID``); a merged one leaves it unused.
    /// - Parameter pending: called with the new item's `seq` once its row is in (it is pending
    ///   then, and enters ``tail`` through it).
    private func insert(
        _ db: Database, _ new: NewItem, id: String, now: Date, terms: TermCounts, pending: (Int64) -> Void
    ) throws -> StoreOutcome {
        if settings.duplicates != .allow,
            let (existing, similarity) = try nearDuplicate(db, of: new.content, in: new.layer, now: now, terms: terms)
        {
            if settings.duplicates == .reject { throw MemoryError.duplicate(of: existing.item.id, similarity: similarity) }
            var merged = existing.item
            merged.accessCount += 1
            merged.lastAccessedAt = now
            merged.importance = max(merged.importance, new.importance)
            merged.absorbTags(new.tags)
            // What was stored lives as long as it would have on its own: a pin pins the item (the
            // layer allows it, or `validate` refused the store), and the expiry is the later of
            // the two. (The existing item kept its own, so storing again a fact about to expire
            // answered "merged" and the fact expired moments later.)
            merged.pinned = merged.pinned || new.pinned
            merged.expiresAt = MemoryItem.laterExpiry(
                merged.expiresAt, settings.retention.expiry(layer: new.layer, at: now, pinned: merged.pinned))
            try db.cachedStatement(
                sql: """
                    UPDATE items SET access_count = ?, last_accessed_at = ?, importance = ?, tags = ?, pinned = ?,
                                     expires_at = ?
                    WHERE seq = ?
                    """
            ).execute(
                arguments: [
                    merged.accessCount, now.timeIntervalSince1970, merged.importance, MemoryItem.tagsText(merged.tags),
                    merged.pinned, merged.expiresAt?.timeIntervalSince1970, existing.seq,
                ])
            // The new item's links join the existing item's, as consolidation moves them (until
            // session 35 they were dropped).
            try Self.addLinks(db, to: existing.seq, new.links)
            return StoreOutcome(item: merged, merged: true, links: try Self.links(db, seqs: [existing.seq])[existing.seq] ?? [])
        }
        let item = MemoryItem(
            id: id, layer: new.layer, content: new.content, tags: new.tags, source: new.source,
            importance: new.importance, createdAt: now,
            expiresAt: settings.retention.expiry(layer: new.layer, at: now, pinned: new.pinned), pinned: new.pinned)
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO items(id, layer, content, tags, source, importance, created_at, last_accessed_at, access_count,
                                  expires_at, pinned)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
                """)
        try statement.execute(
            arguments: [
                item.id, item.layer.name, item.content, MemoryItem.tagsText(item.tags), item.source, item.importance,
                now.timeIntervalSince1970, now.timeIntervalSince1970, item.expiresAt?.timeIntervalSince1970, item.pinned,
            ])
        let seq = db.lastInsertedRowID
        // Pending now (logged in the pending log with the batch); searchable from the tail until merged.
        pending(seq)
        if !new.links.isEmpty { try Self.setLinks(db, seq: seq, new.links) }
        return StoreOutcome(item: item, merged: false, links: new.links)
    }

    /// The most similar visible item of `layer` at or above the threshold, among every item the
    /// caller's transaction sees, merged (FTS5) or pending (``tail``). Run by the writer, whose
    /// snapshot is the newest: an item the merge retired from the tail is in FTS5.
    ///
    /// Exact for the text's plain ASCII words: each side is asked only for the items meeting the
    /// text's lookup condition (``NearDuplicate/Profile/lookup(counts:items:)``: holding at
    /// least so many of its rarest words, which every near-duplicate does, since lacking more
    /// of them loses too many shingles), and every such item of the layer is compared (up to
    /// ``duplicateScanLimit``). FTS5 evaluates the condition (one `MATCH` of `AND`ed words
    /// joined by `OR`, rowids only), so a text of common words reads the few rows holding
    /// enough of them together, not every row holding one. A side that holds none of enough
    /// of the words is not read at all. A text whose ASCII words do not constrain a
    /// near-duplicate (mostly other scripts) falls back to its rarest words
    /// (``rarestWords(_:of:count:budget:)``) and the best ``duplicateCandidates`` by words held.
    /// - Parameter terms: the text's terms, when counted already.
    func nearDuplicate(
        _ db: Database, of content: String, in layer: MemoryLayer, now: Date, excluding seq: Int64? = nil,
        terms: TermCounts? = nil
    ) throws -> ((seq: Int64, item: MemoryItem), Double)? {
        let detector = settings.nearDuplicate
        // A text too long to check is not a near-duplicate of anything (README "Near-duplicates").
        guard let profile = detector.checkedProfile(words: FTSQuery.words(content)) else { return nil }
        var best: (seq: Int64, similarity: Double)?
        let lookup = try db.cachedStatement(sql: "SELECT content FROM items WHERE seq = ? AND layer = ? AND \(Self.visible)")
        // Compares the candidates in order until `limit` of them were of the layer and visible.
        // `ruledOut` tells, before its text is read, of a candidate that cannot reach the
        // threshold by the words it lacks (its word signature, or a pending item's terms); after
        // the read, with `scanText`, the words it holds are found in its text
        // (``NearDuplicate/Profile/canMatch(asciiText:)``, much cheaper than its shingles: an
        // exact lookup among a million items may return hundreds of candidates sharing only a
        // few words), and `lacks` tells of a candidate with an ASCII text words it does not hold
        // (exactly: the ASCII split of FTS5 and of the shingles is the same).
        func compare(
            _ candidates: [Int64], limit: Int, ruledOut: (Int64) -> Bool = { _ in false }, scanText: Bool = false,
            lacks: (Int64, Substring) -> Bool = { _, _ in false }
        ) throws {
            var found = 0
            for candidate in candidates where found < limit && candidate != seq && !ruledOut(candidate) {
                guard let text = try String.fetchOne(lookup, arguments: [candidate, layer.name, now.timeIntervalSince1970])
                else { continue }
                found += 1
                if scanText {
                    if profile.canMatch(asciiText: text) == false { continue }
                } else if text.utf8.allSatisfy({ $0 < 0x80 }) {
                    if !profile.canMatch(lacking: { lacks(candidate, $0) }) { continue }
                }
                let similarity = NearDuplicate.jaccard(profile.shingles, detector.shingles(text))
                if similarity >= detector.threshold && similarity > (best?.similarity ?? -1) { best = (candidate, similarity) }
            }
        }
        let (plain, plan) = try duplicateLookup(db, of: profile)
        let rows = try db.cachedStatement(sql: "SELECT rowid FROM items_fts WHERE items_fts MATCH ?")
        switch plan {
        case .nothing: break
        case .read(let plan):
            var found: [Int64] = []
            let cursor = try Int64.fetchCursor(rows, arguments: [plan.expression])
            while let rowid = try cursor.next() { found.append(rowid) }
            // Signatures from memory; those it lacks from the table, unless there are only a few
            // (the statement costs about two reads of the candidates themselves).
            var (signatures, unknown) = self.signatures.lookup(found)
            if unknown.count >= 4 { signatures.merge(try Self.wordSignatures(db, seqs: unknown)) { a, _ in a } }
            try compare(
                found.reversed(), limit: Self.duplicateScanLimit,
                ruledOut: { signatures[$0].map { !profile.canMatch(signature: $0) } ?? false }, scanText: true)
        case nil:
            try compareRarest(db, content: content, rows: rows) { try compare($0, limit: Self.duplicateCandidates, lacks: $1) }
        }
        // A pending item's terms are its words when its text is ASCII (`isExact`): one that
        // lacks too many words is ruled out before its text is read.
        func ruledOut(_ terms: [Int64: TermCounts]) -> (Int64) -> Bool {
            { candidate in
                guard let document = terms[candidate], document.isExact else { return false }
                return !profile.canMatch { document.counts[String($0)] == nil }
            }
        }
        if let pending = tail.nearDuplicateCandidates(profile, words: plain) {
            let pendingTerms = Dictionary(pending.map { ($0.seq, $0.terms) }) { a, _ in a }
            try compare(pending.map(\.seq), limit: Self.duplicateScanLimit, ruledOut: ruledOut(pendingTerms))
        } else {
            let pending = tail.resembling(terms ?? TermCounts(content), budget: Self.duplicateCandidateBudget)
            let pendingTerms = Dictionary(pending.prefix(4 * Self.duplicateCandidates).map { ($0.seq, $0.terms) }) { a, _ in a }
            try compare(pending.map(\.seq), limit: Self.duplicateCandidates, ruledOut: ruledOut(pendingTerms))
        }
        guard let best,
            let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM items WHERE seq = ?"), arguments: [best.seq])
        else { return nil }
        return ((best.seq, MemoryItem(row: row)), best.similarity)
    }

    /// The profiled text's words that FTS5 and the tail split exactly as the shingles do (plain ASCII),
    /// and the condition every near-duplicate among the merged items meets
    /// (``NearDuplicate/Profile/lookup(counts:items:)`` over ``frequencies``).
    func duplicateLookup(_ db: Database, of profile: NearDuplicate.Profile) throws -> (
        plain: [String], plan: NearDuplicate.LookupPlan?
    ) {
        let plain = profile.words.filter(TermCounts.isPlainASCII).sorted()
        let counts = try frequencies.counts(plain) { missing in try Self.documentCounts(db, of: missing, hot: hot) }
        return (plain, profile.lookup(counts: counts, items: frequencies.items))
    }

    /// The fallback of ``nearDuplicate(_:of:in:now:excluding:terms:)`` for a text without an
    /// exact lookup: the rows of FTS5 holding its rarest words, most of them held first (a
    /// rarer word counting a little more), handed to `compare` with what each lacks.
    private func compareRarest(
        _ db: Database, content: String, rows: Statement,
        compare: ([Int64], (Int64, Substring) -> Bool) throws -> Void
    ) throws {
        let words = try rarestWords(db, of: content, count: 5, budget: Self.duplicateCandidateBudget)
        let counts = try frequencies.counts(words) { missing in try Self.documentCounts(db, of: missing, hot: hot) }
        // Per row: its score, and which lookup words it holds (bit i: words[i]).
        var scores: [Int64: (score: Double, held: UInt8)] = [:]
        for (index, word) in words.prefix(8).enumerated() {
            guard let query = try? FTSQuery(word) else { continue }
            // Each word held counts one, and a rarer one a little more.
            let weight = 1 + 1 / Double(max(counts[word] ?? 1, 1))
            let cursor = try Int64.fetchCursor(rows, arguments: [query.expression])
            while let rowid = try cursor.next() {
                let old = scores[rowid] ?? (0, 0)
                scores[rowid] = (old.score + weight, old.held | UInt8(1) << index)
            }
        }
        let ranked = scores.sorted { ($0.value.score, $0.key) > ($1.value.score, $1.key) }
        try compare(ranked.map(\.key)) { candidate, word in
            guard let index = words.firstIndex(where: { $0 == word }), index < 8 else { return false }
            return (scores[candidate]?.held ?? 0) & (UInt8(1) << index) == 0
        }
    }

    /// Most candidates of the layer a near-duplicate check compares from each side when the
    /// lookup is exact (past it, a check may miss one: thousands of items each holding enough
    /// of the text's rarest words).
    static let duplicateScanLimit = 5000

    /// Most candidates a near-duplicate check without an exact lookup compares, from FTS5 and
    /// from the tail each.
    static let duplicateCandidates = 20

    /// About how many rows of FTS5 and pending items a near-duplicate check may look at
    /// (``rarestWords(_:of:count:budget:)``, ``PendingTail/resembling(_:budget:)``).
    static let duplicateCandidateBudget = 2000

    /// The lookup words (``NearDuplicate/lookupWords(_:count:budget:)``) of `content` among the
    /// merged items: up to `count` words found in the fewest rows of FTS5, while those rows add
    /// up to at most `budget`. The check reads every row holding any of them, so a text with a
    /// few common words among its rarest made a store read tens of thousands of rows (the p99 of
    /// single stores with `duplicates: merge`). Falls back to the first words
    /// when the index knows none of them. The counts come from ``frequencies``.
    func rarestWords(_ db: Database, of content: String, count: Int, budget: Int = .max) throws -> [String] {
        let words = Array(Array(Set(FTSQuery.words(content))).sorted().prefix(64))
        let counts = try frequencies.counts(words) { missing in try Self.documentCounts(db, of: missing, hot: hot) }
        let known = words.compactMap { word in counts[word].flatMap { $0 > 0 ? (word: word, items: $0) : nil } }
        guard !known.isEmpty else { return Array(words.prefix(count)) }
        return NearDuplicate.lookupWords(known, count: count, budget: budget)
    }

    /// How many merged items hold each of `words` (absent: none), in two statements: a hot
    /// term's count is kept in `hot_terms`, the others' come from `fts5vocab` (which would walk
    /// a hot term's whole doclist).
    static func documentCounts(_ db: Database, of words: [String], hot: HotTerms) throws -> [String: Int] {
        var result: [String: Int] = [:]
        let split = Dictionary(grouping: words) { hot.contains($0) }
        for (isHot, group) in split {
            for start in stride(from: 0, to: group.count, by: 500) {
                let chunk = Array(group[start..<min(start + 500, group.count)])
                let marks = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let sql =
                    isHot
                    ? "SELECT term, rows FROM hot_terms WHERE term IN (\(marks))"
                    : "SELECT term, doc FROM items_vocab WHERE term IN (\(marks))"
                for row in try Row.fetchAll(db, sql: sql, arguments: StatementArguments(chunk)) { result[row[0]] = row[1] }
            }
        }
        return result
    }

    /// Removes the oldest unpinned items of `layer` beyond its capacity (a `deleted` event with
    /// `reason: "evicted"` each).
    ///
    /// The layer's item count comes from `layer_stats` (kept by triggers, expired items
    /// included, as the capacity counts them), one row read: counting the layer's rows took
    /// time in proportion to the layer, about 7 ms a store in an `episodic` layer at its
    /// 100 000 items.
    /// - Returns: how many were removed.
    func enforceCapacity(_ db: Database, layer: MemoryLayer, events: ItemEvents?) throws -> Int {
        guard let capacity = settings.retention.policy(layer).capacity else { return 0 }
        let count =
            try Int.fetchOne(
                db.cachedStatement(sql: "SELECT items FROM layer_stats WHERE layer = ?"), arguments: [layer.name]) ?? 0
        guard count > capacity else { return 0 }
        // A cached statement: preparing it compiles the triggers of `items` each time.
        let gone = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    DELETE FROM items WHERE seq IN (
                        SELECT seq FROM items WHERE layer = ? AND pinned = 0 ORDER BY created_at, seq LIMIT ?)
                    RETURNING id, layer, source
                    """), arguments: [layer.name, count - capacity])
        for row in gone { events?.append(ItemEvent(.deleted, row: row, ["reason": "evicted"])) }
        if !gone.isEmpty { evictions.withLock { $0[layer, default: 0] += gone.count } }
        return gone.count
    }

    /// Changes an item.
    /// - Parameters:
    ///   - id: the item.
    ///   - patch: what changes.
    ///   - events: receives the item events (`updated`, `deleted` for evictions).
    /// - Returns: the item after the change.
    /// - Throws: ``MemoryError`` (404 for an unknown or expired id).
    func update(id: String, _ patch: ItemPatch, events: ItemEvents? = nil) async throws -> MemoryItem {
        let now = clock()
        let updated = try await eventWrite(events: events) { [self] db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM items WHERE id = ? AND \(Self.visible)", arguments: [id, now.timeIntervalSince1970])
            else { throw MemoryError.notFound(id) }
            let seq: Int64 = row["seq"]
            var item = MemoryItem(row: row)
            let check = NewItem(
                layer: patch.layer ?? item.layer, content: patch.content ?? item.content, tags: patch.tags ?? item.tags,
                source: item.source, importance: patch.importance ?? item.importance, pinned: patch.pinned ?? item.pinned,
                links: patch.links ?? [])
            // Only what the patch sets is checked: what the item holds already may be past
            // today's limits and stays through changes to its other fields (content stored
            // before `max_content_bytes` was lowered, tags of near-duplicates merged before they
            // were capped, a pin kept through a promotion into a layer that does not pin).
            var checking: Checked = []
            if patch.content != nil { checking.insert(.content) }
            if patch.importance != nil { checking.insert(.importance) }
            if patch.tags != nil { checking.insert(.tags) }
            if patch.links != nil { checking.insert(.links) }
            if patch.pinned == true || patch.layer != nil { checking.insert(.pin) }
            try validate(check, checking: checking)
            let composed = check.composed
            let retime = (patch.pinned != nil && patch.pinned != item.pinned) || (patch.layer != nil && patch.layer != item.layer)
            item.layer = check.layer
            item.content = composed.content
            item.tags = composed.tags
            item.importance = check.importance
            item.pinned = check.pinned
            if retime { item.expiresAt = settings.retention.expiry(layer: item.layer, at: now, pinned: item.pinned) }
            try db.execute(
                sql:
                    "UPDATE items SET layer = ?, content = ?, tags = ?, importance = ?, pinned = ?, expires_at = ? WHERE seq = ?",
                arguments: [
                    item.layer.name, item.content, MemoryItem.tagsText(item.tags), item.importance, item.pinned,
                    item.expiresAt?.timeIntervalSince1970, seq,
                ])
            // The update triggers dropped the old content from FTS5, the postings and the word
            // signature, and queued the item for the merge.
            tail.add(seq: seq, content: item.content)
            if let links = patch.links { try Self.setLinks(db, seq: seq, links.map(\.composed)) }
            var detail = ["reason": "update"]
            if let from = MemoryLayer(name: row["layer"]), from != item.layer { detail["from"] = from.name }
            events?.append(ItemEvent(.updated, item, detail))
            if patch.layer != nil { _ = try enforceCapacity(db, layer: item.layer, events: events) }
            return item
        }
        pendingCommitted()
        return updated
    }

    /// Deletes an item (and its links).
    /// - Parameters:
    ///   - id: the item.
    ///   - events: receives its `deleted` event (`reason: "request"`).
    /// - Returns: false when there was no such item.
    func delete(id: String, events: ItemEvents? = nil) async throws -> Bool {
        try await eventWrite(events: events) { db in
            // Cached: preparing a delete compiles the triggers of `items` (about half a millisecond).
            let gone = try Row.fetchAll(
                db.cachedStatement(sql: "DELETE FROM items WHERE id = ? RETURNING id, layer, source"), arguments: [id])
            for row in gone { events?.append(ItemEvent(.deleted, row: row, ["reason": "request"])) }
            return !gone.isEmpty
        }
    }
}
