/// A single-threaded cache bounded by weight, with per-entry TTL on a timer wheel and a pluggable
/// admission and eviction policy. Times are nanoseconds on the caller's clock, passed to every
/// call, so tests drive time by hand.
///
/// A read hashes its key once (`hash(_:)`, or the caller passes the hash it already has) and probes
/// an open-addressed table that holds each entry's key, value and deadline in its bucket, so a hit
/// usually touches one record; the policy learns of reads from a small buffer replayed in
/// order before anything that changes or consults the policy (a write, a removal, an expiry, a
/// warming count) and whenever it fills, so the policy sees the same sequence of calls as if each
/// read had told it at once, and its bookkeeping runs in batches off the hit path. With
/// `lossyReads` a full buffer is not replayed by the read that fills it: later reads are not
/// recorded (`readsDropped`) until the owner calls `drainReads()` (`ConcurrentCache` does it on
/// another thread, as Caffeine does).
///
/// Not thread-safe: `ConcurrentCache` puts stripes of it behind locks.
public final class BoundedCache<Key: Hashable, Value> {
    /// The open-addressed table (linear probing, backward-shift deletion, at most seven eighths
    /// full: the bucket tags keep probes cheap, and a smaller table misses the cache and the TLB
    /// less — 100k entries: p50 about 50 ns against 110-150 ns at three quarters) of the resident
    /// entries.
    private var table: [Bucket]
    private var mask: Int
    private var resident = 0
    /// Each slot's bucket in `table` (-1 for a free slot): the policy and the wheel know entries by
    /// slot, which stays the same while the entry moves between buckets.
    private var buckets: [Int32] = []
    private var free: [Int32] = []
    private let policy: any EvictionPolicy
    private var wheel: TimerWheel
    private var evicted: [Int32] = []
    /// Reads the policy has not been told of yet, oldest first (`pending` of them).
    private let reads: UnsafeMutablePointer<PolicyRead>
    private var pending = 0
    /// Whether a full read buffer drops reads instead of being replayed by the read that fills it.
    public let lossyReads: Bool
    /// Reads not recorded for the policy because the buffer was full (`lossyReads` only).
    public private(set) var readsDropped = 0
    /// The counters so far.
    public private(set) var statistics = CacheStatistics()

    /// How many reads wait at most before the policy is told of them.
    public static var readBufferSize: Int { 32 }

    /// How many reads wait in the buffer for the policy.
    public var pendingReads: Int { pending }

    /// Whether the read buffer is full (with `lossyReads`, reads are dropped until `drainReads()`).
    public var readBufferFull: Bool { pending == Self.readBufferSize }

    /// Creates a cache.
    /// - Parameters:
    ///   - capacity: the total weight (bytes) kept at most.
    ///   - policy: the admission and eviction policy.
    ///   - expectedEntries: how many entries typically fit (sizes a frequency sketch; default `capacity`).
    ///   - tick: the expiry resolution in nanoseconds (entries expire at most one tick late).
    ///   - now: the current time.
    ///   - lossyReads: whether a full read buffer drops reads until `drainReads()` (see above).
    public convenience init(
        capacity: Int, policy: PolicyKind = .tinyLFU, expectedEntries: Int? = nil, tick: UInt64 = 1_000_000_000,
        now: UInt64 = 0, lossyReads: Bool = false
    ) {
        self.init(
            policy: policy.make(capacity: capacity, expectedEntries: expectedEntries), tick: tick, now: now,
            lossyReads: lossyReads)
    }

    /// Creates a cache over a policy made elsewhere (tuned parameters, tests).
    public init(policy: any EvictionPolicy, tick: UInt64 = 1_000_000_000, now: UInt64 = 0, lossyReads: Bool = false) {
        self.policy = policy
        self.lossyReads = lossyReads
        wheel = TimerWheel(tick: tick, now: now)
        table = [Bucket](repeating: Bucket(), count: 16)
        mask = 15
        reads = .allocate(capacity: Self.readBufferSize)
    }

    deinit { reads.deallocate() }

    /// The weight kept at most.
    public var capacity: Int { policy.capacity }
    /// The number of resident entries.
    public var count: Int { resident }
    /// Per-entry policy metadata in bytes.
    public var policyBytesPerEntry: Int { policy.bytesPerEntry }

    /// One bucket of the table.
    private struct Bucket {
        /// The low 32 bits of the key's hash (which also choose its home bucket) above slot + 1;
        /// 0 when the bucket is empty.
        var tagAndSlot: UInt64 = 0
        /// When it expires (caller's clock), 0 for never.
        var deadline: UInt64 = 0
        var key: Key?
        var value: Value?

        @inline(__always) var slot: Int32 { Int32(truncatingIfNeeded: tagAndSlot & 0xFFFF_FFFF) - 1 }
    }

    /// The hash the index and the policy use for `key` (`ConcurrentCache` computes it once per
    /// call and passes it on).
    @inline(__always) public static func hash(_ key: Key) -> UInt64 { UInt64(bitPattern: Int64(key.hashValue)) }

    /// Returns the live value for `key` and records the read, or nil (a miss).
    public func get(_ key: Key, now: UInt64) -> Value? { get(key, hash: Self.hash(key), now: now) }

    /// Returns the live value for `key`, whose `hash(_:)` is `hash`, and records the read, or nil.
    @inline(__always)
    public func get(_ key: Key, hash: UInt64, now: UInt64) -> Value? {
        if wheel.isDue(now) { expire(now: now) }
        let b = lookup(key, hash: hash)
        guard b >= 0 else {
            statistics.misses += 1
            record(PolicyRead(slot: -1, hash: hash))
            return nil
        }
        let slot = table[b].slot
        let deadline = table[b].deadline
        if deadline != 0, deadline <= now {
            drainReads()
            drop(slot)
            statistics.evictionsExpired += 1
            statistics.misses += 1
            policy.miss(hash: hash)
            return nil
        }
        statistics.hits += 1
        record(PolicyRead(slot: slot, hash: hash))
        return table[b].value
    }

    /// Returns the live value for `key` without recording a read.
    public func peek(_ key: Key, now: UInt64) -> Value? { peek(key, hash: Self.hash(key), now: now) }

    /// Returns the live value for `key`, whose `hash(_:)` is `hash`, without recording a read.
    public func peek(_ key: Key, hash: UInt64, now: UInt64) -> Value? {
        let b = lookup(key, hash: hash)
        guard b >= 0 else { return nil }
        let deadline = table[b].deadline
        if deadline != 0, deadline <= now { return nil }
        return table[b].value
    }

    /// Stores `value` under `key`, replacing an older value.
    /// - Parameters:
    ///   - weight: the entry's weight in bytes (at least 1).
    ///   - ttl: nanoseconds until it expires; nil keeps it until evicted.
    ///   - now: the current time.
    /// - Returns: whether it is resident, was refused by admission, or is too large.
    @discardableResult
    public func put(_ key: Key, _ value: Value, weight: Int, ttl: UInt64?, now: UInt64) -> PutOutcome {
        put(key, hash: Self.hash(key), value, weight: weight, ttl: ttl, now: now)
    }

    /// `put` for a key whose `hash(_:)` is `hash`.
    @discardableResult
    public func put(_ key: Key, hash: UInt64, _ value: Value, weight: Int, ttl: UInt64?, now: UInt64) -> PutOutcome {
        drainReads()
        expire(now: now)
        let w = max(1, weight)
        let old = lookup(key, hash: hash)
        if old >= 0 { drop(table[old].slot) }
        guard w <= policy.capacity else { return .tooLarge }
        statistics.puts += 1
        let slot = allocate(key, hash: hash, value)
        evicted.removeAll(keepingCapacity: true)
        let refusedBefore = policy.admissionsRefused
        policy.insert(slot, hash: hash, weight: w, evicted: &evicted)
        var refused = false
        var turnedAway = policy.admissionsRefused - refusedBefore
        for victim in evicted {
            if victim == slot {
                refused = true
                turnedAway = max(turnedAway, 1)
            }
            release(victim)
        }
        statistics.admissionsRefused += turnedAway
        statistics.evictionsSize += evicted.count - turnedAway
        if refused { return .refused }
        if let ttl {
            let deadline = now &+ max(1, ttl)
            table[Int(buckets[Int(slot)])].deadline = deadline
            wheel.schedule(slot, at: deadline)
        }
        return .stored
    }

    /// Counts `count` accesses of `key` in the policy's admission sketch (no read, no statistics).
    public func recordAccesses(_ key: Key, count: Int) { recordAccesses(hash: Self.hash(key), count: count) }

    /// `recordAccesses` for a key whose `hash(_:)` is `hash`.
    public func recordAccesses(hash: UInt64, count: Int) {
        drainReads()
        policy.recordAccesses(hash: hash, count: count)
    }

    /// Removes `key`; returns whether it was resident.
    @discardableResult
    public func remove(_ key: Key) -> Bool { remove(key, hash: Self.hash(key)) }

    /// `remove` for a key whose `hash(_:)` is `hash`.
    @discardableResult
    public func remove(_ key: Key, hash: UInt64) -> Bool {
        let b = lookup(key, hash: hash)
        guard b >= 0 else { return false }
        drainReads()
        drop(table[b].slot)
        statistics.evictionsExplicit += 1
        return true
    }

    /// Removes every key `matching` accepts; returns how many.
    @discardableResult
    public func removeAll(where matching: (Key) -> Bool) -> Int {
        drainReads()
        var doomed: [Int32] = []
        for bucket in table where bucket.tagAndSlot != 0 {
            if let key = bucket.key, matching(key) { doomed.append(bucket.slot) }
        }
        for slot in doomed { drop(slot) }
        statistics.evictionsExplicit += doomed.count
        return doomed.count
    }

    /// Expires every entry whose deadline is ≤ now.
    public func expire(now: UInt64) {
        guard wheel.isDue(now) else { return }
        drainReads()
        var expired: [Int32] = []
        wheel.advance(to: now) { expired.append($0) }
        for slot in expired {
            policy.remove(slot)
            release(slot)
            statistics.evictionsExpired += 1
        }
    }

    /// Tells the policy of the reads waiting in the buffer, oldest first.
    public func drainReads() {
        guard pending > 0 else { return }
        let batch = UnsafeBufferPointer(start: reads, count: pending)
        pending = 0
        policy.replay(batch)
    }

    /// Tells the policy of the oldest `limit` waiting reads; returns whether reads still wait.
    public func drainReads(limit: Int) -> Bool {
        let n = min(max(1, limit), pending)
        guard n < pending else {
            drainReads()
            return false
        }
        policy.replay(UnsafeBufferPointer(start: reads, count: n))
        reads.update(from: reads + n, count: pending - n)
        pending -= n
        return true
    }

    @inline(__always) private func record(_ read: PolicyRead) {
        if pending == Self.readBufferSize {
            readsDropped += 1
            return
        }
        (reads + pending).initialize(to: read)
        pending += 1
        if pending == Self.readBufferSize, !lossyReads { drainReads() }
    }

    /// The resident keys and values (for warming and tests), in no particular order.
    public func snapshot(now: UInt64) -> [(key: Key, value: Value)] {
        table.compactMap { bucket in
            guard bucket.tagAndSlot != 0, let key = bucket.key, let value = bucket.value else { return nil }
            if bucket.deadline != 0, bucket.deadline <= now { return nil }
            return (key, value)
        }
    }

    /// The counters with the current entry count and weight.
    public var currentStatistics: CacheStatistics {
        var s = statistics
        s.entries = resident
        s.bytes = policy.weight
        return s
    }

    // MARK: The table

    /// The bucket tag of a hash: its low 32 bits, which also choose the home bucket.
    @inline(__always) private static func tag(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF }

    /// The bucket holding `key`, or -1.
    @inline(__always) private func lookup(_ key: Key, hash: UInt64) -> Int {
        let tag = Self.tag(hash)
        var i = Int(tag) & mask
        while true {
            let tagAndSlot = table[i].tagAndSlot
            if tagAndSlot == 0 { return -1 }
            if tagAndSlot >> 32 == tag, table[i].key == key { return i }
            i = (i + 1) & mask
        }
    }

    /// Puts `bucket` in the first free bucket from its home on and notes where.
    @inline(__always) private func place(_ bucket: Bucket) {
        var i = Int(bucket.tagAndSlot >> 32) & mask
        while table[i].tagAndSlot != 0 { i = (i + 1) & mask }
        buckets[Int(bucket.slot)] = Int32(i)
        table[i] = bucket
    }

    private func growTable() {
        var old: [Bucket] = []
        swap(&old, &table)
        table = [Bucket](repeating: Bucket(), count: old.count * 2)
        mask = table.count - 1
        for bucket in old where bucket.tagAndSlot != 0 { place(bucket) }
    }

    /// Empties bucket `b`, shifting back the buckets after it that may fill the hole.
    private func removeBucket(_ b: Int) {
        table[b] = Bucket()
        var hole = b
        var j = b
        while true {
            j = (j + 1) & mask
            let tagAndSlot = table[j].tagAndSlot
            if tagAndSlot == 0 { break }
            // The bucket at j may fill the hole when the hole lies on its probe path (home … j).
            let home = Int(tagAndSlot >> 32) & mask
            if (j - home) & mask >= (j - hole) & mask {
                table.swapAt(hole, j)
                buckets[Int(table[hole].slot)] = Int32(hole)
                hole = j
            }
        }
        resident -= 1
    }

    // MARK: Slots

    private func allocate(_ key: Key, hash: UInt64, _ value: Value) -> Int32 {
        let slot: Int32
        if let f = free.popLast() {
            slot = f
        } else {
            slot = Int32(buckets.count)
            buckets.append(-1)
        }
        if (resident + 1) * 8 > table.count * 7 { growTable() }
        place(Bucket(tagAndSlot: Self.tag(hash) << 32 | UInt64(slot + 1), key: key, value: value))
        resident += 1
        return slot
    }

    /// Takes a resident slot out of the policy, the wheel and the table.
    private func drop(_ slot: Int32) {
        policy.remove(slot)
        release(slot)
    }

    /// Forgets a slot the policy no longer holds.
    private func release(_ slot: Int32) {
        wheel.cancel(slot)
        let b = buckets[Int(slot)]
        if b >= 0 { removeBucket(Int(b)) }
        buckets[Int(slot)] = -1
        free.append(slot)
    }
}
