import ConsciousnessTestSupport
import Foundation
import JameyKernel
import JameyTestKit
import Synchronization
import Testing

/// The routes through the real api plugin, with soul and consciousness loaded from their libraries.
@Suite struct HTTPTests {
    @Test func processAndMetricsRoutes() async throws {
        let plugins: [TestKernel.Plugin] = [
            .init("consciousness", path: try TestPlugins.library("Consciousness"), required: true),
            .init("soul", path: try TestPlugins.library("Soul"), required: true),
            .init("api", path: try TestPlugins.library("API"), required: true, config: PluginKernel.apiConfig),
        ]
        try await PluginKernel.with([], plugins: plugins) { k in
            _ = try await k.http("POST", "/v1/soul/entities/kid/emotions", body: #"{"emotion":"joy"}"#)
            let r = try await k.http(
                "POST", "/v1/consciousness/process", body: #"{"text":"\#(Plugins.sentence)","entity":"kid"}"#)
            #expect(r.status == 200)
            #expect(r.json["broadcast"] is [String: Any])
            #expect((r.json["emotional_state"] as? [String: Any])?["emotion"] as? String == "Joy")
            let bad = try await k.http("POST", "/v1/consciousness/process", body: #"{"text":""}"#)
            #expect(bad.status == 400)
            #expect(bad.contentType?.hasPrefix("application/problem+json") == true)
            let levels = try await k.http("GET", "/v1/consciousness/metrics")
            #expect(levels.status == 200)
            #expect(levels.json["processed"] as? Int == 1)
            let openapi = try await k.http("GET", "/openapi.json")
            #expect(openapi.text.contains("consciousnessProcess"))
            #expect(openapi.text.contains("consciousnessMetrics"))
        }
    }
}

/// Overload reaches HTTP callers as 429, through the real gateway.
@Suite struct OverloadHTTPTests {
    @Test func beyondMaxInFlightHTTPCallersGet429() async throws {
        let plugins: [TestKernel.Plugin] = [
            .init(
                "consciousness", path: try TestPlugins.library("Consciousness"), required: true,
                config: "max_in_flight: 1\ntimeout_ms: 20000"),
            .init(
                "api", path: try TestPlugins.library("API"), required: true,
                // The first request waits for the second: give it time on a loaded machine.
                config: PluginKernel.apiConfig + "\nlimits:\n  request_timeout_ms: 60000"),
        ]
        try await PluginKernel.with([], plugins: plugins) { k in
            // A conscience that answers only when the gate opens holds the first text in flight.
            let held = try HeldConscience(k, score: 0)
            async let first = k.http("POST", "/v1/consciousness/process", body: #"{"text":"the first text"}"#)
            #expect(await eventually { held.arrived == 1 })
            let second = try await k.http("POST", "/v1/consciousness/process", body: #"{"text":"the second text"}"#)
            held.release()
            #expect(second.status == 429)
            #expect(second.contentType?.hasPrefix("application/problem+json") == true)
            #expect(try await first.status == 200)
        }
    }
}
