/// A single-threaded cache bounded by weight, with per-entry TTL on a timer wheel and a pluggable
/// admission and eviction policy. Times are nanoseconds on the caller's clock, passed to every
/// call, so tests drive time by hand.
///
/// A read hashes its key once (`hash(_:)`, or the caller passes the hash it already has) and probes
/// an open-addressed index with it; the policy learns of reads from a small buffer replayed in
/// order before anything that changes or consults the policy (a write, a removal, an expiry, a
/// warming count) and whenever it fills, so the policy sees the same sequence of calls as if each
/// read had told it at once, and its bookkeeping runs in batches off the hit path.
///
/// Not thread-safe: `ConcurrentCache` puts stripes of it behind locks.
public final class BoundedCache<Key: Hashable, Value> {
    /// The open-addressed index (linear probing, backward-shift deletion, at most half full): each
    /// bucket holds the low 32 bits of its key's hash above slot + 1, 0 when empty.
    private var buckets: [UInt64]
    private var bucketMask: Int
    private var resident = 0
    /// Key, value, deadline and hash of each slot, together so a read touches one record.
    private var entries: [Entry] = []
    private var free: [Int32] = []
    private let policy: any EvictionPolicy
    private var wheel: TimerWheel
    private var evicted: [Int32] = []
    /// Reads the policy has not been told of yet, oldest first (`pending` of them).
    private let reads: UnsafeMutablePointer<PolicyRead>
    private var pending = 0
    /// The counters so far.
    public private(set) var statistics = CacheStatistics()

    /// How many reads wait at most before the policy is told of them.
    public static var readBufferSize: Int { 64 }

    /// Creates a cache.
    /// - Parameters:
    ///   - capacity: the total weight (bytes) kept at most.
    ///   - policy: the admission and eviction policy.
    ///   - expectedEntries: how many entries typically fit (sizes a frequency sketch; default `capacity`).
    ///   - tick: the expiry resolution in nanoseconds (entries expire at most one tick late).
    ///   - now: the current time.
    public convenience init(
        capacity: Int, policy: PolicyKind = .tinyLFU, expectedEntries: Int? = nil, tick: UInt64 = 1_000_000_000,
        now: UInt64 = 0
    ) {
        self.init(policy: policy.make(capacity: capacity, expectedEntries: expectedEntries), tick: tick, now: now)
    }

    /// Creates a cache over a policy made elsewhere (tuned parameters, tests).
    public init(policy: any EvictionPolicy, tick: UInt64 = 1_000_000_000, now: UInt64 = 0) {
        self.policy = policy
        wheel = TimerWheel(tick: tick, now: now)
        buckets = [UInt64](repeating: 0, count: 16)
        bucketMask = 15
        reads = .allocate(capacity: Self.readBufferSize)
    }

    deinit { reads.deallocate() }

    /// The weight kept at most.
    public var capacity: Int { policy.capacity }
    /// The number of resident entries.
    public var count: Int { resident }
    /// Per-entry policy metadata in bytes.
    public var policyBytesPerEntry: Int { policy.bytesPerEntry }

    private struct Entry {
        var key: Key?
        var value: Value?
        /// When it expires (caller's clock), 0 for never.
        var deadline: UInt64 = 0
        /// The key's hash, to find its bucket again.
        var hash: UInt64 = 0
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
        let slot = lookup(key, hash: hash)
        guard slot >= 0 else {
            statistics.misses += 1
            record(PolicyRead(slot: -1, hash: hash))
            return nil
        }
        let deadline = entries[Int(slot)].deadline
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
        return entries[Int(slot)].value
    }

    /// Returns the live value for `key` without recording a read.
    public func peek(_ key: Key, now: UInt64) -> Value? { peek(key, hash: Self.hash(key), now: now) }

    /// Returns the live value for `key`, whose `hash(_:)` is `hash`, without recording a read.
    public func peek(_ key: Key, hash: UInt64, now: UInt64) -> Value? {
        let slot = lookup(key, hash: hash)
        guard slot >= 0 else { return nil }
        let deadline = entries[Int(slot)].deadline
        if deadline != 0, deadline <= now { return nil }
        return entries[Int(slot)].value
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
        if old >= 0 { drop(old) }
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
            entries[Int(slot)].deadline = deadline
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
        let slot = lookup(key, hash: hash)
        guard slot >= 0 else { return false }
        drainReads()
        drop(slot)
        statistics.evictionsExplicit += 1
        return true
    }

    /// Removes every key `matching` accepts; returns how many.
    @discardableResult
    public func removeAll(where matching: (Key) -> Bool) -> Int {
        drainReads()
        var doomed: [Int32] = []
        for i in entries.indices {
            if let key = entries[i].key, matching(key) { doomed.append(Int32(i)) }
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

    @inline(__always) private func record(_ read: PolicyRead) {
        (reads + pending).initialize(to: read)
        pending += 1
        if pending == Self.readBufferSize { drainReads() }
    }

    /// The resident keys and values (for warming and tests), in no particular order.
    public func snapshot(now: UInt64) -> [(key: Key, value: Value)] {
        entries.compactMap { entry in
            guard let key = entry.key, let value = entry.value else { return nil }
            if entry.deadline != 0, entry.deadline <= now { return nil }
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

    // MARK: The index

    /// The bucket tag of a hash: its low 32 bits, which also choose the home bucket.
    @inline(__always) private static func tag(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF }

    /// The slot holding `key`, or -1.
    @inline(__always) private func lookup(_ key: Key, hash: UInt64) -> Int32 {
        let tag = Self.tag(hash)
        var i = Int(tag) & bucketMask
        while true {
            let bucket = buckets[i]
            if bucket == 0 { return -1 }
            if bucket >> 32 == tag {
                let slot = Int32(truncatingIfNeeded: bucket & 0xFFFF_FFFF) - 1
                if entries[Int(slot)].key == key { return slot }
            }
            i = (i + 1) & bucketMask
        }
    }

    /// Adds `slot` under `hash` (the key is not in the index).
    private func indexInsert(_ slot: Int32, hash: UInt64) {
        if (resident + 1) * 2 > buckets.count { growIndex() }
        place(Self.tag(hash) << 32 | UInt64(slot + 1))
        resident += 1
    }

    @inline(__always) private func place(_ bucket: UInt64) {
        var i = Int(bucket >> 32) & bucketMask
        while buckets[i] != 0 { i = (i + 1) & bucketMask }
        buckets[i] = bucket
    }

    private func growIndex() {
        let old = buckets
        buckets = [UInt64](repeating: 0, count: old.count * 2)
        bucketMask = buckets.count - 1
        for bucket in old where bucket != 0 { place(bucket) }
    }

    /// Takes `slot`, stored under `hash`, out of the index, shifting back the buckets after it.
    private func indexRemove(_ slot: Int32, hash: UInt64) {
        let wanted = Self.tag(hash) << 32 | UInt64(slot + 1)
        var hole = Int(Self.tag(hash)) & bucketMask
        while buckets[hole] != wanted {
            if buckets[hole] == 0 { return }
            hole = (hole + 1) & bucketMask
        }
        var j = hole
        while true {
            j = (j + 1) & bucketMask
            let bucket = buckets[j]
            if bucket == 0 { break }
            // The bucket at j may fill the hole when the hole lies on its probe path (home … j).
            let home = Int(bucket >> 32) & bucketMask
            if (j - home) & bucketMask >= (j - hole) & bucketMask {
                buckets[hole] = bucket
                hole = j
            }
        }
        buckets[hole] = 0
        resident -= 1
    }

    // MARK: Slots

    private func allocate(_ key: Key, hash: UInt64, _ value: Value) -> Int32 {
        let slot: Int32
        if let f = free.popLast() {
            slot = f
            entries[Int(slot)] = Entry(key: key, value: value, hash: hash)
        } else {
            slot = Int32(entries.count)
            entries.append(Entry(key: key, value: value, hash: hash))
        }
        indexInsert(slot, hash: hash)
        return slot
    }

    /// Takes a resident slot out of the policy, the wheel and the index.
    private func drop(_ slot: Int32) {
        policy.remove(slot)
        release(slot)
    }

    /// Forgets a slot the policy no longer holds.
    private func release(_ slot: Int32) {
        wheel.cancel(slot)
        if entries[Int(slot)].key != nil { indexRemove(slot, hash: entries[Int(slot)].hash) }
        entries[Int(slot)] = Entry()
        free.append(slot)
    }
}
