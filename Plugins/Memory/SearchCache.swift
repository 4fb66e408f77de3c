import CJameyCache
import Foundation
import GRDB
import JameyPluginKit
import MemoryCore
import Synchronization

/// Search results kept in the cache plugin's namespace `memory-search`, when the cache plugin runs
/// with that namespace (the optional dependency: without it every search runs on SQLite, as
/// before). Reached through the `cache.l1` service table (`jamey/cache.h`), so a hit costs no bus
/// round trip and no SQLite read.
///
/// Only searches that do not reinforce (`"reinforce": false`) are cached: a reinforcing search
/// counts its hits as retrieved. A cached reply is the reply of the same search (the same body,
/// byte for byte) run after the last write and retrieval that could change its hits (below). The
/// body is the key as it came: sorting its members first would let bodies that differ only in
/// order or spacing share an entry, but cost about 19 µs a search (JSONSerialization twice), as
/// much as a hit otherwise costs.
///
/// **Invalidation by generation.** The key of a search is `<run>.<generation>.<words>:<body>`. A
/// GRDB transaction observer sees every commit before the write returns to its caller, and every
/// retrieval is told as it is noted, before its reply:
/// - A commit that only inserted items (a store without links) moves `<words>` for the searches
///   whose words the new items hold: each word's slot in a table of ``CommitObserver/wordSlots``
///   counters goes up, and `<words>` is `w` and the sum of the search's words' counters (which
///   only grow, so a key never comes back). A new item without any of a search's words cannot be
///   among its hits. Searches in operator syntax (a prefix, a phrase) have `i` and a count of
///   such commits and retrievals instead: any store or retrieval moves them.
/// - Every other committed write — update, delete, links, a store that pushed the oldest item out
///   of its layer, consolidation, the expiry sweep, whatever path it takes — bumps the
///   generation, and so does a restore.
/// - A retrieval (a get, a reinforcing search) changes its items' access counts, shown in replies
///   and counted in ranks: it moves `<words>` for the words of its items, as a store does, when
///   it is noted (``Reinforcements``). Any search its items can appear in holds one of their
///   words. Writing it to `items` later changes no reply, since reads show noted retrievals, and
///   moves nothing. (Bumping a count of every retrieval instead emptied every cached search on
///   each get and each default, reinforcing, search.)
///
/// So every search after a write that could change its hits uses a key nothing was stored under,
/// and entries of older keys are never read again and leave the cache by eviction or TTL. A search
/// that ran before a write and stores its result after it stores it under the old key, where
/// nobody reads it. `run` is random per start, so keys of an earlier run (a shared L2) are never
/// read either.
///
/// What a store of an unrelated item does change is the corpus statistics BM25 uses (the item
/// count and the average length): a cached reply's `bm25` and `score` are those of when it ran,
/// at most ``maxAge`` ago, as its recency decay already is, and of at most 1/50 fewer items:
/// once the items inserted since the generation last moved pass a fiftieth of the items there
/// were then, it moves (``CommitObserver/driftShare``). Emptying every cached search on each
/// store made the cache worthless under writes: with a store every 50 searches its hit ratio was
/// 0.279 and it bought nothing (0.98x the searches per second, `scripts/bench-cache.sh`); with
/// per-word moves 0.850 and 3.24x, with the 1/50 bound too 0.797 and 2.24x.
///
/// What is not a write also changes results: scores decay with age, and an item in the results
/// may expire (one that is not in them cannot change them). A cached reply therefore lives at most
/// ``maxAge`` (30 s), and never past the expiry of the first of its hits to expire. Bodies longer
/// than 480 bytes are not cached (the cache's keys are at most 512).
final class SearchCache: Sendable {
    /// The cache namespace.
    static let namespace = "memory-search"
    /// Bodies up to this many bytes are cached.
    static let maxBodyBytes = 480
    /// How long a cached reply lives at most, in milliseconds.
    static let maxAge: Int64 = 30_000

    private let services: PluginServices
    private let run = String(UInt64.random(in: 1...UInt64.max), radix: 36)
    /// Sees every commit and counts the generations.
    private let observer: CommitObserver
    private let binding = Mutex(Binding())
    /// Searches answered from the cache, and cacheable searches that ran on SQLite.
    let hits = Atomic<Int>(0)
    let misses = Atomic<Int>(0)

    /// The cache's table and the namespace id once found; the next time to look again while not.
    private struct Binding {
        var table: ServiceHandle<jamey_cache_v1>?
        var namespace: Int32 = -1
        var nextLookup = ContinuousClock.now
    }

    init(services: PluginServices, store: MemoryStore) {
        self.services = services
        observer = CommitObserver(tail: store.tail)
        store.pool.add(transactionObserver: observer, extent: .observerLifetime)
        store.retrievalNoted.set { [observer] in observer.retrieved($0) }
    }

    /// Every cached search is out of date (the database was replaced).
    func changed() {
        observer.rebase.store(true, ordering: .releasing)
        observer.generation.add(1, ordering: .releasing)
    }

    /// The cache table and namespace, looked up again at most once a second while missing.
    private func bound() -> (jamey_cache_v1, Int32)? {
        binding.withLock { b in
            if let table = b.table { return (table.table, b.namespace) }
            let now = ContinuousClock.now
            guard now >= b.nextLookup else { return nil }
            b.nextLookup = now + .seconds(1)
            guard let handle = try? services.lookup(JAMEY_CACHE_SERVICE, versions: "^1.0", as: jamey_cache_v1.self),
                let lookup = handle.table.namespace_id
            else { return nil }
            let id = Self.namespace.withCString { lookup(handle.table.context, $0, Self.namespace.utf8.count) }
            guard id >= 0 else { return nil }
            b.table = handle
            observer.inUse.store(true, ordering: .relaxed)
            b.namespace = id
            return (handle.table, id)
        }
    }

    /// The key of a search body, or nil when it is not cached (reinforcing, too long, no cache).
    func key(_ request: SearchRequest, payload: [UInt8]) -> String? {
        guard !request.reinforce, payload.count <= Self.maxBodyBytes, bound() != nil,
            let body = String(validating: payload, as: UTF8.self)
        else { return nil }
        let generation = observer.generation.load(ordering: .acquiring)
        let words =
            if let terms = PendingTail.terms(of: request.query), !terms.isEmpty {
                "w\(observer.words(terms))"
            } else {
                "i\(observer.items.load(ordering: .acquiring))"
            }
        return "\(run).\(generation).\(words):" + body
    }

    /// The cached reply body for `key`, or nil.
    func reply(_ key: String) -> [UInt8]? {
        guard let (table, ns) = bound(), let get = table.get else { return nil }
        var found: [UInt8]?
        let status = withUnsafeMutablePointer(to: &found) { box in
            key.withCString { k in
                get(
                    table.context, ns, k, key.utf8.count,
                    { user, value, length in
                        let out = user!.assumingMemoryBound(to: [UInt8]?.self)
                        out.pointee = value.map { Array(UnsafeBufferPointer(start: $0, count: length)) } ?? []
                    }, box)
            }
        }
        if status == JAMEY_CACHE_E_UNAVAILABLE { unbind() }
        guard status == JAMEY_CACHE_FOUND, let found else {
            misses.add(1, ordering: .relaxed)
            return nil
        }
        hits.add(1, ordering: .relaxed)
        return found
    }

    /// Keeps a search's reply body under `key`, until the first of its hits expires at the latest.
    func remember(_ key: String, _ body: [UInt8], hits: [SearchHit], now: Date) {
        guard let (table, ns) = bound(), let put = table.put else { return }
        var ttl = Self.maxAge
        if let first = hits.compactMap(\.item.expiresAt).min() {
            // Compared as a Double first: an expiry read from the file may be any number (1e300
            // made the Int64 conversion stop the process).
            let left = (first.timeIntervalSince(now) * 1000).rounded(.down)
            if left < Double(ttl) { ttl = Int64(max(left, 0)) }
            guard ttl >= 1 else { return }
        }
        let status = key.withCString { k in
            body.withUnsafeBufferPointer { put(table.context, ns, k, key.utf8.count, $0.baseAddress, $0.count, ttl) }
        }
        if status == JAMEY_CACHE_E_UNAVAILABLE { unbind() }
    }

    /// Forgets a table whose cache instance has stopped: the next search looks up the table of
    /// the one that replaced it (a restart, a deploy), at once.
    private func unbind() {
        binding.withLock { b in
            b.table = nil
            b.namespace = -1
            b.nextLookup = ContinuousClock.now
        }
    }
}

/// Counts the commits that could change search replies, before each write returns to its caller
/// (``SearchCache``): `generation` for every change but inserted items, and for inserted items
/// and retrieved ones the counters of their words' slots and `items`.
private final class CommitObserver: TransactionObserver, @unchecked Sendable {
    /// Counters of words (by hash): a few thousand keep unrelated words apart (a store of 30
    /// words moves a given other word's slot with a chance of about 1 in 140).
    static let wordSlots = 4096

    /// Moves of every search: commits that changed items other than by inserting them, inserts
    /// past the drift bound, and ``SearchCache/changed()`` calls (and anything while no cache is bound).
    let generation = Atomic<UInt64>(0)
    /// Commits that inserted items and changed nothing else, and retrievals.
    let items = Atomic<UInt64>(0)
    /// Whether the cache was found (keys are made): until then a commit that inserted items
    /// bumps `generation` instead of counting its words.
    let inUse = Atomic<Bool>(false)
    /// Per slot, the commits that inserted, and the retrievals that retrieved, an item holding a
    /// word of that slot.
    private let slots = Mutex([UInt64](repeating: 0, count: CommitObserver.wordSlots))
    /// The pending items' terms, FTS5's own (an inserted item is pending until the merge, which
    /// runs on the writer too, so never before this observer sees the commit).
    private let tail: PendingTail
    /// Whether the transaction running changed something other than by inserting items (touched
    /// on the writer's queue only).
    private var dirty = false
    /// The items the transaction running inserted (touched on the writer's queue only).
    private var inserted: [Int64] = []
    /// How many items there were at the last bump of `generation` (nil: not read since), and how
    /// many were inserted since (touched on the writer's queue only): inserted items move only
    /// the searches for their words until they add ``driftShare`` of that count, when the
    /// generation moves after all, which bounds how far the statistics of a cached reply's
    /// `bm25()` can lag behind.
    private var base: Int?
    private var insertedSinceBase = 0
    /// Set when the database was replaced: the next commit reads the item count again.
    let rebase = Atomic<Bool>(false)
    /// The share of the item count that inserted items may add before every search moves: 1/50.
    static let driftShare = 50

    init(tail: PendingTail) { self.tail = tail }

    /// The sum of the counters of these terms' slots.
    func words(_ terms: [String]) -> UInt64 {
        slots.withLock { slots in terms.reduce(0) { $0 &+ slots[Self.slot($1)] } }
    }

    private static func slot(_ term: String) -> Int { term.hashValue & (wordSlots - 1) }

    /// The items and their links, which every change of a search's result writes (a store,
    /// update, delete, sweep or consolidation). The rest is derived from them and changes no
    /// result on its own: the outbox, and what the background merge writes (FTS5's tables, impact
    /// postings, the pending log), since pending items are searched, and scored over index and
    /// tail together, before and after their merge. Ignoring merges matters since every store is
    /// merged later: each would otherwise empty the cache twice. Neither does writing noted
    /// retrievals (the access columns): reads showed them from the moment they were noted.
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        if case .update(let table, let columns) = eventKind, table == "items" {
            return !columns.isSubset(of: ["access_count", "last_accessed_at"])
        }
        return eventKind.tableName == "items" || eventKind.tableName == "item_links"
    }

    /// A change GRDB cannot describe (item_links is WITHOUT ROWID): counted as any change.
    func databaseDidChange() {
        dirty = true
        stopObservingDatabaseChangesUntilNextTransaction()
    }

    /// An inserted item is noted; the first other change is enough: no more calls for the rows
    /// of this transaction.
    func databaseDidChange(with event: DatabaseEvent) {
        // Without a cache bound nothing needs the words: the first change is enough, as below.
        if event.kind == .insert && event.tableName == "items" && inUse.load(ordering: .relaxed) {
            inserted.append(event.rowID)
            return
        }
        databaseDidChange()
    }

    func databaseDidCommit(_ db: Database) {
        defer {
            dirty = false
            inserted = []
        }
        guard !dirty else {
            moveAll()
            return
        }
        // Collected only while a cache is bound (``databaseDidChange(with:)``).
        guard !inserted.isEmpty else { return }
        if rebase.exchange(false, ordering: .acquiring) { base = nil }
        if base == nil {
            // The count before this commit's items: what their drift is measured against.
            let now = (try? Int.fetchOne(db, sql: "SELECT CAST(TOTAL(items) AS INTEGER) FROM layer_stats")) ?? 0
            base = now - inserted.count
            insertedSinceBase = 0
        }
        insertedSinceBase += inserted.count
        if insertedSinceBase * Self.driftShare > max(base ?? 0, 1) {
            moveAll()
            return
        }
        // The terms under the tail's lock (which searches take), hashed outside it.
        let documents: [TermCounts]? = tail.read { index in
            var documents: [TermCounts] = []
            documents.reserveCapacity(inserted.count)
            for seq in inserted {
                // An approximate split (no SQLite tokenizer) could miss a word FTS5 matches.
                guard let terms = index.documents[seq], terms.countsExact else { return nil }
                documents.append(terms)
            }
            return documents
        }
        guard let documents else {
            // Not in the tail (never seen), or not split as FTS5 splits: any change.
            moveAll()
            return
        }
        moveWords(documents)
    }

    /// A retrieval of items with these contents was noted (before its reply): it changes their
    /// access counts, shown in replies and counted in ranks, so the searches for their words move.
    func retrieved(_ contents: [String]) {
        let documents = inUse.load(ordering: .relaxed) ? contents.map { TermCounts($0) } : []
        guard !documents.isEmpty, documents.allSatisfy(\.countsExact) else {
            generation.add(1, ordering: .releasing)
            return
        }
        moveWords(documents)
    }

    /// Moves every search, and starts counting inserted items afresh (writer's queue only).
    private func moveAll() {
        generation.add(1, ordering: .releasing)
        base = nil
        insertedSinceBase = 0
    }

    /// Moves the slots of every term of these items, and `items`.
    private func moveWords(_ documents: [TermCounts]) {
        let touched = documents.flatMap { $0.counts.keys.map(Self.slot) }
        slots.withLock { slots in for i in touched { slots[i] &+= 1 } }
        items.add(1, ordering: .releasing)
    }

    func databaseDidRollback(_ db: Database) {
        dirty = false
        inserted = []
    }
}

extension Memory {
    /// `memory.items.search`: from the cache when it has this search (``SearchCache``), else from
    /// SQLite (then kept in the cache).
    func cachedSearch(_ m: Message) async throws -> Outgoing {
        let request = try SearchRequest(m.payload)
        let started = ContinuousClock.now
        let key = searchCache.key(request, payload: m.payload)
        if let key, let body = searchCache.reply(key) {
            metrics.searched(request.filter, since: started)
            return Outgoing(body, contentType: "application/json", headers: ["status": "200"])
        }
        let hits = try await store.search(
            request.query, filter: request.filter, limit: request.limit, reinforce: request.reinforce)
        metrics.searched(request.filter, since: started)
        let reply = Replies.hitsReply(hits)
        // The time left to the first hit's expiry counts from now, when the cache takes it: read
        // before the search (which may merge a backlog first), it let the entry outlive that
        // expiry by the search's own duration.
        if let key { searchCache.remember(key, reply.payload, hits: hits, now: store.clock()) }
        return reply
    }
}
