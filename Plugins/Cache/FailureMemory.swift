import CacheCore
import Synchronization

/// Failed origin loads, remembered per key until a deadline so a broken origin is not asked again
/// for every read (`failure_ttl_ms`). In memory on this node only; a put or invalidation of the
/// key forgets it. Bounded: past 10 000 keys it starts over.
final class FailureMemory: Sendable {
    /// By the key's bytes (``CacheKey``), as the tiers tell keys apart.
    private let entries = Mutex<[CacheKey: (error: CacheError, until: Int64)]>([:])
    private static let limit = 10_000

    /// The remembered error of `key`, if its deadline (Unix ms) is after `now`.
    func remembered(_ key: String, now: Int64) -> CacheError? {
        entries.withLock { map in
            guard let entry = map[CacheKey(key)] else { return nil }
            if entry.until > now { return entry.error }
            map[CacheKey(key)] = nil
            return nil
        }
    }

    func remember(_ key: String, _ error: CacheError, until: Int64) {
        entries.withLock { map in
            if map.count >= Self.limit { map.removeAll() }
            map[CacheKey(key)] = (error, until)
        }
    }

    func forget(key: String) { entries.withLock { _ = $0.removeValue(forKey: CacheKey(key)) } }

    func forget(prefix: String) { entries.withLock { map in map = map.filter { !$0.key.hasPrefix(prefix) } } }
}
