import Dispatch
import Synchronization

/// A thread-safe cache: `BoundedCache` stripes, each behind its own lock, chosen by key hash, so
/// threads working on different keys rarely wait for each other. Each stripe holds
/// `capacity / stripes` bytes and its own policy and timer wheel; time comes from the clock given
/// at creation (tests pass a manual one).
///
/// A read holds its stripe's lock only to probe the index and note the read in the stripe's read
/// buffer; the policy's bookkeeping for reads (frequency sketch, list moves) runs when a write
/// comes to the stripe, or, when the buffer fills, in a drain on another thread (Caffeine's
/// design). The drain holds the stripe's lock only to move the buffer's reads to the stripe's
/// policy, and replays them under the policy's own lock (`PolicyGate`), which readers do not
/// take. While a full buffer waits for that drain its stripe's reads are not recorded for the
/// policy (`readsDropped`), so readers never wait for the bookkeeping; writes always see every
/// recorded read first.
public final class ConcurrentCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let stripes: [Stripe]
    /// The same stripes, unretained (`stripes` keeps them alive), so a read does not retain and
    /// release one (two atomic operations of the few a read makes).
    nonisolated(unsafe) private let unretained: UnsafeMutablePointer<Unmanaged<Stripe>>
    private let mask: Int
    private let clock: @Sendable () -> UInt64
    /// Whether a drain of the read buffers is scheduled and not finished.
    private let draining = DrainFlag()

    private final class DrainFlag: Sendable {
        let scheduled = Atomic<Bool>(false)
        /// When the last drain finished (CLOCK_MONOTONIC, ns).
        let lastEnd = Atomic<UInt64>(0)
    }

    /// Drains start at most this often (ns): under a flood of reads the drain would otherwise run
    /// all the time on another core, taking the stripes' locks and cache lines from the readers
    /// (at 100k entries that doubled the readers' p50 and tripled their p99 in CacheBench); the
    /// reads that find a full buffer meanwhile are not recorded. At ordinary rates drains are rarer
    /// than this and start at once. 10 ms, not 1: on a busy machine each drain (up to 32 reads per
    /// stripe, about 100 µs of cache misses at 100k entries) tends to take the reader's core, and
    /// at 1 ms one batch of 64 gets in a thousand stalled for about 100 µs (CacheBench at 100k
    /// entries, load 5 on 2 cores: p99.9 of a batch 1.6-1.8 µs per get, against 0.13-0.28 µs at
    /// 10 ms). In a flood of reads without writes the policy then sees about 0.2 % of them
    /// (1.5 % at 1 ms); writes replay the buffers first, so with writes it sees what it did
    /// (CacheBench's Zipf check: same miss ratio as replaying every read).
    static var minimumDrainInterval: UInt64 { 10_000_000 }

    private final class Stripe: Sendable {
        let cache: Mutex<BoundedCache<Key, Value>>
        /// The cache's policy and its lock, for the background replay.
        let gate: PolicyGate
        init(_ cache: sending BoundedCache<Key, Value>) {
            gate = cache.gate
            self.cache = Mutex(cache)
        }
    }

    /// Creates a cache.
    /// - Parameters:
    ///   - capacity: total bytes kept at most (split evenly across stripes).
    ///   - policy: the admission and eviction policy of every stripe.
    ///   - expectedEntries: how many entries typically fit in all (sizes the frequency sketches).
    ///   - stripes: the number of locks, rounded up to a power of two (1 = one lock).
    ///   - tick: expiry resolution in nanoseconds.
    ///   - lossyReads: whether a stripe whose read buffer is full drops reads until a drain on
    ///     another thread has replayed it (true, the default) instead of the read replaying it.
    ///   - clock: the current time in nanoseconds (monotonic).
    public init(
        capacity: Int, policy: PolicyKind = .tinyLFU, expectedEntries: Int? = nil, stripes: Int = 16,
        tick: UInt64 = 1_000_000_000, lossyReads: Bool = true,
        clock: @escaping @Sendable () -> UInt64 = ConcurrentCache.monotonicNow
    ) {
        var n = 1
        while n < max(1, stripes) { n <<= 1 }
        let now = clock()
        let share = max(1, capacity / n)
        let entries = expectedEntries.map { max(1, $0 / n) }
        self.stripes = (0..<n).map { _ in
            Stripe(
                BoundedCache(
                    capacity: share, policy: policy, expectedEntries: entries, tick: tick, now: now,
                    lossyReads: lossyReads))
        }
        mask = n - 1
        unretained = .allocate(capacity: n)
        for (i, stripe) in self.stripes.enumerated() { (unretained + i).initialize(to: .passUnretained(stripe)) }
        self.clock = clock
    }

    /// The bytes one entry may weigh at most (one stripe's share).
    public var maximumEntryWeight: Int { stripes[0].cache.withLock { $0.capacity } }

    /// The stripe of a key's hash (mixed again, so the stripe and the index inside it use
    /// independent bits).
    @inline(__always) private func stripe(_ hash: UInt64) -> Stripe {
        stripes[stripeIndex(hash)]
    }

    @inline(__always) private func stripeIndex(_ hash: UInt64) -> Int {
        var h = hash
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        return Int(truncatingIfNeeded: h >> 40) & mask
    }

    deinit { unretained.deallocate() }

    /// The live value for `key`, recording a hit or a miss.
    public func get(_ key: Key) -> Value? {
        let hash = BoundedCache<Key, Value>.hash(key)
        var full = false
        let value = unretained[stripeIndex(hash)]._withUnsafeGuaranteedRef { stripe in
            stripe.cache.withLock { cache in
                let value = cache.get(key, hash: hash, clock: clock)
                full = cache.readBufferFull
                return value
            }
        }
        if full { scheduleDrain() }
        return value
    }

    /// Replays the stripes' buffered reads into their policies on another thread, unless that is
    /// already under way.
    private func scheduleDrain() {
        guard !draining.scheduled.load(ordering: .relaxed),
            draining.scheduled.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { return }
        let since = Self.preciseNow() &- draining.lastEnd.load(ordering: .relaxed)
        let wait = since < Self.minimumDrainInterval ? Self.minimumDrainInterval - since : 0
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(Int(wait))) { [self] in
            // The stripe's lock only to move its reads; the replay under the policy's lock alone.
            for s in stripes where s.cache.withLock({ $0.handOffReads() }) { s.gate.replayHandedOff() }
            draining.lastEnd.store(Self.preciseNow(), ordering: .relaxed)
            draining.scheduled.store(false, ordering: .releasing)
        }
    }

    /// Replays every stripe's buffered reads into its policy now.
    public func drainReads() {
        for s in stripes { s.cache.withLock { $0.drainReads() } }
    }

    /// The policies' metadata kept apart from the entries (frequency sketches), over all stripes, in bytes.
    public var policySharedBytes: Int { stripes.reduce(0) { $0 + $1.cache.withLock { $0.policySharedBytes } } }

    /// Reads recorded and not yet replayed into the policies, over all stripes.
    public var pendingReads: Int { stripes.reduce(0) { $0 + $1.cache.withLock { $0.pendingReads } } }

    /// Reads not recorded for the policy because their stripe's buffer was full.
    public var readsDropped: Int { stripes.reduce(0) { $0 + $1.cache.withLock { $0.readsDropped } } }

    /// The live value for `key` without recording a read.
    public func peek(_ key: Key) -> Value? {
        let hash = BoundedCache<Key, Value>.hash(key)
        let now = clock()
        return stripe(hash).cache.withLock { $0.peek(key, hash: hash, now: now) }
    }

    /// Stores `value`; see `BoundedCache.put`.
    @discardableResult
    public func put(_ key: Key, _ value: Value, weight: Int, ttl: UInt64? = nil) -> PutOutcome {
        let hash = BoundedCache<Key, Value>.hash(key)
        let now = clock()
        return stripe(hash).cache.withLock { $0.put(key, hash: hash, value, weight: weight, ttl: ttl, now: now) }
    }

    /// Counts `count` accesses of `key` in its stripe's admission sketch; see `BoundedCache.recordAccesses`.
    public func recordAccesses(_ key: Key, count: Int) {
        let hash = BoundedCache<Key, Value>.hash(key)
        stripe(hash).cache.withLock { $0.recordAccesses(hash: hash, count: count) }
    }

    /// Removes `key`; returns whether it was resident.
    @discardableResult
    public func remove(_ key: Key) -> Bool {
        let hash = BoundedCache<Key, Value>.hash(key)
        return stripe(hash).cache.withLock { $0.remove(key, hash: hash) }
    }

    /// Removes every key `matching` accepts, stripe by stripe; returns how many.
    @discardableResult
    public func removeAll(where matching: @Sendable (Key) -> Bool) -> Int {
        var total = 0
        for s in stripes { total += s.cache.withLock { $0.removeAll(where: matching) } }
        return total
    }

    /// Expires what is due in every stripe (reads and writes also do it for their stripe).
    public func expire() {
        let now = clock()
        for s in stripes { s.cache.withLock { $0.expire(now: now) } }
    }

    /// The summed counters of all stripes.
    public var statistics: CacheStatistics {
        stripes.reduce(CacheStatistics()) { sum, s in sum + s.cache.withLock { $0.currentStatistics } }
    }

    /// The resident entries of all stripes.
    public func snapshot() -> [(key: Key, value: Value)] {
        let now = clock()
        return stripes.flatMap { s in s.cache.withLock { $0.snapshot(now: now) } }
    }

    /// A monotonic clock in nanoseconds: the kernel's coarse clock (a few milliseconds of
    /// resolution, read without a system call in a few nanoseconds), ample for TTLs.
    private static func preciseNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    @Sendable public static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
