/// The keys whose loaded value this node put into the shared tier (Redis) lately, so that another
/// node's invalidation takes out of Redis only what this node may have put back there.
///
/// A node that hears another node's invalidation must delete again from Redis any value a load of
/// its own stored there after the other node's delete and before the event arrived (its load read
/// the origin before the change). Every node used to delete the whole key or prefix again: for a
/// prefix, a `SCAN` of Redis's whole key space on every node for every invalidation. Only keys in
/// this record can have been put back by this node; anything else is the invalidating node's
/// delete, already done.
///
/// Entries are kept for ``window`` milliseconds (longer than an event takes to arrive) and at most
/// ``capacity`` of them: when an entry younger than the window has to make room, the record can no
/// longer say which keys this node put, and ``matching(key:prefix:now:)`` answers `nil` (delete
/// everything) until that entry would have aged out. Not thread-safe.
public struct RecentLoads: Sendable {
    /// How long a key is remembered, in milliseconds.
    public let window: Int64
    /// The most keys remembered.
    public let capacity: Int
    private var entries: [(key: String, at: Int64)] = []
    private var head = 0
    /// Until when (ms) the record is incomplete, after an entry younger than the window was dropped.
    private var incompleteUntil: Int64 = .min

    /// - Parameters:
    ///   - window: longer than an invalidation event takes to arrive (a minute by default).
    ///   - capacity: at the defaults, 8 192 keys a minute: about 136 loads a second stored in L2
    ///     before the record falls back to deleting everything an invalidation covers.
    public init(window: Int64 = 60_000, capacity: Int = 8192) {
        self.window = max(1, window)
        self.capacity = max(1, capacity)
    }

    /// How many keys are remembered (expired ones included until the next call drops them).
    public var count: Int { entries.count - head }

    /// Remembers that a loaded value of `key` went into the shared tier at `now` (ms).
    public mutating func note(_ key: String, now: Int64) {
        dropExpired(now: now)
        if count >= capacity {
            let dropped = entries[head]
            head += 1
            incompleteUntil = max(incompleteUntil, dropped.at + window)
        }
        entries.append((key, now))
        compact()
    }

    /// The remembered keys equal to `key` or starting with `prefix` (one of the two is given); nil
    /// when the record dropped a key it should still know, so the caller must delete all of them.
    /// Keys compare by their bytes (``CacheKey``), as Redis compares them: as `String`s, "cafe"
    /// was no prefix of "cafe\u{301}-1", and two keys written in two normal forms were one.
    public mutating func matching(key: String?, prefix: String?, now: Int64) -> Set<CacheKey>? {
        dropExpired(now: now)
        guard now >= incompleteUntil else { return nil }
        let wanted = key.map { CacheKey($0) }
        var found = Set<CacheKey>()
        for i in head..<entries.count {
            let k = CacheKey(entries[i].key)
            if let wanted, k == wanted { found.insert(k) }
            if let prefix, k.hasPrefix(prefix) { found.insert(k) }
        }
        return found
    }

    private mutating func dropExpired(now: Int64) {
        while head < entries.count && entries[head].at + window <= now { head += 1 }
        compact()
    }

    /// Reclaims the dropped front once it is half the storage.
    private mutating func compact() {
        if head > 0 && head * 2 >= entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
