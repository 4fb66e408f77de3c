import ConsciousnessTestSupport
import Foundation
import JameyTestKit
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
