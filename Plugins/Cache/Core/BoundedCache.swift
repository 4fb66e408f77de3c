import Synchronization

/// A single-threaded cache bounded by weight, with per-entry TTL on a timer wheel and a pluggable
/// admission and eviction policy. Times are nanoseconds on the caller's clock, passed to every
/// call, so tests drive time by hand.
///
/// A read hashes its key once (`hash(_:)`, or the caller passes the hash it already has) and probes
/// an open-addressed table that holds each entry's hash tag, key, value and deadline in its bucket,
/// behind a byte of marks per bucket, so a hit usually touches one record and a miss often none;
/// the policy learns of reads from a small buffer replayed in
/// order before anything that changes or consults the policy (a write, a removal, an expiry, a
/// warming count) and whenever it fills, so the policy sees the same sequence of calls as if each
/// read had told it at once, and its bookkeeping runs in batches off the hit path. With
/// `lossyReads` a full buffer is not replayed by the read that fills it: later reads are not
/// recorded (`readsDropped`) until the owner calls `drainReads()` (`ConcurrentCache` does it on
/// another thread, as Caffeine does).
///
/// Not thread-safe, except that every call into the policy holds the policy's own lock
/// (`PolicyGate`), so an owner may replay reads handed off with `handOffReads()` on another
/// thread while this cache serves reads: `ConcurrentCache` puts stripes of it behind locks.
public final class BoundedCache<Key: Hashable, Value> {
    /// The open-addressed table of the resident entries' keys and values (linear probing,
    /// backward-shift deletion, at most three quarters full), in raw memory: a bucket's key and
    /// value are initialised only while it is occupied, so they need no Optional, and a hit makes
    /// no uniqueness or bounds check and no retain/release of an array buffer. A hit reads its
    /// mark and its bucket here and nothing else: each bucket's word and deadline lie at the same
    /// index in `words` and `deadlines`. For Int keys and values a bucket is 16 bytes, four to a
    /// cache line, so at 100k entries the lines a hit reads come to 4 MiB (with the marks'
    /// 256 KiB), where 32-byte buckets holding the word and the deadline too came to 8 MiB, four
    /// times this CPU's 2 MiB L2 per core. In alternating processes (2026-12-05, CacheBench at 100k
    /// entries) that raised gets per second at 90 % hits from 17.7-29.7 M to 30.0-34.4 M; growing
    /// at seven eighths instead (a 2 MiB table, but 2.6 probes per hit) gave 28.7-29.0 M. Measured alternatives at 100k entries
    /// (CacheBench, interleaved runs): a separate 8-byte tag index with the entries by slot made
    /// a hit's two cache misses sequential (p50 96-145 ns against 58-104); the same with the
    /// entries beside the index, as Swift's Dictionary does, 98-135 ns. Later, with the hit path
    /// as it is now (2026-12-04): seven eighths full, a hit's p50 was 46-50 ns against 38-41 at
    /// three quarters (each stripe's 6 250 entries filled 76 % of 8 192 buckets, so a hit probed
    /// 2.6 buckets on average, against 1.3 in 16 384); keys and tags in one array with values
    /// and deadlines in another at the same index, 41-43 ns; a prefetch of the bucket before the
    /// stripe's lock, no gain. The one-byte `marks` beside the table took a miss from about 49 ns
    /// to the cost of a hit, and gets per second at 90 % hits from 21.6-21.9 M to 23.2-24.6 M;
    /// with them, seven eighths full was still slower (41-43 ns on hit).
    private var table: UnsafeMutablePointer<Pair>
    /// Each bucket's word, at the bucket's index beside `table`: the low 32 bits of the key's hash
    /// (which also choose its home bucket) above slot + 1; 0 when the bucket is empty. A hit does
    /// not read it: the reads it records name the bucket, turned into the slot from here when they
    /// are handed to the policy (the table does not change in between: every change replays the
    /// buffer first).
    private var words: UnsafeMutablePointer<UInt64>
    /// Each bucket's deadline (caller's clock, 0 for never) beside `table`, read by a hit only while
    /// some entry of this cache has one (`wheel.count > 0`).
    private var deadlines: UnsafeMutablePointer<UInt64>
    /// One byte per bucket beside `table`: 0 when the bucket is empty, else 0x80 with seven high
    /// bits of the entry's hash. A probe reads these first, so a miss whose home bucket is empty,
    /// or holds another key, is settled in this array (a thirty-second of the table's size for
    /// Int keys and values, less for larger ones, so it stays in the CPU's caches where the table
    /// does not) without touching the table.
    private var marks: UnsafeMutablePointer<UInt8>
    private var mask: Int
    private var resident = 0
    /// Each slot's bucket in `table` (-1 for a free slot): the policy and the wheel know entries by
    /// slot, which stays the same while the entry moves between buckets.
    private var buckets: [Int32] = []
    private var free: [Int32] = []
    /// The policy behind a lock of its own (see `PolicyGate`); every call into it holds that lock.
    let gate: PolicyGate
    @inline(__always) private var policy: any EvictionPolicy { gate.policy }
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
        gate = PolicyGate(policy: policy, capacity: Self.readBufferSize)
        self.lossyReads = lossyReads
        wheel = TimerWheel(tick: tick, now: now)
        table = Self.emptyTable(16)
        words = Self.emptyWords(16)
        deadlines = Self.emptyWords(16)
        marks = Self.emptyMarks(16)
        mask = 15
        reads = .allocate(capacity: Self.readBufferSize)
    }

    deinit {
        reads.deallocate()
        for i in 0...mask where marks[i] != 0 { (table + i).deinitialize(count: 1) }
        UnsafeMutableRawPointer(table).deallocate()
        words.deallocate()
        deadlines.deallocate()
        marks.deallocate()
    }

    /// The weight kept at most.
    public var capacity: Int { policy.capacity }
    /// The number of resident entries.
    public var count: Int { resident }
    /// Per-entry policy metadata in bytes.
    public var policyBytesPerEntry: Int { policy.bytesPerEntry }
    /// The policy's metadata kept apart from the entries (its frequency sketch), in bytes.
    public var policySharedBytes: Int {
        var bytes = 0
        withPolicy { bytes = policy.sharedBytes }
        return bytes
    }

    /// A bucket of the table: initialised only while its mark is not 0.
    private struct Pair {
        var key: Key
        var value: Value
    }

    /// The slot in a bucket's word.
    @inline(__always) private static func slot(_ word: UInt64) -> Int32 { Int32(truncatingIfNeeded: word & 0xFFFF_FFFF) - 1 }

    /// The hash the table and the policy use for `key` (`ConcurrentCache` computes it once per
    /// call and passes it on).
    @inline(__always) public static func hash(_ key: Key) -> UInt64 { UInt64(bitPattern: Int64(key.hashValue)) }

    /// Returns the live value for `key` and records the read, or nil (a miss).
    public func get(_ key: Key, now: UInt64) -> Value? { get(key, hash: Self.hash(key), now: now) }

    /// `get` that reads the time from `clock` only if it matters: while some entry has a deadline
    /// (every such entry is on the wheel); a cache whose entries never expire reads no clock.
    @inline(__always)
    public func get(_ key: Key, hash: UInt64, clock: () -> UInt64) -> Value? {
        get(key, hash: hash, now: wheel.count > 0 ? clock() : 0)
    }

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
        if wheel.count > 0, deadlines[b] != 0, deadlines[b] <= now {
            withPolicy {
                drainReadsLocked()
                drop(Self.slot(words[b]))
                policy.miss(hash: hash)
            }
            statistics.evictionsExpired += 1
            statistics.misses += 1
            return nil
        }
        statistics.hits += 1
        // The bucket, not the slot (see `words`).
        record(PolicyRead(slot: Int32(truncatingIfNeeded: b), hash: hash))
        return table[b].value
    }

    /// Returns the live value for `key` without recording a read.
    public func peek(_ key: Key, now: UInt64) -> Value? { peek(key, hash: Self.hash(key), now: now) }

    /// Returns the live value for `key`, whose `hash(_:)` is `hash`, without recording a read.
    public func peek(_ key: Key, hash: UInt64, now: UInt64) -> Value? {
        let b = lookup(key, hash: hash)
        guard b >= 0 else { return nil }
        if deadlines[b] != 0, deadlines[b] <= now { return nil }
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
        var outcome = PutOutcome.stored
        withPolicy { outcome = putLocked(key, hash: hash, value, weight: weight, ttl: ttl, now: now) }
        return outcome
    }

    private func putLocked(_ key: Key, hash: UInt64, _ value: Value, weight: Int, ttl: UInt64?, now: UInt64) -> PutOutcome {
        drainReadsLocked()
        if wheel.isDue(now) { expireLocked(now: now) }
        let w = max(1, weight)
        let old = lookup(key, hash: hash)
        if old >= 0 { drop(Self.slot(words[old])) }
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
            deadlines[Int(buckets[Int(slot)])] = deadline
            wheel.schedule(slot, at: deadline)
        }
        return .stored
    }

    /// Counts `count` accesses of `key` in the policy's admission sketch (no read, no statistics).
    public func recordAccesses(_ key: Key, count: Int) { recordAccesses(hash: Self.hash(key), count: count) }

    /// `recordAccesses` for a key whose `hash(_:)` is `hash`.
    public func recordAccesses(hash: UInt64, count: Int) {
        withPolicy {
            drainReadsLocked()
            policy.recordAccesses(hash: hash, count: count)
        }
    }

    /// Removes `key`; returns whether it was resident.
    @discardableResult
    public func remove(_ key: Key) -> Bool { remove(key, hash: Self.hash(key)) }

    /// `remove` for a key whose `hash(_:)` is `hash`.
    @discardableResult
    public func remove(_ key: Key, hash: UInt64) -> Bool {
        let b = lookup(key, hash: hash)
        guard b >= 0 else { return false }
        withPolicy {
            drainReadsLocked()
            drop(Self.slot(words[b]))
        }
        statistics.evictionsExplicit += 1
        return true
    }

    /// Removes every key `matching` accepts; returns how many.
    @discardableResult
    public func removeAll(where matching: (Key) -> Bool) -> Int {
        var doomed: [Int32] = []
        for b in 0...mask where marks[b] != 0 && matching(table[b].key) { doomed.append(Self.slot(words[b])) }
        withPolicy {
            drainReadsLocked()
            for slot in doomed { drop(slot) }
        }
        statistics.evictionsExplicit += doomed.count
        return doomed.count
    }

    /// Expires every entry whose deadline is ≤ now.
    public func expire(now: UInt64) {
        guard wheel.isDue(now) else { return }
        withPolicy { expireLocked(now: now) }
    }

    private func expireLocked(now: UInt64) {
        drainReadsLocked()
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
        withPolicy { drainReadsLocked() }
    }

    /// `drainReads` with the policy's lock held: the reads handed off first (they are older).
    private func drainReadsLocked() {
        gate.replayHandedOffLocked()
        guard pending > 0 else { return }
        slotReads(pending)
        let batch = UnsafeBufferPointer(start: reads, count: pending)
        pending = 0
        policy.replay(batch)
    }

    /// Tells the policy of the oldest `limit` waiting reads; returns whether reads still wait.
    public func drainReads(limit: Int) -> Bool {
        var more = false
        withPolicy {
            gate.replayHandedOffLocked()
            let n = min(max(1, limit), pending)
            guard n < pending else {
                drainReadsLocked()
                return
            }
            slotReads(n)
            policy.replay(UnsafeBufferPointer(start: reads, count: n))
            reads.update(from: reads + n, count: pending - n)
            pending -= n
            more = true
        }
        return more
    }

    /// Moves the waiting reads to the policy's gate, for the owner to replay there with
    /// `PolicyGate.replayHandedOff()` without this cache's lock, while reads go on (the owner
    /// holds this cache's lock for the move only). Returns whether the gate holds reads to replay.
    /// Reads handed off earlier and not yet replayed stay; the new ones wait here meanwhile.
    func handOffReads() -> Bool {
        var handed = false
        withPolicy {
            if gate.handedOffCount == 0, pending > 0 {
                slotReads(pending)
                gate.handedOff.update(from: reads, count: pending)
                gate.handedOffCount = pending
                pending = 0
            }
            handed = gate.handedOffCount > 0
        }
        return handed
    }

    /// Turns the buckets the first `count` waiting hits name into their slots, for the policy.
    @inline(__always) private func slotReads(_ count: Int) {
        for i in 0..<count where reads[i].slot >= 0 { reads[i].slot = Self.slot(words[Int(reads[i].slot)]) }
    }

    /// Runs `body` holding the policy's lock.
    @inline(__always) private func withPolicy(_ body: () -> Void) { gate.lock.withLock { _ in body() } }

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
        (0...mask).compactMap { b in
            guard marks[b] != 0 else { return nil }
            if deadlines[b] != 0, deadlines[b] <= now { return nil }
            return (table[b].key, table[b].value)
        }
    }

    /// The counters with the current entry count and weight.
    public var currentStatistics: CacheStatistics {
        var s = statistics
        s.entries = resident
        withPolicy { s.bytes = policy.weight }
        return s
    }

    // MARK: The table

    /// The bucket tag of a hash: its low 32 bits, which also choose the home bucket.
    @inline(__always) private static func tag(_ hash: UInt64) -> UInt64 { hash & 0xFFFF_FFFF }

    /// The bucket holding `key`, or -1.
    @inline(__always) private func lookup(_ key: Key, hash: UInt64) -> Int {
        let tag = Self.tag(hash)
        let mark = Self.mark(hash)
        var i = Int(tag) & mask
        while true {
            let m = marks[i]
            if m == 0 { return -1 }
            if m == mark, table[i].key == key { return i }
            i = (i + 1) & mask
        }
    }

    /// The mark of a hash in `marks`: 0x80 with its top seven bits (the home bucket and the tag
    /// come from the low bits).
    @inline(__always) private static func mark(_ hash: UInt64) -> UInt8 { UInt8(truncatingIfNeeded: hash >> 57) | 0x80 }

    /// `count` marks, all empty.
    private static func emptyMarks(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        let marks = UnsafeMutablePointer<UInt8>.allocate(capacity: count)
        marks.initialize(repeating: 0, count: count)
        return marks
    }

    /// The first free bucket from the home of a bucket's word on.
    @inline(__always) private func freeBucket(_ word: UInt64) -> Int {
        var i = Int(word >> 32) & mask
        while marks[i] != 0 { i = (i + 1) & mask }
        return i
    }

    /// A table of `count` empty buckets, 64-byte aligned: glibc places a large block 16 bytes past
    /// a cache line, which put every other 32-byte bucket across two lines (two misses for a hit
    /// whose value lies in the second).
    private static func emptyTable(_ count: Int) -> UnsafeMutablePointer<Pair> {
        let bytes = count * MemoryLayout<Pair>.stride
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return raw.bindMemory(to: Pair.self, capacity: count)
    }

    /// `count` words, all 0 (for `words` and `deadlines`).
    private static func emptyWords(_ count: Int) -> UnsafeMutablePointer<UInt64> {
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
        return words
    }

    private func growIndex() {
        let old = table
        let oldWords = words
        let oldDeadlines = deadlines
        let oldMarks = marks
        let oldCount = mask + 1
        table = Self.emptyTable(oldCount * 2)
        words = Self.emptyWords(oldCount * 2)
        deadlines = Self.emptyWords(oldCount * 2)
        marks = Self.emptyMarks(oldCount * 2)
        mask = oldCount * 2 - 1
        for b in 0..<oldCount where oldMarks[b] != 0 {
            let word = oldWords[b]
            let i = freeBucket(word)
            (table + i).moveInitialize(from: old + b, count: 1)
            words[i] = word
            deadlines[i] = oldDeadlines[b]
            marks[i] = oldMarks[b]
            buckets[Int(Self.slot(word))] = Int32(i)
        }
        UnsafeMutableRawPointer(old).deallocate()
        oldWords.deallocate()
        oldDeadlines.deallocate()
        oldMarks.deallocate()
    }

    /// Empties bucket `b` (its entry already deinitialised), shifting back the buckets after it
    /// that may fill the hole.
    private func removeBucket(_ b: Int) {
        words[b] = 0
        deadlines[b] = 0
        marks[b] = 0
        var hole = b
        var j = b
        while true {
            j = (j + 1) & mask
            if marks[j] == 0 { break }
            let word = words[j]
            // The bucket at j may fill the hole when the hole lies on its probe path (home … j).
            let home = Int(word >> 32) & mask
            if (j - home) & mask >= (j - hole) & mask {
                (table + hole).moveInitialize(from: table + j, count: 1)
                words[hole] = word
                deadlines[hole] = deadlines[j]
                words[j] = 0
                deadlines[j] = 0
                marks[hole] = marks[j]
                marks[j] = 0
                buckets[Int(Self.slot(word))] = Int32(hole)
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
        if (resident + 1) * 4 > (mask + 1) * 3 { growIndex() }
        let word = Self.tag(hash) << 32 | UInt64(slot + 1)
        let b = freeBucket(word)
        (table + b).initialize(to: Pair(key: key, value: value))
        words[b] = word
        deadlines[b] = 0
        marks[b] = Self.mark(hash)
        buckets[Int(slot)] = Int32(b)
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
        if b >= 0 {
            (table + Int(b)).deinitialize(count: 1)
            removeBucket(Int(b))
        }
        buckets[Int(slot)] = -1
        free.append(slot)
    }
}

/// An L1 policy behind a lock of its own, with the reads handed to it for replay.
///
/// `BoundedCache` takes this lock for every call into the policy; its table and read buffer are
/// its owner's to guard. So `ConcurrentCache` can replay a stripe's reads on another thread
/// holding only this lock, and the stripe's readers, who never call the policy, do not wait for
/// the replay (when they waited, at 100k entries in CacheBench, the p99 of a hit rose by half).
/// Writers hold both locks and replay what was handed off first, so the policy sees every recorded
/// read before a slot it names is freed or reused.
final class PolicyGate: @unchecked Sendable {
    let policy: any EvictionPolicy
    let lock = Mutex<Void>(())
    /// Reads moved here by `BoundedCache.handOffReads()`, oldest first (`handedOffCount` of them).
    let handedOff: UnsafeMutablePointer<PolicyRead>
    var handedOffCount = 0

    init(policy: any EvictionPolicy, capacity: Int) {
        self.policy = policy
        handedOff = .allocate(capacity: capacity)
    }

    deinit { handedOff.deallocate() }

    /// Replays the handed-off reads (the caller holds `lock`).
    @inline(__always) func replayHandedOffLocked() {
        guard handedOffCount > 0 else { return }
        let n = handedOffCount
        handedOffCount = 0
        policy.replay(UnsafeBufferPointer(start: handedOff, count: n))
    }

    /// Replays the handed-off reads, taking `lock` (and not the table's).
    func replayHandedOff() { lock.withLock { _ in replayHandedOffLocked() } }
}
