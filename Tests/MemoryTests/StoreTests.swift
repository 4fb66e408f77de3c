import Foundation
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Store, get, update, delete, list and filters on a real SQLite file.
@Suite struct StoreTests {
    @Test func storeThenGetReinforces() async throws {
        let (store, clock, _) = try makeStore()
        let id = try await store.put(item("Ada wrote the first program", tags: ["history"]))
        clock.advance(10)
        let (first, _) = try await store.get(id: id)
        #expect(first.content == "Ada wrote the first program")
        #expect(first.accessCount == 1)
        #expect(first.lastAccessedAt == clock.now)
        #expect(first.tags == ["history"])
        let (second, _) = try await store.get(id: id)
        #expect(second.accessCount == 2)
    }

    @Test func updateAndDelete() async throws {
        let (store, _, _) = try makeStore()
        let id = try await store.put(item("draft note"))
        let changed = try await store.update(
            id: id,
            ItemPatch(
                content: "final note", tags: ["done"], importance: 0.9,
                links: [.init(kind: "entity", target: "e1", relation: "about")]))
        #expect(changed.content == "final note")
        #expect(try await store.ids("final") == [id])
        #expect(try await store.ids("draft").isEmpty)
        let (_, links) = try await store.get(id: id)
        #expect(links == [.init(kind: "entity", target: "e1", relation: "about")])
        #expect(try await store.delete(id: id))
        #expect(try await !store.delete(id: id))
        #expect(await status { _ = try await store.get(id: id) } == 404)
    }

    @Test func listIsNewestFirstAndFiltersByLayerTagSourceAndTime() async throws {
        let (store, clock, _) = try makeStore()
        let a = try await store.put(item("alpha one", .episodic, tags: ["x"], source: "soul"))
        clock.advance(60)
        let middle = clock.now.timeIntervalSince1970
        let b = try await store.put(item("beta two", .episodic, tags: ["x", "y"], source: "conscience"))
        clock.advance(60)
        let c = try await store.put(item("gamma three", .semantic, tags: ["y"], source: "soul"))
        #expect(try await store.list(.init(), limit: 10).map(\.0.id) == [c, b, a])
        #expect(try await store.list(.init(layers: [.episodic]), limit: 10).map(\.0.id) == [b, a])
        #expect(try await store.list(.init(tags: ["x", "y"]), limit: 10).map(\.0.id) == [b])
        #expect(try await store.list(.init(source: "soul"), limit: 10).map(\.0.id) == [c, a])
        #expect(try await store.list(.init(since: middle), limit: 10).map(\.0.id) == [c, b])
        #expect(try await store.list(.init(until: middle), limit: 10).map(\.0.id) == [a])
        #expect(try await store.list(.init(), limit: 1).map(\.0.id) == [c])
    }

    @Test func searchFiltersAcrossAndWithinLayers() async throws {
        let (store, _, _) = try makeStore()
        let a = try await store.put(item("the garden needs water", .episodic, tags: ["home"]))
        let b = try await store.put(item("water the garden on friday", .semantic, tags: ["todo"]))
        #expect(Set(try await store.ids("garden water")) == [a, b])
        #expect(try await store.ids("garden", .init(layers: [.semantic])) == [b])
        #expect(try await store.ids("garden", .init(tags: ["home"])) == [a])
        #expect(try await store.ids("friday garden") == [b])
        #expect(Set(try await store.ids("friday needs", mode: .any)) == [a, b])
    }

    @Test func oversizedAndInvalidItemsStoreNothing() async throws {
        var settings = MemorySettings()
        settings.maxContentBytes = 10
        let (store, _, _) = try makeStore(settings)
        #expect(await status { _ = try await store.put(item("far more than ten bytes")) } == 413)
        #expect(await status { _ = try await store.store([item("ok"), item("also far too long here")]) } == 413)
        #expect(await status { _ = try await store.put(item("  ")) } == 400)
        #expect(await status { _ = try await store.put(item("x", importance: 2)) } == 400)
        #expect(await status { _ = try await store.put(item("x", .working, pinned: true)) } == 400)
        #expect(try await store.list(.init(), limit: 10).isEmpty)
    }

    @Test func badSyntaxFromSQLiteIsABadQuery() async throws {
        let (store, _, _) = try makeStore()
        _ = try await store.put(item("anything"))
        let code = await status {
            _ = try await store.search(try FTSQuery("NEAR(a b, x)", syntax: true), filter: .init(), limit: 5)
        }
        #expect(code == 400)
    }
}
