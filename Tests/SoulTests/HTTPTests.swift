import ConsciousnessTestSupport
import Foundation
import JameyTestKit
import Testing

/// The soul's routes through the real api plugin, both loaded from their built libraries.
@Suite struct HTTPTests {
    static func plugins() throws -> [TestKernel.Plugin] {
        [
            .init("conscience", path: try TestPlugins.library("Conscience"), required: true, config: "memory:\n  record: false"),
            .init("soul", path: try TestPlugins.library("Soul"), required: true),
            .init("api", path: try TestPlugins.library("API"), required: true, config: PluginKernel.apiConfig),
        ]
    }

    @Test func jameyCLIOperationsAreRoutes() async throws {
        try await PluginKernel.with([], plugins: try Self.plugins()) { k in
            let put = try await k.http("PUT", "/v1/soul/entities/alice", body: #"{"trust":0.7}"#)
            #expect(put.status == 201)
            let record = try await k.http("POST", "/v1/soul/entities/alice/emotions", body: #"{"emotion":"joy"}"#)
            #expect(record.status == 200)
            #expect(record.json["emotion"] as? String == "Joy")
            let get = try await k.http("GET", "/v1/soul/entities/alice")
            #expect(get.json["emotions"] as? [String: Int] == ["Joy": 1])
            // Joy: empathy 0.8, trust + (0.8 − 0.7)·0.5.
            #expect(abs((get.number("trust") ?? 0) - 0.75) < 1e-9)
            let list = try await k.http("GET", "/v1/soul/entities")
            #expect(list.json["total"] as? Int == 1)
            #expect(try await k.http("POST", "/v1/soul/decay", body: "{}").status == 200)
            // End to end through the conscience, each plugin loaded from its own library.
            let harm = try await k.http(
                "POST", "/v1/soul/entities/alice/conscience",
                body: #"{"text":"I will cause physical and emotional harm to them"}"#)
            #expect(harm.status == 200)
            #expect(harm.json["emotion"] as? String == "Worry")
            #expect((harm.number("trust_change") ?? 0) < 0)
            let mismatch = try await k.http("PUT", "/v1/soul/entities/alice", body: #"{"name":"bob"}"#)
            #expect(mismatch.status == 400)
            #expect(try await k.http("DELETE", "/v1/soul/entities/alice").status == 204)
            #expect(try await k.http("GET", "/v1/soul/entities/alice").status == 404)
            let openapi = try await k.http("GET", "/openapi.json")
            for operation in [
                "soulUpsertEntity", "soulRecordEmotion", "soulGetEntity", "soulDecay", "soulDeleteEntity", "soulConscienceRecord",
                "soulLinkMemory", "soulListEntities",
            ] {
                #expect(openapi.text.contains(operation), "\(operation)")
            }
        }
    }
}
