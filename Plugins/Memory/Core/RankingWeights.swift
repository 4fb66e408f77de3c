/// How a layer combines the signals of a search hit into one score (see ``Ranker``).
///
/// Every term lies in [0, 1] before its weight is applied, so weights compare directly: a weight
/// of 0 turns a signal off; doubling a weight doubles that signal's pull against the others.
public struct RankingWeights: Sendable, Equatable {
    /// Weight of the text relevance (FTS5's BM25, normalised to [0, 1)).
    public var relevance: Double
    /// Weight of recency: an exponential decay of the time since the item was last accessed.
    public var recency: Double
    /// Half-life of the recency decay in seconds: an item last accessed this long ago has half
    /// the recency of one accessed just now.
    public var halfLifeSeconds: Double
    /// Weight of the item's importance (0 to 1, given by whoever stored it).
    public var importance: Double
    /// Weight of reinforcement: how often the item was retrieved, saturating (see
    /// ``reinforcementSaturation``).
    public var reinforcement: Double
    /// The access count at which reinforcement reaches 1 (logarithmic below it).
    public var reinforcementSaturation: Double

    /// - Parameters:
    ///   - relevance: weight of BM25 relevance.
    ///   - recency: weight of recency.
    ///   - halfLifeSeconds: recency half-life in seconds (> 0).
    ///   - importance: weight of importance.
    ///   - reinforcement: weight of reinforcement.
    ///   - reinforcementSaturation: access count at which reinforcement is full (≥ 1).
    public init(
        relevance: Double = 1, recency: Double = 0.5, halfLifeSeconds: Double = 86_400, importance: Double = 0.5,
        reinforcement: Double = 0.25, reinforcementSaturation: Double = 20
    ) {
        self.relevance = relevance
        self.recency = recency
        self.halfLifeSeconds = max(halfLifeSeconds, 1)
        self.importance = importance
        self.reinforcement = reinforcement
        self.reinforcementSaturation = max(reinforcementSaturation, 1)
    }
}
