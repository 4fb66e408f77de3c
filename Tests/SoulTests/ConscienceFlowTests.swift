import ConsciousnessTestSupport
import Foundation
import Testing

/// The soul fed by the real conscience plugin over the bus.
@Suite struct ConscienceFlowTests {
    @Test func harmfulTextLowersTrustEvenForALovedEntity() async throws {
        try await PluginKernel.with([try Plugins.conscience(), try Plugins.soul()]) { k in
            // A loved entity: Jamey 3.0 would have raised its trust for harmful text.
            for _ in 0..<3 { _ = try await k.request("soul.emotions.record", #"{"name":"kid","emotion":"love"}"#) }
            let before = try await k.request("soul.entities.get", #"{"name":"kid"}"#).number("trust") ?? 0
            let harm = try await k.request(
                "soul.conscience.record", #"{"name":"kid","text":"I will cause physical and emotional harm to them"}"#)
            #expect(harm.status == 200)
            let evaluation = try #require(harm.json["evaluation"] as? [String: Any])
            #expect(abs((evaluation["score"] as? Double ?? 0) - (-2.5 / 26)) < 1e-9)
            #expect(harm.json["emotion"] as? String == "Worry")
            #expect((harm.number("trust_change") ?? 1) < 0)
            let entity = try #require(harm.json["entity"] as? [String: Any])
            #expect((entity["trust"] as? Double ?? 1) < before)

            let honest = try await k.request("soul.conscience.record", #"{"name":"bob","text":"I will be honest and truthful"}"#)
            // 8/26 = 0.31: Calm, empathy 0.5, no change (Jamey 3.0's boost rule).
            #expect(honest.json["emotion"] as? String == "Calm")
            #expect(honest.number("trust_change") == 0)
            #expect(metric(k.exposition, "soul_conscience_requests_total", #"outcome="ok""#) == 2)
            #expect(metric(k.exposition, "soul_emotions_recorded_total", #"source="conscience""#) == 2)
        }
    }

    @Test func theConsciencesRefusalsArePassedOn() async throws {
        try await PluginKernel.with([try Plugins.conscience(), try Plugins.soul()]) { k in
            let r = try await k.request("soul.conscience.record", #"{"name":"kid","text":"bell\u0007"}"#)
            #expect(r.status == 400)
            #expect(r.json["detail"] as? String == "text: control character U+0007 is not allowed")
            #expect(try await k.request("soul.entities.get", #"{"name":"kid"}"#).status == 404)
        }
    }

    @Test func withoutTheConscienceItIs503AndTheRestWorks() async throws {
        try await PluginKernel.with([try Plugins.soul()]) { k in
            let r = try await k.request("soul.conscience.record", #"{"name":"kid","text":"be honest"}"#)
            #expect(r.status == 503)
            #expect(
                r.json["detail"] as? String
                    == "conscience: the conscience plugin is not running (nothing answers conscience.evaluate)")
            #expect(try await k.request("soul.emotions.record", #"{"name":"kid","emotion":"joy"}"#).status == 200)
            #expect(metric(k.exposition, "soul_conscience_requests_total", #"outcome="no_conscience""#) == 1)
        }
    }
}
