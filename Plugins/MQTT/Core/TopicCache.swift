import Synchronization

/// Remembers recent topic translations of one rule (most traffic uses few topics), so the
/// message path skips splitting and rendering.
///
/// Thread-safe (one uncontended lock per lookup: each cache is used by one thread at a time, an
/// outbound rule's bus handler, which never runs concurrently with itself, or the loop thread for
/// inbound rules).
package final class TopicCache: Sendable {
    private let entries = Mutex<[String: String?]>([:])
    private let limit: Int

    /// - Parameter limit: entries kept before the cache starts over.
    package init(limit: Int = 4096) { self.limit = limit }

    /// The cached translation of `topic`, computing and keeping it on a miss (nil results too).
    /// `compute` runs outside the lock.
    package func translate(_ topic: String, _ compute: (String) -> String?) -> String? {
        if let hit = entries.withLock({ $0[topic] }) { return hit }
        let value = compute(topic)
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[topic] = .some(value)
        }
        return value
    }
}
