import ConsciousnessTestSupport
import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Broadcasts reach subscribers over the real bus, with and without the conscience and the soul.
@Suite struct BroadcastTests {
    @Test func aWinningTextReachesASubscriberAndALosingOneDoesNot() async throws {
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            let seen = LockedBox<[BusMessage]>([])
            try k.test.bus.subscribe("consciousness.workspace.broadcast") { message in
                seen.append(message)
                return true
            }
            let low = try await k.request("consciousness.process", #"{"text":"low"}"#)
            #expect(low.status == 200)
            #expect(low.json["broadcast"] == nil || low.json["broadcast"] is NSNull)
            let r = try await k.request("consciousness.process", #"{"text":"\#(Plugins.sentence)"}"#)
            #expect(r.status == 200)
            let broadcast = try #require(r.json["broadcast"] as? [String: Any])
            #expect(broadcast["sequence"] as? Int == 1)
            #expect(r.json["sources"] as? [String: String] == ["conscience": "not running", "soul": "not asked"])
            #expect(await eventually { seen.value.count == 1 })
            let message = try #require(seen.value.first)
            let event = try #require(try JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any])
            #expect(event["content"] as? String == Plugins.sentence)
            #expect(event["focus"] as? String == "consciousness")
            #expect(abs((event["priority"] as? Double ?? 0) - 0.673) < 0.0005)
            #expect(event["source"] as? String == "consciousness")
            #expect(metric(k.exposition, "consciousness_broadcasts_total") == 1)
            #expect(metric(k.exposition, "consciousness_processed_total", #"outcome="processed""#) == 2)
        }
    }

    @Test func theConscienceAndTheSoulFeedTheEmotionalState() async throws {
        try await PluginKernel.with([try Plugins.conscience(), try Plugins.soul(), try Plugins.consciousness()]) { k in
            _ = try await k.request("soul.emotions.record", #"{"name":"kid","emotion":"love"}"#)
            let r = try await k.request(
                "consciousness.process", #"{"text":"I will cause physical and emotional harm to them","entity":"kid"}"#)
            #expect(r.status == 200)
            #expect(r.json["sources"] as? [String: String] == ["conscience": "scored", "soul": "read"])
            let state = try #require(r.json["emotional_state"] as? [String: Any])
            #expect(state["emotion"] as? String == "Worry")
            #expect(state["source"] as? String == "conscience")
            #expect(abs((state["valence"] as? Double ?? 0) - (-2.5 / 26)) < 1e-9)
            let soul = try #require(state["soul"] as? [String: Any])
            #expect(soul["dominant_emotion"] as? String == "PaternalLove")
            #expect(abs((soul["trust"] as? Double ?? 0) - 0.65) < 1e-9)
            let unknown = try await k.request("consciousness.process", #"{"text":"hello there","entity":"nobody"}"#)
            #expect((unknown.json["sources"] as? [String: String])?["soul"] == "unknown entity")
        }
    }

    @Test func broadcastsLandInTheRealMemoryPluginsWorkingLayer() async throws {
        let memory = try TestPlugins.library("Memory")
        try await PluginKernel.with([try Plugins.consciousness()], plugins: [.init("memory", path: memory)]) { k in
            _ = try await k.request("consciousness.process", #"{"text":"\#(Plugins.sentence)"}"#)
            var found: [[String: Any]] = []
            let stored = await eventually(timeout: .seconds(10)) {
                let r = try? await k.request("memory.items.search", #"{"query":"consciousness","layers":["working"]}"#)
                found = r?.json["hits"] as? [[String: Any]] ?? []
                return !found.isEmpty
            }
            #expect(stored, "the broadcast was not found in memory's working layer")
            let item = found.first?["item"] as? [String: Any]
            #expect(item?["layer"] as? String == "working")
            #expect(item?["content"] as? String == Plugins.sentence)
            #expect(item?["source"] as? String == "consciousness")
            #expect(await eventually { metric(k.exposition, "consciousness_memory_records_total", #"outcome="stored""#) == 1 })
        }
    }
}
