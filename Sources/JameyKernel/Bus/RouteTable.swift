import Synchronization

/// Every live subscription, plus a cache from concrete topic to matching subscriptions.
///
/// Subscribe and unsubscribe bump `generation`; a cached entry from an older generation is
/// recomputed on its next use, so the cache never needs a sweep. Generations are unique in the
/// process (one counter for every table), so a generation also names its table: a publishing
/// thread's cached route (``ThreadRouteCache``) can never be taken for another bus's. A topic found in the cache is
/// known to be valid, so publishing to a known topic skips validation too.
final class RouteTable: Sendable {
    private struct State {
        var generation: UInt64
        var subscriptions: [UInt64: Subscription] = [:]
        var cache: [String: RouteEntry] = [:]
        /// Canary splits by instance key (both of a split's instances name it).
        var splits: [String: TrafficSplit] = [:]
    }

    /// Most cached topics; past this the cache starts over (bounds memory under topic churn).
    private static let cacheLimit = 8192

    private let state: Mutex<State>
    /// Mirror of the generation, written under the lock, read without it by the one-topic caches
    /// (``BusEndpoint``, ``ThreadRouteCache``) to tell whether their cached entry is current.
    private let generationMirror: Atomic<UInt64>

    /// The last generation given to any table.
    private static let generations = Atomic<UInt64>(0)

    private static func nextGeneration() -> UInt64 { generations.wrappingAdd(1, ordering: .relaxed).newValue }

    init() {
        let first = Self.nextGeneration()
        state = Mutex(State(generation: first))
        generationMirror = Atomic(first)
    }

    /// The current generation (an entry computed at an older one may miss a subscription).
    @inline(__always)
    var generation: UInt64 { generationMirror.load(ordering: .acquiring) }

    /// The subscriptions matching `topic`.
    /// - Throws: ``BusError/invalidTopic(_:)`` when `topic` is malformed or has wildcards.
    @inline(__always)
    func route(_ topic: String) throws(BusError) -> RouteEntry {
        let cached = state.withLock { state -> RouteEntry? in
            guard let entry = state.cache[topic], entry.generation == state.generation else { return nil }
            return entry
        }
        if let cached { return cached }
        return try computeRoute(topic)
    }

    private func computeRoute(_ topic: String) throws(BusError) -> RouteEntry {
        try TopicPattern.validate(topic: topic)
        let segments = topic.split(separator: ".", omittingEmptySubsequences: false)
        return state.withLock { state in
            if let entry = state.cache[topic], entry.generation == state.generation { return entry }
            let matching = state.subscriptions.values
                .filter { $0.pattern.matches(segments: segments) }
                .sorted { $0.id < $1.id }
            let entry = RouteEntry(generation: state.generation, subscriptions: matching, splits: state.splits)
            if state.cache.count >= Self.cacheLimit && state.cache[topic] == nil {
                state.cache.removeAll(keepingCapacity: true)
            }
            state.cache[topic] = entry
            return entry
        }
    }

    /// Adds a subscription.
    func insert(_ subscription: Subscription) {
        state.withLock { state in
            state.subscriptions[subscription.id] = subscription
            state.generation = Self.nextGeneration()
            generationMirror.store(state.generation, ordering: .releasing)
        }
    }

    /// Removes subscription `id` if `owner` owns it.
    /// - Returns: The removed subscription.
    func remove(id: UInt64, owner: String) -> Subscription? {
        let (removed, staleCache) = state.withLock { state -> (Subscription?, [String: RouteEntry]) in
            guard let subscription = state.subscriptions[id], subscription.owner == owner else { return (nil, [:]) }
            state.subscriptions.removeValue(forKey: id)
            return (subscription, invalidate(&state))
        }
        _ = staleCache  // released here, outside the lock
        return removed
    }

    /// Removes every subscription of `owner` (every subscription when `owner` is nil).
    /// - Returns: The removed subscriptions, oldest first.
    func removeAll(owner: String?) -> [Subscription] {
        state.withLock { state in
            let removed = state.subscriptions.values
                .filter { owner == nil || $0.owner == owner }
                .sorted { $0.id < $1.id }
            guard !removed.isEmpty else { return [] }
            for subscription in removed { state.subscriptions.removeValue(forKey: subscription.id) }
            _ = invalidate(&state)
            return removed
        }
    }

    /// Bumps the generation and empties the cache, so that no cached entry keeps a removed
    /// subscription (and whatever its handler captured) alive.
    /// - Returns: The old cache, for the caller to release outside the lock.
    private func invalidate(_ state: inout State) -> [String: RouteEntry] {
        state.generation = Self.nextGeneration()
        generationMirror.store(state.generation, ordering: .releasing)
        let old = state.cache
        state.cache = [:]
        return old
    }

    /// Splits the traffic of `split.stable` and `split.canary` from now on (replacing a split of
    /// either instance).
    func install(_ split: TrafficSplit) {
        let stale = state.withLock { state in
            state.splits[split.stable] = split
            state.splits[split.canary] = split
            return invalidate(&state)
        }
        _ = stale
    }

    /// Ends the split of instance `key` (every message goes to whoever subscribes again).
    func removeSplit(of key: String) {
        let stale = state.withLock { state -> [String: RouteEntry] in
            guard let split = state.splits[key] else { return [:] }
            state.splits[split.stable] = nil
            state.splits[split.canary] = nil
            return invalidate(&state)
        }
        _ = stale
    }

    /// The subscriptions `owner` currently holds.
    func subscriptions(owner: String) -> [Subscription] {
        state.withLock { $0.subscriptions.values.filter { $0.owner == owner } }
    }

    /// The live subscription `id`.
    func subscription(id: UInt64) -> Subscription? {
        state.withLock { $0.subscriptions[id] }
    }
}
