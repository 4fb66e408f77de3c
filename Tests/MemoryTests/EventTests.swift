import Foundation
import JameyKernel
import JameyTestKit
import MemoryCore
import Testing

@testable import MemoryPlugin

/// Per-item change events: what the store records for each kind of change, and what the plugin
/// publishes on the bus (`memory.events.item.<kind>`) after the commit.
@Suite struct EventTests {
    let text = "the meeting with the design team moved from tuesday morning to thursday afternoon in room four"
    let near = "the meeting with the design team moved from tuesday morning to thursday afternoon in room five"

    /// The payload written field by field is the sorted JSON object of the event's fields,
    /// byte for byte what the generic writer gives, with escaping and any detail keys.
    @Test func anEventsPayloadIsTheSortedObjectOfItsFields() throws {
        let events = [
            ItemEvent(kind: .stored, id: "a1", layer: "short_term", source: "test"),
            ItemEvent(
                kind: .deleted, id: "q\"uote\\d", layer: "episodic", source: "line\nbreak\u{01}",
                detail: ["reason": "merged", "into": "b2", "zeta": "ü"]),
        ]
        for event in events {
            var object: [String: Any] = ["id": event.id, "layer": event.layer, "source": event.source]
            for (key, value) in event.detail { object[key] = value }
            #expect(event.payload == JSONText.data(object))
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(event.payload)) as? [String: String])
            #expect(parsed["id"] == event.id && parsed["source"] == event.source)
            #expect(parsed.count == 3 + event.detail.count)
        }
    }

    @Test func storeUpdateDeleteAndEvictionRecordTheirEvents() async throws {
        var settings = MemorySettings()
        settings.retention.policies[.shortTerm]?.capacity = 2
        let (store, clock, _) = try makeStore(settings)
        let events = ItemEvents()
        let a = try await store.store([item("alpha note", source: "s1")], events: events)[0].item.id
        clock.advance(1)
        let batch = try await store.store([item("beta note"), item("gamma note")], events: events).map(\.item.id)
        #expect(
            events.take() == [
                ItemEvent(kind: .stored, id: a, layer: "short_term", source: "s1"),
                ItemEvent(kind: .stored, id: batch[0], layer: "short_term", source: "test"),
                ItemEvent(kind: .stored, id: batch[1], layer: "short_term", source: "test"),
                ItemEvent(kind: .deleted, id: a, layer: "short_term", source: "s1", detail: ["reason": "evicted"]),
            ])
        _ = try await store.update(id: batch[0], ItemPatch(layer: .longTerm), events: events)
        #expect(
            events.take() == [
                ItemEvent(
                    kind: .updated, id: batch[0], layer: "long_term", source: "test",
                    detail: ["reason": "update", "from": "short_term"])
            ])
        #expect(try await store.delete(id: batch[1], events: events))
        #expect(try await !store.delete(id: batch[1], events: events))
        #expect(
            events.take() == [
                ItemEvent(kind: .deleted, id: batch[1], layer: "short_term", source: "test", detail: ["reason": "request"])
            ])
        // A failed batch records nothing the caller would publish: the collector is only read
        // after a commit, and the plugin builds a fresh one per request.
        let failed = ItemEvents()
        #expect(await status { _ = try await store.store([item("ok"), item("")], events: failed) } == 400)
        #expect(failed.take().isEmpty)
    }

    @Test func mergeExpiryAndConsolidationRecordTheirEvents() async throws {
        let (store, clock, _) = try makeStore()
        let events = ItemEvents()
        let first = try await store.put(item(text))
        _ = try await store.store([item(near, source: "other")], events: events)
        #expect(
            events.take() == [
                ItemEvent(kind: .updated, id: first, layer: "short_term", source: "test", detail: ["reason": "merged"])
            ])
        let scratch = try await store.put(item("scratch thought", .working, source: "w"))
        clock.advance(3601)
        _ = try await store.sweep(events: events)
        #expect(events.take() == [ItemEvent(kind: .expired, id: scratch, layer: "working", source: "w")])

        var allowing = MemorySettings()
        allowing.duplicates = .allow
        let (other, _, _) = try makeStore(allowing)
        let keep = try await other.put(item(text, .episodic))
        let dup = try await other.put(item(near, .episodic))
        let vital = try await other.put(item("vital fact about mountains", importance: 0.95))
        _ = try await other.consolidate(events: events)
        #expect(
            events.take() == [
                ItemEvent(
                    kind: .deleted, id: dup, layer: "episodic", source: "test", detail: ["reason": "merged", "into": keep]),
                ItemEvent(
                    kind: .consolidated, id: keep, layer: "episodic", source: "test",
                    detail: ["action": "merged", "merged_id": dup]),
                ItemEvent(
                    kind: .consolidated, id: vital, layer: "long_term", source: "test",
                    detail: ["action": "promoted", "from": "short_term"]),
            ])
    }

    @Test func thePluginPublishesEachChangeOnTheBus() async throws {
        try await MemoryKernel.with() { k in
            let received = LockedBox<[BusMessage]>([])
            try k.test.bus.subscribe("memory.events.item.>") { message in
                received.append(message)
                return true
            }
            let one = try await k.request("memory.items.store", #"{"content":"a single note","layer":"episodic"}"#)
            let id = try #require((one.body["item"] as? [String: Any])?["id"] as? String)
            let batch = try await k.request(
                "memory.items.store", #"{"items":[{"content":"first of two"},{"content":"second of two","layer":"long_term"}]}"#)
            let ids = (batch.body["results"] as? [[String: Any]] ?? []).compactMap {
                ($0["item"] as? [String: Any])?["id"] as? String
            }
            #expect(ids.count == 2)
            _ = try await k.request("memory.items.update", #"{"id":"\#(id)","importance":0.9}"#)
            #expect(try await k.request("memory.items.delete", #"{"id":"\#(ids[0])"}"#).status == 204)
            #expect(try await k.request("memory.items.store", #"{"content":""}"#).status == 400)
            _ = try await k.request("memory.consolidate")  // the episodic item (importance 0.9) moves to long_term
            #expect(await eventually { received.value.count == 6 })
            let seen = received.value.map { m in
                (topic: m.topic, body: (try? JSONSerialization.jsonObject(with: Data(m.payload))) as? [String: Any] ?? [:])
            }
            let got = seen.map { ($0.topic, $0.body["id"] as? String ?? "", $0.body["layer"] as? String ?? "") }
            let want = [
                ("memory.events.item.stored", id, "episodic"),
                ("memory.events.item.stored", ids[0], "short_term"),
                ("memory.events.item.stored", ids[1], "long_term"),
                ("memory.events.item.updated", id, "episodic"),
                ("memory.events.item.deleted", ids[0], "short_term"),
                ("memory.events.item.consolidated", id, "long_term"),
            ]
            #expect(got.map(\.0) == want.map(\.0))
            #expect(got.map(\.1) == want.map(\.1))
            #expect(got.map(\.2) == want.map(\.2))
            let sources = seen.map { $0.body["source"] as? String ?? "" }
            #expect(sources == Array(repeating: "test", count: 6))
            let details = seen.map { ($0.body["reason"] as? String, $0.body["action"] as? String, $0.body["from"] as? String) }
            #expect(details[3].0 == "update")
            #expect(details[4].0 == "request")
            #expect(details[5].1 == "promoted")
            #expect(details[5].2 == "episodic")
        }
    }
}
