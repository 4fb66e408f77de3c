import ConsciousnessTestSupport
import Foundation
import JameyKernel
import JameyTestKit
import Synchronization
import Testing

/// Bad input, overload, concurrency and the levels report.
@Suite struct ProcessTests {
    @Test func badTextsAreRefusedWithClearErrors() async throws {
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            let cases: [(String, String)] = [
                (#"{"text":""}"#, "text: expected some text, found an empty or blank string"),
                (#"{"text":"bell\u0007"}"#, "text: control character U+0007 is not allowed"),
                (
                    #"{"text":"\#(String(repeating: "a", count: 10_001))"}"#,
                    "text: expected at most 10000 characters, found 10001"
                ),
                (#"{}"#, "text: required (a string of 1 to 10000 characters)"),
                (#"{"text":"x","mood":1}"#, "body: unknown member 'mood'; expected entity, text"),
                (#"{"text":7}"#, "text: expected a string"),
            ]
            for (body, detail) in cases {
                let r = try await k.request("consciousness.process", body)
                #expect(r.status == 400, "\(body.prefix(30))")
                #expect(r.json["detail"] as? String == detail)
            }
            let binary = try await k.request("consciousness.process", bytes: [0x68, 0xC3, 0x28], contentType: "text/plain")
            #expect(binary.json["detail"] as? String == "text: expected UTF-8, found bytes that are not valid UTF-8")
            let plain = try await k.request("consciousness.process", "plain text works", contentType: "text/plain")
            #expect(plain.status == 200)
            #expect(metric(k.exposition, "consciousness_processed_total", #"outcome="refused""#) == Double(cases.count + 1))
        }
    }

    @Test func beyondMaxInFlightCallersGet429() async throws {
        try await PluginKernel.with([try Plugins.consciousness("max_in_flight: 1\ntimeout_ms: 20000")]) { k in
            // A conscience that answers only when the gate opens holds the first request in flight.
            let held = try HeldConscience(k, score: 0.5)
            async let first = k.request("consciousness.process", #"{"text":"the first text"}"#)
            #expect(await eventually { held.arrived == 1 })
            let second = try await k.request("consciousness.process", #"{"text":"the second text"}"#)
            #expect(second.status == 429)
            #expect(
                second.json["detail"] as? String
                    == "consciousness: 1 texts are being processed (max_in_flight); try again shortly")
            held.release()
            let done = try await first
            #expect(done.status == 200)
            #expect((done.json["sources"] as? [String: String])?["conscience"] == "scored")
            #expect(metric(k.exposition, "consciousness_processed_total", #"outcome="overloaded""#) == 1)
        }
    }

    @Test func concurrentRequestsAllComplete() async throws {
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for t in 0..<8 {
                    group.addTask {
                        var ok = 0
                        for i in 0..<25 {
                            let r = try await k.request("consciousness.process", #"{"text":"task \#(t) text \#(i) urgent!"}"#)
                            if r.status == 200 { ok += 1 }
                        }
                        return ok
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(statuses == 200)
            let levels = try await k.request("consciousness.metrics")
            #expect(levels.json["processed"] as? Int == 200)
        }
    }

    @Test func metricsReportEveryLevelWithItsInputs() async throws {
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            for text in ["I think and reflect", Plugins.sentence, "I think and reflect"] {
                _ = try await k.request("consciousness.process", #"{"text":"\#(text)"}"#)
            }
            let levels = try await k.request("consciousness.metrics").json
            #expect(levels["processed"] as? Int == 3)
            let workspace = try #require(levels["workspace"] as? [String: Any])
            #expect(workspace["broadcasts"] as? Int == 1)
            #expect(workspace["half_life_seconds"] as? Double == 10)
            #expect((workspace["activity"] as? Double ?? 0) > 0)
            let attention = try #require(levels["attention"] as? [String: Any])
            #expect(attention["focus"] as? String == "reflect")
            #expect(attention["shifts"] as? Int == 2)
            let higher = try #require(levels["higher_order"] as? [String: Any])
            #expect((higher["last"] as? [String: Any])?["hits"] as? Int == 3)
            let prediction = try #require(levels["prediction"] as? [String: Any])
            #expect(prediction["last_surprise"] is Double)
            let integration = try #require(levels["integration"] as? [String: Any])
            #expect(integration["threshold"] as? Double == 0.005)
            #expect((integration["last"] as? [String: Any])?["features"] is [Double])
            #expect((levels["emotional_state"] as? [String: Any])?["source"] as? String == "none")
            #expect(metric(k.exposition, "consciousness_attention_shifts_total") == 2)
        }
    }
}

/// Snapshot and restore through the kernel's hooks.
@Suite struct SnapshotTests {
    @Test func theStateRoundTripsThroughTheKernelHooks() async throws {
        let directory = try TemporaryDirectory.make()
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            _ = try await k.request("consciousness.process", #"{"text":"\#(Plugins.sentence)"}"#)
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.snapshot(plugin: "consciousness", into: directory) }
        }
        try await PluginKernel.with([try Plugins.consciousness()]) { k in
            let kernel = k.test.kernel
            try await onThread { () throws(KernelError) in try kernel.restore(plugin: "consciousness", from: directory) }
            let levels = try await k.request("consciousness.metrics").json
            #expect(levels["processed"] as? Int == 1)
            #expect((levels["workspace"] as? [String: Any])?["broadcasts"] as? Int == 1)
            #expect((levels["attention"] as? [String: Any])?["focus"] as? String == "consciousness")
        }
    }
}

/// A deploy hands the workspace state to the new build (ABI 1.7 hand-over), through the real
/// built library and a copy of it at another path.
@Suite struct HandOverTests {
    @Test func aDeployedBuildGoesOnFromTheRunningOnesState() async throws {
        let library = try TestPlugins.library("Consciousness")
        let directory = try TemporaryDirectory.make(prefix: "jamey-consciousness-build")
        let copy = directory + "/libConsciousness-next.so"
        try FileManager.default.copyItem(atPath: library, toPath: copy)
        let k = try await onThread {
            try TestKernel.boot(plugins: [.init("consciousness", path: library, config: "timeout_ms: 20000")])
        }
        defer { k.shutdown() }
        for _ in 0..<2 {
            _ = try await onThread {
                try k.bus.requestSync(
                    BusMessage(
                        topic: "consciousness.process", payload: Array(#"{"text":"\#(Plugins.sentence)"}"#.utf8)),
                    timeout: .seconds(30))
            }
        }
        func levels() async throws -> [String: Any] {
            let reply = try await onThread {
                try k.bus.requestSync(BusMessage(topic: "consciousness.metrics", payload: []), timeout: .seconds(30))
            }
            return try JSONSerialization.jsonObject(with: Data(reply.payload)) as? [String: Any] ?? [:]
        }
        let before = try await levels()
        let steps = try await onThread { () throws(KernelError) in try k.kernel.deploy(plugin: "consciousness", path: copy) }
        #expect(steps.contains { $0.hasPrefix("handed over the running instance's state") }, "\(steps)")
        #expect(k.kernel.plugin(named: "consciousness")?.path == copy)
        let after = try await levels()
        #expect(after["processed"] as? Int == 2, "\(after)")
        let workspace = { (l: [String: Any]) in (l["workspace"] as? [String: Any])?["broadcasts"] as? Int }
        #expect(workspace(after) == workspace(before) && workspace(before) ?? 0 >= 1)
        #expect((after["attention"] as? [String: Any])?["focus"] as? String == "consciousness")
    }
}
