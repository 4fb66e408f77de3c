import CacheCore
import Dispatch
import Foundation
import JameyPluginKit
import Synchronization

/// One namespace: its L1 (a `ConcurrentCache` bounded in bytes), its share of the L3 store, its
/// origin topic with single-flight loads, and its counters. Thread-safe.
final class CacheNamespace: Sendable {
    /// The configured settings.
    let settings: CacheConfiguration.Namespace
    /// Keyed by bytes (``CacheKey``), as L2 and L3 are.
    let l1: ConcurrentCache<CacheKey, CachedValue>
    private let l2: L2Client?
    private let l3: L3Store?
    let metrics: CacheMetrics
    private let flights = SingleFlight<CachedValue, Mark>()
    /// Puts of keys of one stripe run one at a time (``put(_:_:stripe:)``).
    private let putLocks = (0..<CacheNamespace.putStripes).map { _ in KeyLock() }
    private let loader: (@Sendable (String) async -> Result<[UInt8], CacheError>)?
    /// Bumped by every invalidation (local or from another node), so a load that started before one
    /// does not store its value. A load checks it and stores holding ``storing`` shared, and an
    /// invalidation bumps it holding ``storing`` exclusively, before removing anything: either the
    /// load sees the new number and stores nothing, or its store finished before the bump and the
    /// removal that follows takes it out again. The lock itself is only ever held for a moment, so
    /// reads, which take it to note the number, never wait for a store's writes (a Redis round
    /// trip, an SQLite commit that may wait for another writer).
    /// Puts count per stripe of keys (``putStripes``, as ``putLocks``), so a put marks stale
    /// only the loads and reads of keys in its stripe, not of the whole namespace: with puts and
    /// origin loads side by side, a namespace-wide count left most loads unstored.
    private let generation = Mutex(Generations())

    /// The namespace's count (invalidations, which may take a prefix) and each put stripe's.
    struct Generations: Sendable {
        var all: UInt64 = 0
        var puts = [UInt64](repeating: 0, count: CacheNamespace.putStripes)
        /// Changes from other nodes: of a prefix, and of a key by its put stripe (a put that
        /// sees one arrive while it runs keeps no local copy, ``put(_:_:stripe:)``).
        var remoteAll: UInt64 = 0
        var remote = [UInt64](repeating: 0, count: CacheNamespace.putStripes)

        /// Where a read or load of `stripe` started.
        func mark(_ stripe: Int) -> Mark { Mark(all: all, put: puts[stripe], stripe: stripe) }
    }

    /// A read's or load's starting point: nothing changed its key since while both counts hold.
    struct Mark: Hashable, Sendable {
        let all: UInt64
        let put: UInt64
        /// The key's put stripe (hashed once, when the mark is taken).
        let stripe: Int
    }

    /// Stripes of keys for puts (their locks and counts).
    static let putStripes = 64

    /// The put stripe of `key`.
    static func stripe(_ key: String) -> Int { Int(StableHash.of(key) % UInt64(putStripes)) }

    /// Where a read or load of `key` starts.
    private func mark(_ key: String) -> Mark {
        let stripe = Self.stripe(key)
        return generation.withLock { $0.mark(stripe) }
    }

    /// Whether nothing changed the marked key's stripe or the namespace since `mark` (call it
    /// under the generation lock: `now` is its value).
    private static func unchanged(since mark: Mark, _ now: Generations) -> Bool { now.mark(mark.stripe) == mark }
    /// Held shared by loads while they store, exclusively by invalidations while they bump
    /// ``generation``.
    private let storing = StoreGate()
    /// Reads since the last flush (per key, for L3's read counts) and the access sketch, under one
    /// lock so a read takes it once; untouched without L3.
    private let heat: Mutex<Heat>
    /// Failed loads remembered for `failure_ttl_ms` (none when it is 0, the default).
    private let failures = FailureMemory()
    /// Keys and prefixes whose change did not reach Redis because it was down (``replayMissedL2()``).
    private let missedL2 = Mutex(MissedL2())

    /// Changes Redis missed while down: replayed as invalidations once it answers again.
    struct MissedL2: Sendable {
        var keys: Set<String> = []
        var prefixes: Set<String> = []
        /// More keys were missed than ``limit``: the whole namespace is invalidated instead.
        var overflow = false
        static let limit = 100_000

        var isEmpty: Bool { keys.isEmpty && prefixes.isEmpty && !overflow }

        mutating func note(key: String?, prefix: String?) {
            if let prefix { prefixes.insert(prefix) }
            if let key {
                if keys.count < Self.limit { keys.insert(key) } else { overflow = true }
            }
        }
    }

    /// Notes that a change of `key` or `prefix` did not reach Redis (it was down or answered an
    /// error), by the command's own result: whether Redis is up by now says nothing of it.
    private func noteL2Missed(key: String?, prefix: String?) {
        missedL2.withLock { $0.note(key: key, prefix: prefix) }
    }

    /// Invalidates, through every tier and on every node, what changed while Redis was down: a
    /// put or delete it missed left its old value there, which every node served once it was
    /// back (a deleted key came back on all nodes, for good). Call it once Redis answers again.
    /// A key invalidated here is a miss until written again.
    /// - Returns: how many keys and prefixes were replayed.
    @discardableResult
    func replayMissedL2() -> Int {
        let missed = missedL2.withLock { m -> MissedL2 in
            defer { m = MissedL2() }
            return m
        }
        guard !missed.isEmpty else { return 0 }
        let taken: Int
        if missed.overflow {
            _ = try? invalidate(prefix: "")
            taken = 1
        } else {
            for prefix in missed.prefixes { _ = try? invalidate(prefix: prefix) }
            for key in missed.keys where !missed.prefixes.contains(where: { key.hasPrefix($0) }) { _ = try? invalidate(key: key) }
            taken = missed.prefixes.count + missed.keys.count
        }
        // What failed again was noted again (an invalidation notes what Redis did not take).
        return max(0, taken - missedL2Count)
    }

    /// Keys and prefixes waiting to be replayed into Redis.
    var missedL2Count: Int { missedL2.withLock { $0.overflow ? MissedL2.limit : $0.keys.count + $0.prefixes.count } }
    /// Tells the other nodes that a key (or prefix) changed, so they drop their L1 copies.
    private let announce: Announce?
    /// Publishes a change on the Redis channel: a put (`invalidated` false) or an invalidation.
    typealias Announce = @Sendable (_ namespace: String, _ key: String?, _ prefix: String?, _ invalidated: Bool) -> Void
    /// The keys whose loaded value this node put into L2 lately (``dropLoadedFromL2(key:prefix:)``).
    private let recentLoads = Mutex(RecentLoads())
    /// Publishes puts and invalidations on the bus for the other nodes (nil: `bus_invalidations` off).
    private let feed: BusInvalidations?
    let counters = TierCounters()
    private let sketchRestored = Atomic<Bool>(false)

    /// Per-tier counts for the stats reply.
    final class TierCounters: Sendable {
        let l3Hits = Atomic<Int>(0)
        let l3Misses = Atomic<Int>(0)
        let l2Hits = Atomic<Int>(0)
        let l2Misses = Atomic<Int>(0)
        let l3EvictedSize = Atomic<Int>(0)
        let l3EvictedExpired = Atomic<Int>(0)
        let l3EvictedExplicit = Atomic<Int>(0)
        let loads = Atomic<Int>(0)
        let loadFailures = Atomic<Int>(0)
        /// Loads whose value was over `max_value_bytes` (returned, not kept).
        let loadsTooLarge = Atomic<Int>(0)
        let sharedLoads = Atomic<Int>(0)
        /// Another node's invalidations that deleted keys from L2 again (what a load here put back).
        let l2Redeletes = Atomic<Int>(0)
        let loadNanoseconds = Atomic<Int>(0)
    }

    /// Creates a namespace.
    /// - Parameters:
    ///   - loader: asks the origin for a key's value; nil when the namespace has no origin.
    init(
        settings: CacheConfiguration.Namespace, policy: PolicyKind, l2: L2Client? = nil, l3: L3Store?,
        metrics: CacheMetrics, loader: (@Sendable (String) async -> Result<[UInt8], CacheError>)?,
        announce: Announce? = nil, feed: BusInvalidations? = nil
    ) {
        self.announce = announce
        self.feed = feed
        self.settings = settings
        let largest = CachedValue.weight(
            key: String(repeating: "k", count: CachePlugin.maxKeyBytes), bytes: settings.maxValueBytes)
        var stripes = 16
        while stripes > 1 && settings.maxBytes / stripes < largest { stripes /= 2 }
        l1 = ConcurrentCache(
            capacity: settings.maxBytes, policy: policy, expectedEntries: min(1 << 20, max(64, settings.maxBytes / 256)),
            stripes: stripes, tick: 100_000_000)
        self.l2 = l2
        self.l3 = settings.l3MaxBytes > 0 ? l3 : nil
        heat = Mutex(
            Heat(sketch: FrequencySketch(capacity: self.l3 == nil ? 1 : min(1 << 20, max(1024, settings.maxBytes / 256)))))
        self.metrics = metrics
        self.loader = loader
    }

    var name: String { settings.name }
    var hasL3: Bool { l3 != nil }
    /// Whether values go to Redis (`l2.enabled` and the namespace's `l2`).
    var hasL2: Bool { l2 != nil }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Where a value was found.
    enum Tier: String, Sendable { case l1, l2, l3, origin }

    /// The value of `key` from the first tier that has it, loading it from the origin on a miss.
    /// - Returns: the value and its tier, or nil when no tier and no origin has it.
    /// - Throws: ``CacheError`` when the origin fails or times out (nothing is cached then).
    func get(_ key: String) async throws(CacheError) -> (CachedValue, Tier)? {
        if let found = try getLocalTier(key) { return found }
        return try await load(key)
    }

    /// Whether misses are loaded from an origin.
    var hasOrigin: Bool { loader != nil }

    /// The value of `key` from L1, L2 or L3 and its tier, without asking the origin.
    func getLocalTier(_ key: String) throws(CacheError) -> (CachedValue, Tier)? {
        // The value's own expiry decides too: the table's deadlines run on a coarse clock (a
        // kernel tick late) from a TTL rounded down to the millisecond, so a hit could come up
        // to a tick after `expires_at`.
        if let value = l1.get(CacheKey(key)), value.expiresAt.map({ $0 > Self.nowMs() }) ?? true {
            metrics.l1Hits.increment()
            noteRead(key, hit: true)
            return (value, .l1)
        }
        metrics.l1Misses.increment()
        // A value read from L2 or L3 goes into L1 only if no invalidation began since this
        // point (see `promote`): else a read racing an invalidation could put it back.
        let readAt = mark(key)
        switch readL2(key, readAt: readAt) {
        case .hit(let value):
            noteRead(key, hit: true)
            return (value, .l2)
        case .miss:
            // Redis is the nodes' shared record while it answers: a key it lacks was deleted or
            // replaced elsewhere (or evicted there), and this node's L3 copy is stale. Served, it
            // kept a value every other node had lost (a put racing another node's delete). The
            // copy is removed only when there is one (a read first: a miss stays a read) and no
            // local put of the key came after the Redis read.
            if let l3, (try? l3.get(name, key, now: Self.nowMs())) != nil,
                generation.withLock({ Self.unchanged(since: readAt, $0) })
            {
                _ = try? l3.delete(name, key)
            }
            noteRead(key, hit: false)
            return nil
        case .unavailable:
            break
        }
        if let value = try readL3(key, readAt: readAt) {
            noteRead(key, hit: true)
            return (value, .l3)
        }
        noteRead(key, hit: false)
        return nil
    }

    /// Loads `key` from the origin (one load per key at a time), storing it unless invalidated meanwhile.
    /// - Returns: nil when the namespace has no origin.
    func load(_ key: String) async throws(CacheError) -> (CachedValue, Tier)? {
        guard let loader else { return nil }
        if let remembered = failures.remembered(key, now: Self.nowMs()) {
            metrics.originMisses.increment()
            throw remembered
        }
        let started = mark(key)
        let (result, shared) = await flights.run(key, generation: started) { [self] in
            let t0 = DispatchTime.now()
            let loaded = await loader(key)
            let elapsed = Int(DispatchTime.now().uptimeNanoseconds - t0.uptimeNanoseconds)
            counters.loads.add(1, ordering: .relaxed)
            counters.loadNanoseconds.add(elapsed, ordering: .relaxed)
            metrics.loadDuration.recordNanoseconds(Int64(elapsed))
            switch loaded {
            case .success(let bytes):
                metrics.loadsOK.increment()
                let value = CachedValue(bytes: bytes, expiresAt: expiry(ttlMs: nil))
                // An invalidation while the load ran wins: the value is returned, not stored.
                let storeUnlessStale: @Sendable () -> Void = { [self] in
                    storing.shared {
                        if generation.withLock({ Self.unchanged(since: started, $0) }) {
                            try? store(key, value, loaded: true)
                        }
                    }
                }
                // A value over `max_value_bytes` is returned and not kept: a put of it is refused,
                // and the bound holds for what the origin loads too.
                if bytes.count > settings.maxValueBytes {
                    metrics.loadsTooLarge.increment()
                    counters.loadsTooLarge.add(1, ordering: .relaxed)
                    return .success(value)
                }
                // Writing L2 (a Redis round trip) or L3 (a SQLite commit, which may wait for
                // another writer) blocks: on a thread of its own, not one of the shared pool's.
                // An L1-only namespace stores in memory at once, without a thread's start.
                if l2 == nil && l3 == nil {
                    storeUnlessStale()
                } else {
                    await onOwnThread(named: "cache-load-store", storeUnlessStale)
                }
                return .success(value)
            case .failure(let error):
                metrics.loadsFailed.increment()
                counters.loadFailures.add(1, ordering: .relaxed)
                if settings.failureTtlMs > 0 {
                    generation.withLock { now in
                        if Self.unchanged(since: started, now) {
                            failures.remember(key, error, until: Self.nowMs() + Int64(settings.failureTtlMs))
                        }
                    }
                }
                return .failure(error)
            }
        }
        if shared {
            counters.sharedLoads.add(1, ordering: .relaxed)
            metrics.loadsShared.increment()
        }
        switch result {
        case .success(let value):
            metrics.originHits.increment()
            return (value, .origin)
        case .failure(let error):
            metrics.originMisses.increment()
            throw error
        }
    }

    /// The value of `key` from L1 or L3, without asking the origin (the service table's read).
    func getLocal(_ key: String) throws(CacheError) -> CachedValue? {
        try getLocalTier(key)?.0
    }

    /// What L2 said of a key.
    private enum L2Read {
        /// Its value (copied into L1).
        case hit(CachedValue)
        /// Redis answered without it.
        case miss
        /// No L2, or Redis is down.
        case unavailable
    }

    /// L2's value of `key` (copied into L1), or why there is none.
    private func readL2(_ key: String, readAt: Mark) -> L2Read {
        guard let l2 else { return .unavailable }
        let (value, up) = l2.get(name, key)
        guard up else { return .unavailable }
        guard let value else {
            counters.l2Misses.add(1, ordering: .relaxed)
            metrics.l2Misses.increment()
            return .miss
        }
        counters.l2Hits.add(1, ordering: .relaxed)
        metrics.l2Hits.increment()
        promote(key, value, readAt: readAt)
        return .hit(value)
    }

    private func readL3(_ key: String, readAt: Mark) throws(CacheError) -> CachedValue? {
        guard let l3 else { return nil }
        let row: L3Store.Row?
        do { row = try l3.get(name, key, now: Self.nowMs()) } catch { throw .storage("L3 read failed", error) }
        guard let row else {
            counters.l3Misses.add(1, ordering: .relaxed)
            metrics.l3Misses.increment()
            return nil
        }
        counters.l3Hits.add(1, ordering: .relaxed)
        metrics.l3Hits.increment()
        let value = CachedValue(bytes: row.value, expiresAt: row.expiresAt)
        promote(key, value, readAt: readAt)
        return value
    }

    /// The expiry of a value put now with `ttlMs` (the namespace default when nil; 0 = none).
    func expiry(ttlMs: Int?) -> Int64? {
        let ttl = ttlMs ?? settings.defaultTtlMs
        return ttl > 0 ? Self.nowMs() + Int64(ttl) : nil
    }

    /// Stores a value in L1, L2 and L3.
    /// - Parameter loaded: the value came from the origin: L2 takes it only when it has no value
    ///   (a newer put from another node wins) and the other nodes are not told over the bus.
    /// - Throws: ``CacheError`` when L3 cannot be written.
    func store(_ key: String, _ value: CachedValue, loaded: Bool = false) throws(CacheError) {
        guard loaded else {
            let stripe = Self.stripe(key)
            try putLocks[stripe].withLock { () throws(CacheError) in
                try put(key, value, stripe: stripe)
            }
            return
        }
        failures.forget(key: key)
        putL1(key, value)
        if let l2, l2.set(name, key, value, onlyIfAbsent: true) {
            recentLoads.withLock { $0.note(key, now: Self.uptimeMs()) }
            announce?(name, key, nil, false)
        }
        try writeL3(key, value)
    }

    /// Writes a value to L3 (when the namespace has one), counting what its bound evicted.
    private func writeL3(_ key: String, _ value: CachedValue) throws(CacheError) {
        guard let l3 else { return }
        do {
            let evicted = try l3.put(
                name, key, value.bytes, expiresAt: value.expiresAt, maxBytes: settings.l3MaxBytes, now: Self.nowMs())
            counters.l3EvictedSize.add(evicted, ordering: .relaxed)
            metrics.l3Evicted("size", evicted)
        } catch {
            throw .storage("L3 write failed", error)
        }
    }

    /// A put (``store(_:_:loaded:)`` of a caller's value), ordered as an invalidation is: it
    /// marks loads stale first (an origin load that began before it does not store its older
    /// value over it), writes L2 and L3, and L1 last under the generation lock with a bump, so a
    /// read of L2 or L3 that began before cannot copy the older value into L1 afterwards. Before,
    /// a put bumped nothing: a read begun before it copied the old value into L1 after it, and a
    /// load begun before it stored the origin's value over it, each served until its TTL. Puts of
    /// one key run one at a time (``putLocks``): two at once could leave L1 with one value and
    /// L2 and L3 with the other.
    ///
    /// Another node's change of the key that arrives while the put runs (between its L2 write and
    /// its L1 write) leaves no local copy: it may be ordered after this put in L2, and the put
    /// then stored over it here (a put on one node racing a delete on another left the put's
    /// value in one node's L1 and L3 for good, 33 of 150 rounds in the multi-node audit, while
    /// Redis and the other nodes had none). Without the copy, reads here go to L2 as everywhere.
    private func put(_ key: String, _ value: CachedValue, stripe: Int) throws(CacheError) {
        let remoteAtStart = storing.exclusive {
            generation.withLock { now in
                now.puts[stripe] &+= 1
                return (now.remoteAll, now.remote[stripe])
            }
        }
        failures.forget(key: key)
        if let l2 {
            if l2.set(name, key, value, onlyIfAbsent: false) {
                announce?(name, key, nil, false)
            } else {
                noteL2Missed(key: key, prefix: nil)
            }
        } else {
            // Values stay on the node, but a put still drops the other nodes' copies.
            announce?(name, key, nil, false)
        }
        feed?.announce(name, .put, key: key, prefix: nil)
        do { try writeL3(key, value) } catch {
            generation.withLock { now in
                now.puts[stripe] &+= 1
                _ = l1.remove(CacheKey(key))
            }
            throw error
        }
        let overtaken = generation.withLock { now in
            now.puts[stripe] &+= 1
            guard (now.remoteAll, now.remote[stripe]) == remoteAtStart else {
                _ = l1.remove(CacheKey(key))
                return true
            }
            putL1(key, value)
            return false
        }
        if overtaken, let l3 { _ = try? l3.delete(name, key) }
    }

    /// Notes a change another node made, of `key` or of keys starting with `prefix`.
    private func noteRemote(key: String?, prefix: String?) {
        generation.withLock { now in
            if let key { now.remote[Self.stripe(key)] &+= 1 }
            if prefix != nil { now.remoteAll &+= 1 }
        }
    }

    /// Bumps ``generation`` once every store in progress has finished, so no load that started
    /// before stores its value afterwards (the first step of every invalidation).
    private func markLoadsStale() {
        storing.exclusive { generation.withLock { $0.all &+= 1 } }
    }

    /// Copies a value read from L2 or L3 into L1, unless an invalidation began after `readAt`.
    /// Every invalidation clears L1 last, under the generation lock and with a second bump (see
    /// `clearL1`), so a value read before the other tiers were cleared either lands in L1 before
    /// that clearing (and is removed by it) or is refused here.
    private func promote(_ key: String, _ value: CachedValue, readAt: Mark) {
        generation.withLock { now in
            if Self.unchanged(since: readAt, now) { putL1(key, value) }
        }
    }

    /// Clears L1 after the other tiers: under the generation lock, with a second bump, so that no
    /// read of L2 or L3 made before their clearing can copy its value back afterwards.
    private func clearL1<T>(_ body: () -> T) -> T {
        generation.withLock { now in
            now.all &+= 1
            return body()
        }
    }

    private func putL1(_ key: String, _ value: CachedValue) {
        var ttl: UInt64?
        if let expiresAt = value.expiresAt {
            // At most the longest TTL a put may give: an expiry read from Redis or L3 is data,
            // and one near Int64.max made the nanoseconds overflow and stopped the process.
            let now = Self.nowMs()
            // Expired on its way here: no copy, and none of the value before it either (a put
            // with a TTL shorter than its own writes left the old value in L1).
            guard expiresAt > now else {
                _ = l1.remove(CacheKey(key))
                return
            }
            ttl = UInt64(min(expiresAt - now, Int64(CachePlugin.maxTTLMs))) * 1_000_000
        }
        l1.put(CacheKey(key), value, weight: CachedValue.weight(key: key, bytes: value.bytes.count), ttl: ttl)
    }

    /// Removes one key from every tier; returns whether any tier had it.
    /// Runs as puts of the key do, one at a time with them (``putLocks``): a put only checked
    /// other nodes' changes, so an invalidation between its L3 write and its L1 write left its
    /// value in L1 after the invalidation returned, while L2 and L3 had none.
    func invalidate(key: String) throws(CacheError) -> Bool {
        try putLocks[Self.stripe(key)].withLock { () throws(CacheError) -> Bool in try invalidateUnlocked(key: key) }
    }

    private func invalidateUnlocked(key: String) throws(CacheError) -> Bool {
        markLoadsStale()
        feed?.announce(name, .invalidate, key: key, prefix: nil)
        var found = false
        if let l2 {
            if let had = l2.delete(name, key) { found = had || found } else { noteL2Missed(key: key, prefix: nil) }
        }
        announce?(name, key, nil, true)
        if let l3 {
            var deleted = false
            do { deleted = try l3.delete(name, key) } catch { throw .storage("L3 delete failed", error) }
            counters.l3EvictedExplicit.add(deleted ? 1 : 0, ordering: .relaxed)
            found = deleted || found
        }
        found = clearL1 { l1.remove(CacheKey(key)) } || found
        heat.withLock { _ = $0.hits.removeValue(forKey: CacheKey(key)) }
        failures.forget(key: key)
        return found
    }

    /// Removes every key starting with `prefix` from every tier; returns how many entries went.
    /// Unlike a key's, it does not run under the put locks (every stripe's would hold every put
    /// for the whole Redis scan), nor count as a change for puts running (that made every put of
    /// any key meanwhile drop its L1 and L3 copies, the value lost with L2 off): a put of a key
    /// it covers that runs alongside may keep its local copy (see README, Caching).
    func invalidate(prefix: String) throws(CacheError) -> Int {
        markLoadsStale()
        feed?.announce(name, .invalidate, key: nil, prefix: prefix)
        var removed = 0
        if let l2 {
            if let n = l2.delete(name, prefix: prefix) {
                removed = max(removed, n)
            } else {
                noteL2Missed(key: nil, prefix: prefix)
            }
        }
        announce?(name, nil, prefix, true)
        if let l3 {
            do {
                let n = try l3.delete(name, prefix: prefix)
                counters.l3EvictedExplicit.add(n, ordering: .relaxed)
                metrics.l3Evicted("explicit", n)
                removed = max(removed, n)
            } catch {
                throw .storage("L3 delete failed", error)
            }
        }
        removed = max(removed, clearL1 { l1.removeAll { $0.hasPrefix(prefix) } })
        heat.withLock { h in h.hits = h.hits.filter { !$0.key.hasPrefix(prefix) } }
        failures.forget(prefix: prefix)
        return removed
    }

    /// Drops a key, or every key with a prefix, from this node's L1 and L3 (another node changed
    /// it, as Redis' channel says); a load running here will not store its value. L3 kept the
    /// old value, served once Redis was down or lacked the key. For an invalidation
    /// (`invalidated`), what a load of this node put back into L2 goes too.
    func dropLocal(key: String?, prefix: String?, invalidated: Bool = false) {
        markLoadsStale()
        noteRemote(key: key, prefix: prefix)
        if invalidated { dropLoadedFromL2(key: key, prefix: prefix) }
        if let key {
            if let l3, let n = try? l3.delete(name, key), n { counters.l3EvictedExplicit.add(1, ordering: .relaxed) }
            clearL1 { _ = l1.remove(CacheKey(key)) }
            failures.forget(key: key)
        }
        if let prefix {
            if let l3, let n = try? l3.delete(name, prefix: prefix) {
                counters.l3EvictedExplicit.add(n, ordering: .relaxed)
                metrics.l3Evicted("explicit", n)
            }
            clearL1 { _ = l1.removeAll { $0.hasPrefix(prefix) } }
            failures.forget(prefix: prefix)
        }
    }

    /// Deletes from L2 again what a load of this node stored there that another node's
    /// invalidation of `key` or `prefix` covers. Such a load read the origin before the change and
    /// may have stored its value after the other node's delete (a load that has not stored yet
    /// never will: ``markLoadsStale()`` came first). Only keys this node's loads put in L2 lately
    /// (``RecentLoads``) are deleted, not the whole prefix again: that was a `SCAN` of all of
    /// Redis on every node for each prefix invalidation. When the record overflowed, everything
    /// the invalidation covers is deleted, as before.
    private func dropLoadedFromL2(key: String?, prefix: String?) {
        guard let l2 else { return }
        let now = Self.uptimeMs()
        guard let keys = recentLoads.withLock({ $0.matching(key: key, prefix: prefix, now: now) }) else {
            counters.l2Redeletes.add(1, ordering: .relaxed)
            metrics.l2DeletedAgain.increment()
            if let key { _ = l2.delete(name, key) }
            if let prefix { _ = l2.delete(name, prefix: prefix) }
            return
        }
        guard !keys.isEmpty else { return }
        counters.l2Redeletes.add(1, ordering: .relaxed)
        metrics.l2DeletedAgain.increment()
        _ = l2.delete(name, keys: keys.map(\.text).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
    }

    /// Milliseconds on the monotonic clock (a wall clock set back would keep ``recentLoads``'s
    /// keys too long, one set forward forget them too soon).
    static func uptimeMs() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }

    /// Applies another node's put or invalidation (from the bus): the key or prefix leaves L1 and
    /// L3 (and, for an invalidation, what a load of this node put back into L2), and a load
    /// running here will not store its value. After lost events the whole namespace leaves L1 and
    /// L3.
    func apply(_ event: BusInvalidations.Event) {
        markLoadsStale()
        let prefix = event.afterGap ? "" : event.prefix
        let key = event.afterGap ? nil : event.key
        noteRemote(key: key, prefix: prefix)
        if let key {
            failures.forget(key: key)
            heat.withLock { _ = $0.hits.removeValue(forKey: CacheKey(key)) }
            if event.kind == .invalidate { dropLoadedFromL2(key: key, prefix: nil) }
            if let l3, let n = try? l3.delete(name, key), n { counters.l3EvictedExplicit.add(1, ordering: .relaxed) }
            clearL1 { _ = l1.remove(CacheKey(key)) }
        }
        if let prefix {
            failures.forget(prefix: prefix)
            heat.withLock { h in h.hits = h.hits.filter { !$0.key.hasPrefix(prefix) } }
            if event.kind == .invalidate, !event.afterGap { dropLoadedFromL2(key: nil, prefix: prefix) }
            if let l3, let n = try? l3.delete(name, prefix: prefix) {
                counters.l3EvictedExplicit.add(n, ordering: .relaxed)
                metrics.l3Evicted("explicit", n)
            }
            clearL1 { _ = l1.removeAll { $0.hasPrefix(prefix) } }
        }
    }

    /// Copies L3's `warmEntries` hottest live entries into L1; returns how many. Hottest means
    /// most often read recently by the access sketch (restored from L3 at start, so it remembers
    /// the last run), among L3's most-read entries; L3's read counts break ties. Each warmed key's
    /// sketch estimate is also counted in the L1 admission sketch, so keys that were hot before a
    /// restart are admitted as hot.
    ///
    /// With L2 up, each warmed key's value is Redis's, not the L3 copy: that copy may predate a
    /// change another node made while this one was down, and warmed as it was it was served from
    /// L1 until its TTL (the multi-node audit). A key Redis lacks is not warmed and its L3 copy
    /// goes (as a read's L2 miss does); a key whose copy differs has it replaced. With Redis down,
    /// the L3 copy is warmed, as a read would serve it.
    func warmFromL3() throws(CacheError) -> Int {
        guard let l3, settings.warmEntries > 0 else { return 0 }
        let now = Self.nowMs()
        let keys: [String]
        do { keys = try l3.hottestKeys(name, limit: min(100_000, settings.warmEntries * 10), now: now) } catch {
            throw .storage("L3 read failed", error)
        }
        let frequencies = heat.withLock { h in keys.map { h.sketch.frequency(StableHash.of($0)) } }
        let ranked = keys.indices.sorted { a, b in
            frequencies[a] != frequencies[b] ? frequencies[a] > frequencies[b] : a < b
        }
        var warmed = 0
        // Coldest first, so the admission policy has seen the hottest last and most.
        for i in ranked.prefix(settings.warmEntries).reversed() {
            l1.recordAccesses(CacheKey(keys[i]), count: frequencies[i])
            let readAt = mark(keys[i])
            guard let row = try? l3.get(name, keys[i], now: now) else { continue }
            let copy = CachedValue(bytes: row.value, expiresAt: row.expiresAt)
            if let l2 {
                let (current, up) = l2.get(name, keys[i])
                if up {
                    if let current {
                        promote(keys[i], current, readAt: readAt)
                        warmed += 1
                    }
                    reconcileL3(keys[i], copy: copy, with: current, readAt: readAt)
                    continue
                }
            }
            promote(keys[i], copy, readAt: readAt)
            warmed += 1
        }
        return warmed
    }

    /// Makes L3's `copy` of `key` Redis's `current` value (none: the copy goes), unless the key
    /// changed here since `readAt` (a put or invalidation since then wrote L3 itself).
    private func reconcileL3(_ key: String, copy: CachedValue, with current: CachedValue?, readAt: Mark) {
        guard let l3, current != copy else { return }
        generation.withLock { now in
            guard Self.unchanged(since: readAt, now) else { return }
            if let current {
                try? writeL3(key, current)
            } else {
                _ = try? l3.delete(name, key)
            }
        }
    }

    /// Reads of this namespace since the last flush, and its access sketch.
    struct Heat: Sendable {
        var hits: [CacheKey: Int] = [:]
        /// Every read's key by stable hash (``StableHash``), saved in L3 and restored at start, so
        /// warming knows what was hot before a restart.
        var sketch: FrequencySketch
        /// Reads counted in the sketch since it was last saved (or restored).
        var unsaved = 0
    }

    /// Counts one read of `key`: in the access sketch, and in the read counts when a tier had it.
    private func noteRead(_ key: String, hit: Bool) {
        guard l3 != nil else { return }
        let hash = StableHash.of(key)
        heat.withLock { h in
            h.sketch.increment(hash)
            h.unsaved &+= 1
            if hit, h.hits.count < 100_000 || h.hits[CacheKey(key)] != nil { h.hits[CacheKey(key), default: 0] += 1 }
        }
    }

    /// Writes the access sketch to L3 (at stop, on snapshot and every `sketch_save_interval_s`).
    ///
    /// Only when reads changed it since the last save: an idle node rewrote the default
    /// namespace's 2 MiB sketch every minute, about 4 GB a day written for nothing (a soak run).
    func saveSketch() {
        guard let l3 else { return }
        let data: [UInt8]? = heat.withLock { h in
            guard h.unsaved > 0 else { return nil }
            h.unsaved = 0
            return h.sketch.serialized()
        }
        guard let data else { return }
        if (try? l3.saveSketch(name, data, now: Self.nowMs())) == nil {
            heat.withLock { $0.unsaved &+= 1 }  // try again next time
        }
    }

    /// Reads the access sketch L3 holds from the last run (one of another size is ignored).
    /// - Returns: whether a sketch was restored.
    @discardableResult
    func restoreSketch() -> Bool {
        guard let l3, let saved = try? l3.sketch(name) else { return false }
        let restored = heat.withLock { $0.sketch.restore(saved.data) }
        sketchRestored.store(restored, ordering: .relaxed)
        return restored
    }

    /// Whether this run's access sketch started from the one saved by the last run.
    var hasRestoredSketch: Bool { sketchRestored.load(ordering: .relaxed) }

    /// Writes the read counts gathered since the last flush to L3 (they rank entries for warming).
    func flushHits() {
        guard let l3 else { return }
        let hits = heat.withLock { h in
            defer { h.hits.removeAll() }
            return h.hits
        }
        try? l3.addHits(name, hits)
    }

    /// Drops expired L3 entries counted by the caller's purge.
    func countExpiredL3(_ n: Int) {
        counters.l3EvictedExpired.add(n, ordering: .relaxed)
        metrics.l3Evicted("expired", n)
    }

    /// The reads so far and the ones each tier answered, with L1's counts `l1`.
    func reads(l1 s: CacheStatistics) -> CacheMetrics.Reads {
        let c = counters
        let l3Hits = c.l3Hits.load(ordering: .relaxed)
        let loads = c.loads.load(ordering: .relaxed)
        let served =
            s.hits + c.l2Hits.load(ordering: .relaxed) + l3Hits + (loads - c.loadFailures.load(ordering: .relaxed))
            + c.sharedLoads.load(ordering: .relaxed)
        return CacheMetrics.Reads(
            l1Hits: s.hits, l1Reads: s.hits + s.misses, l3Hits: l3Hits, l3Reads: l3Hits + c.l3Misses.load(ordering: .relaxed),
            served: served, reads: s.hits + s.misses)
    }

    /// Publishes the namespace's metrics: L1's counts, the tiers' sizes and the hit ratios.
    /// - Returns: L1's counts and the reads they were published from.
    @discardableResult
    func syncMetrics() -> (l1: CacheStatistics, reads: CacheMetrics.Reads) {
        let s = l1.statistics
        metrics.sync(l1: s, l3: l3Size())
        let read = reads(l1: s)
        metrics.syncRatios(read)
        return (s, read)
    }

    /// L3's entry count and bytes (nil without L3).
    func l3Size() -> (entries: Int, bytes: Int)? {
        guard let l3 else { return nil }
        return try? l3.size(name)
    }

    /// Callers waiting on another caller's origin load right now.
    var waitingOnLoads: Int { flights.waiting }
}

/// A lock that may be held across a tier's write.
final class KeyLock: Sendable {
    private let mutex = Mutex(())

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try mutex.withLock { _ throws(E) in try body() }
    }
}
