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
/// byte for byte) run after the last write and the last retrieval. The body is the key as it came: sorting its
/// members first would let bodies that differ only in order or spacing share an entry, but cost
/// about 19 µs a search (JSONSerialization twice), as much as a hit otherwise costs.
///
/// **Invalidation by generation.** The key of a search is `<run>.<generation>:<body>`.
/// Every committed write to the database — store, update, delete, consolidation, the expiry sweep,
/// whatever path it takes — bumps the generation (a GRDB transaction observer sees the commit
/// before the write returns to its caller), a retrieval (a get, a reinforcing search) bumps a
/// second one when it is noted (``Reinforcements``), and a restore bumps it too; so every
/// search after a write uses keys nothing was stored under, and entries of older generations are
/// never read again and leave the cache by eviction or TTL. A search that ran before a write and
/// stores its result after it stores it under the old generation, where nobody reads it. `run` is
/// random per start, so keys of an earlier run (a shared L2) are never read either.
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
    /// Sees every commit and counts the generation.
    private let observer = CommitObserver()
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

    /// Retrievals noted and not yet written: they change replies too (access counts, ranks).
    private let reinforcements: Reinforcements

    init(services: PluginServices, pool: DatabasePool, reinforcements: Reinforcements) {
        self.services = services
        self.reinforcements = reinforcements
        pool.add(transactionObserver: observer, extent: .observerLifetime)
    }

    /// Every cached search is out of date (the database was replaced).
    func changed() { observer.generation.add(1, ordering: .releasing) }

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
            b.namespace = id
            return (handle.table, id)
        }
    }

    /// The key of a search body, or nil when it is not cached (reinforcing, too long, no cache).
    func key(_ request: SearchRequest, payload: [UInt8]) -> String? {
        guard !request.reinforce, payload.count <= Self.maxBodyBytes, bound() != nil,
            let body = String(validating: payload, as: UTF8.self)
        else { return nil }
        let retrievals = reinforcements.generation.load(ordering: .acquiring)
        return "\(run).\(observer.generation.load(ordering: .acquiring)).\(retrievals):" + body
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
            ttl = min(ttl, Int64((first.timeIntervalSince(now) * 1000).rounded(.down)))
            guard ttl >= 1 else { return }
        }
        _ = key.withCString { k in
            body.withUnsafeBufferPointer { put(table.context, ns, k, key.utf8.count, $0.baseAddress, $0.count, ttl) }
        }
    }
}

/// Bumps `generation` after every committed transaction that changed the database, before the
/// write returns to its caller.
private final class CommitObserver: TransactionObserver, @unchecked Sendable {
    /// The number of such commits (and of ``SearchCache/changed()`` calls).
    let generation = Atomic<UInt64>(0)
    /// Whether the transaction running changed something (touched on the writer's queue only).
    private var dirty = false

    /// The items and their links, which every change of a search's result writes (a store,
    /// update, delete, reinforcement, sweep or consolidation). The rest is derived from them and
    /// changes no result on its own: the outbox, and what the background merge writes (FTS5's
    /// tables, impact postings, the pending log), since pending items are searched, and scored
    /// over index and tail together, before and after their merge. Ignoring merges matters since
    /// every store is merged later: each would otherwise empty the cache twice.
    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool {
        eventKind.tableName == "items" || eventKind.tableName == "item_links"
    }
    func databaseDidChange() { dirty = true }

    /// The first change is enough: no more calls for the rows of this transaction.
    func databaseDidChange(with event: DatabaseEvent) {
        dirty = true
        stopObservingDatabaseChangesUntilNextTransaction()
    }

    func databaseDidCommit(_ db: Database) {
        if dirty { generation.add(1, ordering: .releasing) }
        dirty = false
    }

    func databaseDidRollback(_ db: Database) { dirty = false }
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
        let now = store.clock()
        let hits = try await store.search(
            request.query, filter: request.filter, limit: request.limit, reinforce: request.reinforce)
        metrics.searched(request.filter, since: started)
        let reply = Replies.json(Replies.hits(hits))
        if let key { searchCache.remember(key, reply.payload, hits: hits, now: now) }
        return reply
    }
}
