/// A single-threaded cache bounded by weight, with per-entry TTL on a timer wheel and a pluggable
/// admission and eviction policy. Times are nanoseconds on the caller's clock, passed to every
/// call, so tests drive time by hand.
///
/// Not thread-safe: `ConcurrentCache` puts stripes of it behind locks.
public final class BoundedCache<Key: Hashable, Value> {
    private var index: [Key: Int32] = [:]
    /// Key, value and deadline of each slot, together so a read touches one record.
    private var entries: [Entry] = []
    private var free: [Int32] = []
    private let policy: any EvictionPolicy
    private var wheel: TimerWheel
    private var evicted: [Int32] = []
    /// The counters so far.
    public private(set) var statistics = CacheStatistics()

    /// Creates a cache.
    /// - Parameters:
    ///   - capacity: the total weight (bytes) kept at most.
    ///   - policy: the admission and eviction policy.
    ///   - expectedEntries: how many entries typically fit (sizes a frequency sketch; default `capacity`).
    ///   - tick: the expiry resolution in nanoseconds (entries expire at most one tick late).
    ///   - now: the current time.
    public init(
        capacity: Int, policy: PolicyKind = .tinyLFU, expectedEntries: Int? = nil, tick: UInt64 = 1_000_000_000,
        now: UInt64 = 0
    ) {
        self.policy = policy.make(capacity: capacity, expectedEntries: expectedEntries)
        wheel = TimerWheel(tick: tick, now: now)
    }

    /// Creates a cache over a policy made elsewhere (tuned parameters, tests).
    public init(policy: any EvictionPolicy, tick: UInt64 = 1_000_000_000, now: UInt64 = 0) {
        self.policy = policy
        wheel = TimerWheel(tick: tick, now: now)
    }

    /// The weight kept at most.
    public var capacity: Int { policy.capacity }
    /// The number of resident entries.
    public var count: Int { index.count }
    /// Per-entry policy metadata in bytes.
    public var policyBytesPerEntry: Int { policy.bytesPerEntry }

    private struct Entry {
        var key: Key?
        var value: Value?
        /// When it expires (caller's clock), 0 for never.
        var deadline: UInt64 = 0
    }

    @inline(__always) private static func hash(_ key: Key) -> UInt64 { UInt64(bitPattern: Int64(key.hashValue)) }

    /// Returns the live value for `key` and records the read, or nil (a miss).
    public func get(_ key: Key, now: UInt64) -> Value? {
        expire(now: now)
        guard let slot = index[key] else {
            statistics.misses += 1
            policy.miss(hash: Self.hash(key))
            return nil
        }
        let entry = entries[Int(slot)]
        if entry.deadline != 0, entry.deadline <= now {
            drop(slot)
            statistics.evictionsExpired += 1
            statistics.misses += 1
            policy.miss(hash: Self.hash(key))
            return nil
        }
        statistics.hits += 1
        policy.hit(slot)
        return entry.value
    }

    /// Returns the live value for `key` without recording a read.
    public func peek(_ key: Key, now: UInt64) -> Value? {
        guard let slot = index[key] else { return nil }
        let entry = entries[Int(slot)]
        if entry.deadline != 0, entry.deadline <= now { return nil }
        return entry.value
    }

    /// Stores `value` under `key`, replacing an older value.
    /// - Parameters:
    ///   - weight: the entry's weight in bytes (at least 1).
    ///   - ttl: nanoseconds until it expires; nil keeps it until evicted.
    ///   - now: the current time.
    /// - Returns: whether it is resident, was refused by admission, or is too large.
    @discardableResult
    public func put(_ key: Key, _ value: Value, weight: Int, ttl: UInt64?, now: UInt64) -> PutOutcome {
        expire(now: now)
        let w = max(1, weight)
        if let old = index[key] { drop(old) }
        guard w <= policy.capacity else { return .tooLarge }
        statistics.puts += 1
        let slot = allocate(key, value)
        evicted.removeAll(keepingCapacity: true)
        let refusedBefore = policy.admissionsRefused
        policy.insert(slot, hash: Self.hash(key), weight: w, evicted: &evicted)
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
    public func recordAccesses(_ key: Key, count: Int) {
        policy.recordAccesses(hash: Self.hash(key), count: count)
    }

    /// Removes `key`; returns whether it was resident.
    @discardableResult
    public func remove(_ key: Key) -> Bool {
        guard let slot = index[key] else { return false }
        drop(slot)
        statistics.evictionsExplicit += 1
        return true
    }

    /// Removes every key `matching` accepts; returns how many.
    @discardableResult
    public func removeAll(where matching: (Key) -> Bool) -> Int {
        let doomed = index.filter { matching($0.key) }
        for (_, slot) in doomed { drop(slot) }
        statistics.evictionsExplicit += doomed.count
        return doomed.count
    }

    /// Expires every entry whose deadline is ≤ now.
    public func expire(now: UInt64) {
        guard wheel.isDue(now) else { return }
        var expired: [Int32] = []
        wheel.advance(to: now) { expired.append($0) }
        for slot in expired {
            policy.remove(slot)
            release(slot)
            statistics.evictionsExpired += 1
        }
    }

    /// The resident keys and values (for warming and tests), in no particular order.
    public func snapshot(now: UInt64) -> [(key: Key, value: Value)] {
        index.compactMap { key, slot in
            let entry = entries[Int(slot)]
            if entry.deadline != 0, entry.deadline <= now { return nil }
            return entry.value.map { (key, $0) }
        }
    }

    /// The counters with the current entry count and weight.
    public var currentStatistics: CacheStatistics {
        var s = statistics
        s.entries = index.count
        s.bytes = policy.weight
        return s
    }

    private func allocate(_ key: Key, _ value: Value) -> Int32 {
        let slot: Int32
        if let f = free.popLast() {
            slot = f
            entries[Int(slot)] = Entry(key: key, value: value)
        } else {
            slot = Int32(entries.count)
            entries.append(Entry(key: key, value: value))
        }
        index[key] = slot
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
        if let key = entries[Int(slot)].key { index.removeValue(forKey: key) }
        entries[Int(slot)] = Entry()
        free.append(slot)
    }
}
