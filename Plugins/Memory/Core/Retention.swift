import Foundation

/// Retention decisions: when an item expires, whether it is visible, which items a full layer
/// gives up. The clock is always handed in, so tests can move time.
public struct Retention: Sendable {
    /// The policy of every layer.
    public var policies: [MemoryLayer: LayerPolicy]

    /// - Parameter policies: per-layer policies; a layer missing here gets its defaults.
    public init(policies: [MemoryLayer: LayerPolicy] = [:]) {
        var all = policies
        for layer in MemoryLayer.all where all[layer] == nil { all[layer] = LayerPolicy.defaults(for: layer) }
        self.policies = all
    }

    /// The policy of `layer`.
    /// - Parameter layer: a layer.
    public func policy(_ layer: MemoryLayer) -> LayerPolicy { policies[layer] ?? LayerPolicy.defaults(for: layer) }

    /// When an item entering `layer` at `now` expires: nil when pinned or the layer has no TTL.
    /// - Parameters:
    ///   - layer: the layer the item enters.
    ///   - now: when it enters (stored or promoted).
    ///   - pinned: pinned items never expire.
    public func expiry(layer: MemoryLayer, at now: Date, pinned: Bool) -> Date? {
        guard !pinned, let ttl = policy(layer).ttlSeconds else { return nil }
        return now.addingTimeInterval(ttl)
    }

    /// Whether `item` may be returned at `now`: an expired item never is, swept or not.
    /// - Parameters:
    ///   - item: the item.
    ///   - now: the current time.
    public static func isVisible(_ item: MemoryItem, at now: Date) -> Bool {
        guard let expiresAt = item.expiresAt else { return true }
        return expiresAt > now
    }

    /// The items a layer holding `items` must give up to respect its capacity: the oldest
    /// unpinned ones (by creation time, then id).
    /// - Parameters:
    ///   - items: the layer's items.
    ///   - capacity: the layer's capacity, nil for none.
    public static func evictions(_ items: [MemoryItem], capacity: Int?) -> [MemoryItem] {
        guard let capacity, items.count > capacity else { return [] }
        let unpinned = items.filter { !$0.pinned }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        return Array(unpinned.prefix(items.count - capacity))
    }
}
