import Foundation
import MemoryCore
import Testing

/// Expiry, visibility and eviction with an injected clock.
@Suite struct RetentionTests {
    let start = Date(timeIntervalSince1970: 2_000_000)

    @Test func layersHaveDistinctDefaults() {
        let r = Retention()
        #expect(r.policy(.working).capacity == 64)
        #expect(r.policy(.working).allowsPinning == false)
        #expect(r.policy(.shortTerm).ttlSeconds == 604_800.0)
        #expect(r.policy(.longTerm).ttlSeconds == nil)
        #expect(r.policy(.longTerm).capacity == nil)
        #expect(r.policy(.semantic).weights.recency == 0)
    }

    @Test func expiryFollowsTheLayersTTLUnlessPinned() {
        let r = Retention()
        #expect(r.expiry(layer: .working, at: start, pinned: false) == start.addingTimeInterval(3600))
        #expect(r.expiry(layer: .shortTerm, at: start, pinned: true) == nil)
        #expect(r.expiry(layer: .longTerm, at: start, pinned: false) == nil)
    }

    /// Property: for random items and random clock readings, an item whose expiry is at or before
    /// the clock is never visible, and one whose expiry is later (or absent) always is.
    @Test func expiredItemsAreNeverVisible() {
        var rng = SplitMix(seed: 42)
        let retention = Retention()
        for _ in 0..<2000 {
            let layer = MemoryLayer.all[Int(rng.next() % UInt64(MemoryLayer.all.count))]
            let created = start.addingTimeInterval(Double(rng.next() % 1_000_000))
            let pinned = rng.next() % 5 == 0
            let item = MemoryItem(
                id: "i", layer: layer, content: "c", createdAt: created,
                expiresAt: retention.expiry(layer: layer, at: created, pinned: pinned), pinned: pinned)
            let clock = created.addingTimeInterval(Double(rng.next() % 20_000_000))
            let visible = Retention.isVisible(item, at: clock)
            if let expiresAt = item.expiresAt, expiresAt <= clock {
                #expect(!visible)
            } else {
                #expect(visible)
            }
        }
    }

    @Test func fullLayerGivesUpItsOldestUnpinnedItems() {
        let items = (0..<5).map {
            MemoryItem(
                id: "i\($0)", layer: .working, content: "c", createdAt: start.addingTimeInterval(Double($0)), pinned: $0 == 0)
        }
        #expect(Retention.evictions(items, capacity: 3).map(\.id) == ["i1", "i2"])
        #expect(Retention.evictions(items, capacity: 5).isEmpty)
        #expect(Retention.evictions(items, capacity: nil).isEmpty)
    }

    @Test func promotionRules() {
        let p = Promotion()
        func item(_ layer: MemoryLayer, importance: Double = 0.5, accesses: Int = 0) -> MemoryItem {
            MemoryItem(id: "i", layer: layer, content: "c", importance: importance, createdAt: start, accessCount: accesses)
        }
        #expect(p.target(for: item(.shortTerm)) == nil)
        #expect(p.target(for: item(.shortTerm, accesses: 3)) == .episodic)
        #expect(p.target(for: item(.shortTerm, importance: 0.75)) == .episodic)
        #expect(p.target(for: item(.shortTerm, importance: 0.95)) == .longTerm)
        #expect(p.target(for: item(.episodic, accesses: 5)) == .semantic)
        #expect(p.target(for: item(.episodic, accesses: 4)) == nil)
        #expect(p.target(for: item(.working, importance: 1)) == nil)
    }

    /// ``Promotion/moves`` (the series of `memory_promoted_total`) lists every move the rules
    /// make, and only those: every layer, importance and access count of a grid tried.
    @Test func everyMoveThePromotionRulesMakeIsListed() {
        let p = Promotion()
        var made: Set<String> = []
        for layer in MemoryLayer.all {
            for importance in stride(from: 0.0, through: 1.0, by: 0.05) {
                for accesses in 0...8 {
                    let item = MemoryItem(
                        id: "i", layer: layer, content: "c", importance: importance, createdAt: start, accessCount: accesses)
                    if let to = p.target(for: item) { made.insert("\(layer.name)->\(to.name)") }
                }
            }
        }
        #expect(made == Set(Promotion.moves.map { "\($0.from.name)->\($0.to.name)" }))
    }
}

/// A small seeded generator, so the property test is reproducible.
struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
