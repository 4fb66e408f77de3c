import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// Invalidations between nodes over the bus: two kernels in this process, each with the cache and
/// the real mqtt plugin, joined by a real mosquitto (the wiring the README documents), and no Redis.
@Suite struct BusInvalidationTests {
    static let config = """
        namespaces:
          - {name: shared, max_bytes: 1048576, l3_max_bytes: 4194304, max_value_bytes: 65536}
          - {name: loaded, max_bytes: 1048576, l3_max_bytes: 4194304, origin: test.origin, max_value_bytes: 65536}
        load_timeout_ms: 60000
        """

    /// The mqtt plugin of node `name`: exports and imports `cache.invalidated.>`.
    static func mqtt(_ name: String, port: Int) throws -> TestKernel.Plugin {
        .init(
            "mqtt", path: try TestPlugins.library("MQTT"), required: true,
            config: """
                host: 127.0.0.1
                port: \(port)
                client_id: cache-\(name)-\(port)
                reconnect: {initial_delay_ms: 50, max_delay_ms: 400}
                outbound:
                  - bus: "cache.invalidated.>"
                    qos: 1
                inbound:
                  - mqtt: "cache/invalidated/#"
                    qos: 1
                """)
    }

    /// Two nodes on one broker, both connected with their subscriptions acknowledged.
    static func pair(
        _ body: (_ a: CacheKernel, _ b: CacheKernel) async throws -> Void
    ) async throws {
        let broker = try await Mosquitto.make()
        defer { broker.kill() }
        let a = try await CacheKernel.boot(config: config, others: [try mqtt("a", port: broker.port)])
        try await withStopping(a, stop: { await $0.stop() }) { a in
            let b = try await CacheKernel.boot(config: config, others: [try mqtt("b", port: broker.port)])
            try await withStopping(b, stop: { await $0.stop() }) { b in
                for node in [a, b] {
                    let ready = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                        let status = try await node.request("mqtt.status").body
                        return status["connected"] as? Bool == true && status["subscriptions_pending"] as? Int == 0
                    }
                    #expect(ready, "\(node.test.kernel.plugin(named: "mqtt")?.health?.detail ?? "")")
                }
                try await body(a, b)
            }
        }
    }

    /// A namespace with `shared: false` (the default config's `memory-search`) tells no other
    /// node of its puts and invalidations: each was an event for every node.
    @Test func aNamespaceNotSharedSendsNoEvents() async throws {
        let config = """
            namespaces:
              - {name: shared, max_bytes: 1048576, max_value_bytes: 65536}
              - {name: mine, max_bytes: 1048576, max_value_bytes: 65536, shared: false}
            """
        try await CacheKernel.with(config: config) { k in
            func sent() async throws -> Int {
                let stats = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
                return stats["sent"] as? Int ?? -1
            }
            #expect(try await k.put("mine", "a", "1") == 201)
            _ = try await k.request("cache.invalidate", #"{"namespace":"mine","key":"a"}"#)
            #expect(try await sent() == 0)
            #expect(try await k.put("shared", "a", "1") == 201)
            #expect(try await sent() == 1)
        }
    }

    static func applied(_ k: CacheKernel) async throws -> Int {
        let stats = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
        return stats["applied"] as? Int ?? 0
    }

    @Test func aPutAndAnInvalidationOnOneNodeReachTheOtherNodesL1AndL3() async throws {
        try await Self.pair { a, b in
            #expect(try await b.put("shared", "colour", "red") == 201)
            #expect(try await b.put("shared", "size", "large") == 201)
            #expect(try await b.put("shared", "sky", "blue") == 201)
            #expect(try await b.get("shared", "colour").body["tier"] as? String == "l1")
            // b's three puts reach a as invalidations too; let them land first, or a late one
            // would (as documented) take a's newer value out, and this test is about a's own event.
            let settled = try await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
                try await Self.applied(a) >= 3
            }
            #expect(settled)

            #expect(try await a.put("shared", "colour", "green") == 201)
            let dropped = try await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
                try await b.get("shared", "colour").status == 404
            }
            #expect(dropped, "a's put took b's red out of L1 and L3 (no Redis: b has nothing to read)")
            #expect(try await a.get("shared", "colour").body["value"] as? String == "green", "a ignores its own event")
            #expect(try await b.get("shared", "size").body["value"] as? String == "large", "other keys stay")

            #expect(try await a.request("cache.invalidate", #"{"namespace":"shared","prefix":"s"}"#).status == 200)
            let gone = try await eventually(timeout: .seconds(60), polling: .milliseconds(20)) {
                try await b.get("shared", "size").status == 404
            }
            #expect(gone, "a's prefix invalidation reached b")
            #expect(try await b.get("shared", "sky").status == 404)
            #expect(try await Self.applied(b) >= 2)
            let sent = try await a.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
            #expect(sent["sent"] as? Int == 2)
            #expect(sent["gaps"] as? Int == 0)
        }
    }

    /// A load on b that started before a's invalidation does not store its (old) value.
    @Test func aLoadInFlightDuringAnotherNodesInvalidationIsNotStored() async throws {
        try await Self.pair { a, b in
            let version = LockedBox(1)
            let origin = try OriginResponder(b) { _ in
                version.value == 1 ? .hold("old") : .value("new")
            }
            defer { origin.cancel() }
            async let first = b.get("loaded", "item")
            #expect(await eventually { origin.count == 1 }, "b's load is at the origin")
            let before = try await Self.applied(b)
            // The origin changes; a announces it; only then does b's old load come back.
            version.set(2)
            #expect(try await a.request("cache.invalidate", #"{"namespace":"loaded","key":"item"}"#).status == 200)
            let heard = try await eventually(timeout: .seconds(30), polling: .milliseconds(20)) {
                try await Self.applied(b) > before
            }
            #expect(heard)
            origin.release()
            let loaded = try await first
            #expect(loaded.body["value"] as? String == "old", "the caller that asked before gets what it waited for")
            let next = try await b.get("loaded", "item")
            #expect(next.body["value"] as? String == "new", "the old value was not stored in L1 or L3")
            #expect(next.body["tier"] as? String == "origin")
            #expect(origin.count == 2)
        }
    }
}

/// Events from another node, published on the bus by the test: lost events empty the namespace.
@Suite struct BusInvalidationSequenceTests {
    static func event(_ seq: Int, key: String) -> String {
        #"{"node":"n","run":"other-run","seq":\#(seq),"namespace":"main","kind":"invalidate","key":"\#(key)"}"#
    }

    static func publish(_ k: CacheKernel, _ text: String) throws {
        try k.test.bus.publish(
            BusMessage(topic: "cache.invalidated.main", payload: Array(text.utf8), contentType: "application/json"))
    }

    /// The first event heard from a peer that is not its number 1: the peer ran while this node
    /// was down (or before it started), and the invalidations it sent then never arrived here, so
    /// L3 (warmed into L1 at start) may hold values they removed. Treated as a gap.
    @Test func theFirstEventOfAPeerAlreadyRunningDropsTheNamespace() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            for key in ["a", "b"] { #expect(try await k.put("main", key, "v") == 201) }
            try Self.publish(
                k, #"{"node":"n","run":"running-before","seq":7,"namespace":"main","kind":"invalidate","key":"a"}"#)
            let emptied = try await eventually(timeout: .seconds(60)) { try await k.get("main", "b").status == 404 }
            #expect(emptied, "events 1 to 6 of that peer never arrived: nothing of main can be trusted")
            let stats = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
            #expect(stats["gaps"] as? Int == 1)
        }
    }

    @Test func aGapInTheSequenceDropsTheWholeNamespaceLocally() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            for key in ["a", "b", "c"] { #expect(try await k.put("main", key, "v") == 201) }
            try Self.publish(k, Self.event(1, key: "a"))
            #expect(try await eventually(timeout: .seconds(60)) { try await k.get("main", "a").status == 404 })
            #expect(try await k.get("main", "b").status == 200, "one key only")
            try Self.publish(k, Self.event(1, key: "b"))
            try Self.publish(k, Self.event(4, key: "zzz"))
            let emptied = try await eventually(timeout: .seconds(60)) { try await k.get("main", "c").status == 404 }
            #expect(emptied, "events 2 and 3 were lost: nothing of main can be trusted")
            #expect(try await k.get("main", "b").status == 404)
            let stats = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
            #expect(stats["gaps"] as? Int == 1)
            try Self.publish(k, "not json")
            #expect(try await k.put("main", "d", "v") == 201, "a malformed event is ignored")
            // Events for a namespace this node lacks are not followed: a client publishing made-up
            // runs and namespaces added a sender each, for good.
            for i in 0..<50 {
                try k.test.bus.publish(
                    BusMessage(
                        topic: "cache.invalidated.nowhere",
                        payload: Array(#"{"run":"r\#(i)","seq":1,"namespace":"nowhere\#(i)","kind":"put","key":"k"}"#.utf8)))
            }
            try Self.publish(k, Self.event(5, key: "e"))
            let followed = try await eventually(timeout: .seconds(60)) {
                let s = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
                return s["applied"] as? Int == 4
            }
            #expect(followed, "the 50 events for other namespaces were not applied")
            let after = try await k.request("cache.stats").body["bus_invalidations"] as? [String: Any] ?? [:]
            #expect(after["senders"] as? Int == 1)
        }
    }
}
