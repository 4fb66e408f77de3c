/// What a layer keeps, for how long, and how it ranks.
public struct LayerPolicy: Sendable, Equatable {
    /// How long an unpinned item lives after it is stored (or promoted into the layer), in
    /// seconds; nil: until deleted.
    public var ttlSeconds: Double?
    /// Most items the layer holds; beyond it the oldest unpinned items are removed. nil: no bound.
    /// Pinned items are never removed, so a layer full of pinned items may exceed its capacity.
    public var capacity: Int?
    /// Whether items in this layer may be pinned (a pinned item has no expiry and is never
    /// evicted).
    public var allowsPinning: Bool
    /// How search results from this layer are ranked.
    public var weights: RankingWeights

    /// - Parameters:
    ///   - ttlSeconds: lifetime of unpinned items, nil for none.
    ///   - capacity: most items, nil for no bound.
    ///   - allowsPinning: items may be pinned.
    ///   - weights: ranking weights.
    public init(ttlSeconds: Double?, capacity: Int?, allowsPinning: Bool = true, weights: RankingWeights = .init()) {
        self.ttlSeconds = ttlSeconds
        self.capacity = capacity
        self.allowsPinning = allowsPinning
        self.weights = weights
    }

    /// The defaults, chosen so the layers behave differently out of the box:
    ///
    /// | layer | TTL | capacity | pinning | recency half-life | relevance/recency/importance/reinforcement |
    /// |---|---|---|---|---|---|
    /// | working | 1 h | 64 | no | 10 min | 1 / 1 / 0.25 / 0 |
    /// | short_term | 7 d | 10 000 | yes | 1 d | 1 / 0.5 / 0.5 / 0.25 |
    /// | episodic | 90 d | 100 000 | yes | 30 d | 1 / 0.3 / 0.5 / 0.25 |
    /// | semantic | none | none | yes | 365 d | 1 / 0 / 0.3 / 0.5 |
    /// | long_term | none | none | yes | 365 d | 1 / 0 / 0.5 / 0.25 |
    public static func defaults(for layer: MemoryLayer) -> LayerPolicy {
        let day = 86_400.0
        switch layer {
        case .working:
            return .init(
                ttlSeconds: 3600, capacity: 64, allowsPinning: false,
                weights: .init(recency: 1, halfLifeSeconds: 600, importance: 0.25, reinforcement: 0))
        case .shortTerm:
            return .init(ttlSeconds: 7 * day, capacity: 10_000, weights: .init(halfLifeSeconds: day))
        case .episodic:
            return .init(ttlSeconds: 90 * day, capacity: 100_000, weights: .init(recency: 0.3, halfLifeSeconds: 30 * day))
        case .semantic:
            return .init(
                ttlSeconds: nil, capacity: nil,
                weights: .init(recency: 0, halfLifeSeconds: 365 * day, importance: 0.3, reinforcement: 0.5))
        default:
            return .init(ttlSeconds: nil, capacity: nil, weights: .init(recency: 0, halfLifeSeconds: 365 * day))
        }
    }
}
