import Foundation
import MemoryCore
import Testing

/// Each ranking term moves an item the way its documentation says.
@Suite struct RankerTests {
    let now = Date(timeIntervalSince1970: 1_000_000)
    let weights = RankingWeights(relevance: 1, recency: 1, halfLifeSeconds: 100, importance: 1, reinforcement: 1)

    func item(importance: Double = 0.5, age: Double = 0, accesses: Int = 0) -> MemoryItem {
        MemoryItem(
            id: "x", layer: .shortTerm, content: "c", importance: importance, createdAt: now.addingTimeInterval(-age),
            accessCount: accesses)
    }

    @Test func relevanceGrowsWithBM25AndStaysBelowOne() {
        #expect(Ranker.relevance(bm25: 0) == 0)
        #expect(Ranker.relevance(bm25: -1) == 0.5)
        #expect(Ranker.relevance(bm25: -3) > Ranker.relevance(bm25: -1))
        #expect(Ranker.relevance(bm25: -1e9) < 1)
    }

    @Test func recencyHalvesEveryHalfLife() {
        #expect(Ranker.recency(lastAccess: now, now: now, halfLife: 100) == 1)
        #expect(abs(Ranker.recency(lastAccess: now.addingTimeInterval(-100), now: now, halfLife: 100) - 0.5) < 1e-9)
        #expect(abs(Ranker.recency(lastAccess: now.addingTimeInterval(-200), now: now, halfLife: 100) - 0.25) < 1e-9)
    }

    @Test func reinforcementSaturates() {
        #expect(Ranker.reinforcement(accessCount: 0, saturation: 20) == 0)
        #expect(Ranker.reinforcement(accessCount: 3, saturation: 20) > Ranker.reinforcement(accessCount: 1, saturation: 20))
        #expect(Ranker.reinforcement(accessCount: 20, saturation: 20) == 1)
        #expect(Ranker.reinforcement(accessCount: 500, saturation: 20) == 1)
    }

    @Test func eachSignalRaisesTheScoreAndAZeroWeightSilencesIt() {
        let base = Ranker.score(item(age: 100), bm25: -1, weights: weights, now: now)
        #expect(Ranker.score(item(age: 0), bm25: -1, weights: weights, now: now) > base)
        #expect(Ranker.score(item(importance: 0.9, age: 100), bm25: -1, weights: weights, now: now) > base)
        #expect(Ranker.score(item(age: 100, accesses: 5), bm25: -1, weights: weights, now: now) > base)
        #expect(Ranker.score(item(age: 100), bm25: -2, weights: weights, now: now) > base)
        var flat = weights
        flat.importance = 0
        #expect(
            Ranker.score(item(importance: 0.9), bm25: -1, weights: flat, now: now)
                == Ranker.score(item(importance: 0.1), bm25: -1, weights: flat, now: now))
    }
}
