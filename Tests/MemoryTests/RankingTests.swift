import Foundation
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Ranking order on a small labelled corpus: BM25 first, then recency, importance and
/// reinforcement each move an item as documented.
@Suite struct RankingTests {
    @Test func moreRelevantTextRanksFirst() async throws {
        let (store, _, _) = try makeStore()
        for filler in ["bread and butter", "a walk in the park", "rain all day", "the train was late"] {
            _ = try await store.put(item(filler))
        }
        let weak = try await store.put(item("a long note that mentions coffee once among many other unrelated words here"))
        let strong = try await store.put(item("coffee coffee coffee"))
        #expect(try await store.ids("coffee") == [strong, weak])
    }

    @Test func recencyLiftsTheRecentlyAccessedItem() async throws {
        let (store, clock, _) = try makeStore()
        let old = try await store.put(item("tea with lemon"))
        let fresh = try await store.put(item("tea with honey"))
        clock.advance(3 * 86_400)
        _ = try await store.get(id: fresh)  // accessed now: full recency (and one reinforcement)
        #expect(try await store.ids("tea") == [fresh, old])
        clock.advance(1)
        _ = try await store.get(id: old)
        _ = try await store.get(id: old)  // now old is both fresher and more reinforced
        #expect(try await store.ids("tea") == [old, fresh])
    }

    @Test func importanceLiftsTheImportantItem() async throws {
        let (store, _, _) = try makeStore()
        let plain = try await store.put(item("meeting at noon", importance: 0.1))
        let vital = try await store.put(item("meeting at dawn", importance: 1.0))
        #expect(try await store.ids("meeting") == [vital, plain])
    }

    @Test func reinforcementLiftsTheRetrievedItem() async throws {
        var settings = MemorySettings()
        var policy = LayerPolicy.defaults(for: .semantic)  // no recency weight: only reinforcement moves it
        policy.weights.importance = 0
        settings.retention.policies[.semantic] = policy
        let (store, _, _) = try makeStore(settings)
        let a = try await store.put(item("paris is the capital of france", .semantic))
        let b = try await store.put(item("the capital of france has many museums", .semantic))
        let before = try await store.ids("capital france")
        let loser = before[1]
        for _ in 0..<5 { _ = try await store.get(id: loser) }
        let after = try await store.ids("capital france")
        #expect(Set(before) == [a, b])
        #expect(after.first == loser)
    }

    @Test func searchReinforcesWhatItReturns() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("reinforce me"))
        _ = try await store.search(try FTSQuery("reinforce"), filter: .init(), limit: 5)
        _ = try await store.search(try FTSQuery("reinforce"), filter: .init(), limit: 5, reinforce: false)
        #expect(try await store.list(.init(), limit: 1).first?.0.accessCount == 1)
        #expect(try await store.get(id: id).0.accessCount == 2)
    }
}
