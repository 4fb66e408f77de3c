import Foundation
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Near-duplicates on store (merge, reject, allow) and consolidation (merge, promote).
@Suite struct ConsolidationTests {
    let text = "the meeting with the design team moved from tuesday morning to thursday afternoon in room four"
    let near = "the meeting with the design team moved from tuesday morning to thursday afternoon in room five"
    let miss = "the design team meets on thursday afternoon to review the room booking for next month"

    @Test func nearDuplicateOnStoreIsMergedByDefault() async throws {
        let (store, _, _) = try makeStore()
        let first = try await store.store([item(text, tags: ["a"], importance: 0.2)])[0]
        let second = try await store.store([item(near, tags: ["b"], importance: 0.6)])[0]
        #expect(!first.merged)
        #expect(second.merged)
        #expect(second.item.id == first.item.id)
        #expect(second.item.tags == ["a", "b"])
        #expect(second.item.importance == 0.6)
        #expect(second.item.accessCount == 1)
        let third = try await store.store([item(miss)])[0]
        #expect(!third.merged)
        #expect(try await store.list(.init(), limit: 10).count == 2)
    }

    /// Among 3,000 items that share common words, a near-duplicate is still found both when the
    /// text has two rare words (the query then reads only those: a few rows, not thousands) and
    /// when every word is common (then the five rarest, as before).
    @Test func nearDuplicatesAreFoundAmongManyItemsSharingCommonWords() async throws {
        let (store, _, _) = try makeStore()
        let common = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"]
        let fillers = (0..<3000).map { i in
            item((0..<6).map { common[($0 * 3 + i) % common.count] }.joined(separator: " ") + " filler\(i)")
        }
        for start in stride(from: 0, to: fillers.count, by: 500) {
            _ = try await store.store(Array(fillers[start..<start + 500]))
        }
        // 20 words: changing the last one keeps 17 of 19 shingles (similarity 0.89).
        let body =
            "alpha bravo charlie delta quokka echo foxtrot golf hotel alpha bravo charlie delta echo foxtrot golf hotel alpha bravo"
        let original = try await store.store([item(body + " numbat")])[0]
        #expect(!original.merged)
        #expect(
            try await store.pool.read { db in try MemoryStore.rarestWords(db, of: body + " numbat", count: 5, budget: 2000) }
                == ["numbat", "quokka"], "two rare words: only they are read")
        let again = try await store.store([item(body + " wombat")])[0]
        #expect(again.merged && again.item.id == original.item.id, "a changed rare word still leaves one to find it by")
        let plain =
            "hotel golf foxtrot echo delta charlie bravo alpha hotel golf foxtrot echo delta charlie bravo alpha hotel golf foxtrot"
        let first = try await store.store([item(plain + " echo")])[0]
        #expect(!first.merged)
        let second = try await store.store([item(plain + " delta")])[0]
        #expect(second.merged && second.item.id == first.item.id, "only common words: the five rarest find it")
    }

    @Test func nearDuplicateIsRejectedOrAllowedByPolicy() async throws {
        var settings = MemorySettings()
        settings.duplicates = .reject
        let (rejecting, _, _) = try makeStore(settings)
        _ = try await rejecting.put(item(text))
        #expect(await status { _ = try await rejecting.put(item(near)) } == 409)
        _ = try await rejecting.put(item(near, .episodic))  // another layer: not a duplicate
        settings.duplicates = .allow
        let (allowing, _, _) = try makeStore(settings)
        _ = try await allowing.put(item(text))
        _ = try await allowing.put(item(near))
        #expect(try await allowing.list(.init(), limit: 10).count == 2)
    }

    @Test func consolidationMergesPlantedDuplicatesAndKeepsNearMisses() async throws {
        var settings = MemorySettings()
        settings.duplicates = .allow
        let (store, clock, _) = try makeStore(settings)
        let keep = try await store.put(item(text, .episodic, tags: ["a"]))
        clock.advance(1)
        let dup = try await store.put(item(near, .episodic, tags: ["b"], importance: 0.8))
        let other = try await store.put(item(miss, .episodic))
        let report = try await store.consolidate()
        #expect(report.merged == [.episodic: 1])
        let left = try await store.list(.init(), limit: 10).map(\.0)
        #expect(Set(left.map(\.id)) == [keep, other])
        let kept = try #require(left.first { $0.id == keep })
        #expect(kept.tags == ["a", "b"])
        #expect(kept.importance == 0.8)
        #expect(await status { _ = try await store.get(id: dup) } == 404)
    }

    @Test func consolidationPromotesReinforcedAndImportantItems() async throws {
        let (store, _, _) = try makeStore()
        let reinforced = try await store.put(item("reinforced fact about rivers"))
        let important = try await store.put(item("vital fact about mountains", importance: 0.95))
        let plain = try await store.put(item("plain fact about deserts"))
        let episodic = try await store.put(item("episode at the lake", .episodic))
        for _ in 0..<3 { _ = try await store.get(id: reinforced) }
        for _ in 0..<5 { _ = try await store.get(id: episodic) }
        let report = try await store.consolidate()
        #expect(report.promoted == ["short_term->episodic": 1, "short_term->long_term": 1, "episodic->semantic": 1])
        #expect(try await store.get(id: reinforced).0.layer == .episodic)
        #expect(try await store.get(id: important).0.layer == .longTerm)
        #expect(try await store.get(id: important).0.expiresAt == nil)
        #expect(try await store.get(id: plain).0.layer == .shortTerm)
        #expect(try await store.get(id: episodic).0.layer == .semantic)
    }
}
