import Foundation

/// Scores a search hit: text relevance combined with recency, importance and reinforcement,
/// weighted per layer (``RankingWeights``).
///
/// `score = w_rel·relevance + w_rec·recency + w_imp·importance + w_reinf·reinforcement`, where
/// - `relevance = r / (1 + r)` with `r = −bm25` (FTS5's `bm25()` is negative, lower is better), so
///   it grows with BM25 and stays below 1;
/// - `recency = 2^(−age / half-life)`, `age` the seconds since the item was last accessed (1 just
///   accessed, ½ one half-life ago);
/// - `importance` is the stored value clamped to [0, 1];
/// - `reinforcement = min(1, ln(1 + n) / ln(1 + saturation))` for `n` accesses (0 never
///   retrieved, 1 at the saturation count).
public enum Ranker {
    /// The relevance term for an FTS5 `bm25()` value.
    /// - Parameter bm25: FTS5's rank (≤ 0; more negative is more relevant).
    public static func relevance(bm25: Double) -> Double {
        let r = max(0, -bm25)
        return r / (1 + r)
    }

    /// The recency term.
    /// - Parameters:
    ///   - lastAccess: when the item was last accessed.
    ///   - now: the current time.
    ///   - halfLife: the half-life in seconds.
    public static func recency(lastAccess: Date, now: Date, halfLife: Double) -> Double {
        let age = max(0, now.timeIntervalSince(lastAccess))
        return pow(2, -age / max(halfLife, 1))
    }

    /// The reinforcement term for `accessCount` retrievals.
    /// - Parameters:
    ///   - accessCount: retrievals so far.
    ///   - saturation: the count at which it reaches 1.
    public static func reinforcement(accessCount: Int, saturation: Double) -> Double {
        guard accessCount > 0 else { return 0 }
        return min(1, log(1 + Double(accessCount)) / log(1 + max(saturation, 1)))
    }

    /// The combined score of `item` for a hit with rank `bm25` (higher is better).
    /// - Parameters:
    ///   - item: the hit.
    ///   - bm25: FTS5's rank of the hit (0 when listing without a query).
    ///   - weights: the item's layer's weights.
    ///   - now: the current time.
    public static func score(_ item: MemoryItem, bm25: Double, weights: RankingWeights, now: Date) -> Double {
        score(
            bm25: bm25, lastAccess: item.lastAccessedAt, importance: item.importance, accessCount: item.accessCount,
            weights: weights, now: now)
    }

    /// The combined score from the fields it depends on (a search scores its candidates before
    /// it reads their contents).
    /// - Parameters:
    ///   - bm25: FTS5's rank of the hit.
    ///   - lastAccess: when the item was last accessed.
    ///   - importance: the item's importance.
    ///   - accessCount: its retrievals so far.
    ///   - weights: the item's layer's weights.
    ///   - now: the current time.
    public static func score(
        bm25: Double, lastAccess: Date, importance: Double, accessCount: Int, weights: RankingWeights, now: Date
    ) -> Double {
        weights.relevance * relevance(bm25: bm25)
            + weights.recency * recency(lastAccess: lastAccess, now: now, halfLife: weights.halfLifeSeconds)
            + weights.importance * min(1, max(0, importance))
            + weights.reinforcement * reinforcement(accessCount: accessCount, saturation: weights.reinforcementSaturation)
    }
}
