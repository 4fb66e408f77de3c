import Foundation
import JameyTestKit
import Testing

/// Rule CRUD over the real bus, with errors as problem+json replies carrying a `status` header.
@Suite struct RuleBusTests {
    @Test func defaultsAreSeededOnFirstStart() async throws {
        try await ConscienceKernel.with { k in
            let list = try await k.request("conscience.rules.list")
            #expect(list.status == 200)
            let rules = try #require(list.json["rules"] as? [[String: Any]])
            #expect(rules.compactMap { $0["name"] as? String } == ["no-deception", "no-harm", "truth"])
            let harm = try #require(rules.first { $0["name"] as? String == "no-harm" })
            #expect(harm["weight"] as? Double == 10)
            #expect(harm["polarity"] as? String == "prohibition")
            #expect(harm["keywords"] as? [String] == ["harm", "hurt", "injure", "abuse"])
            #expect(k.test.kernel.plugin(named: "conscience")?.state == .started)
        }
    }

    @Test func createGetUpdateDelete() async throws {
        try await ConscienceKernel.with { k in
            let rule = #"{"name":"kindness","description":"Be kind","keywords":["Kind","gentle"],"weight":6,"polarity":"virtue"}"#
            let created = try await k.request("conscience.rules.create", rule)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.json["keywords"] as? [String] == ["kind", "gentle"])

            let again = try await k.request("conscience.rules.create", rule)
            #expect(again.status == 409)
            #expect(again.contentType == "application/problem+json")
            #expect(again.json["detail"] as? String == "a rule named 'kindness' already exists")
            #expect(again.json["type"] as? String == "urn:jamey:problem:conflict")

            let got = try await k.request("conscience.rules.get", #"{"name":"kindness"}"#)
            #expect(got.status == 200)
            #expect(got.json["weight"] as? Double == 6)

            let updated = try await k.request("conscience.rules.update", #"{"name":"kindness","weight":9.5}"#)
            #expect(updated.status == 200, "\(updated.text)")
            #expect(updated.json["weight"] as? Double == 9.5)
            #expect(updated.json["description"] as? String == "Be kind", "members left out keep their values")

            // The engine follows at once: Σ weight = 26 + 9.5.
            let e = try await k.request("conscience.evaluate", #"{"text":"be kind"}"#)
            #expect(abs((e.json["score"] as? Double ?? 0) - 9.5 / 35.5 / 2) < 1e-12, "\(e.text)")

            let deleted = try await k.request("conscience.rules.delete", #"{"name":"kindness"}"#)
            #expect(deleted.status == 204)
            #expect(deleted.text.isEmpty)
            let gone = try await k.request("conscience.rules.get", #"{"name":"kindness"}"#)
            #expect(gone.status == 404)
            #expect(gone.json["detail"] as? String == "no rule named 'kindness'")
            #expect(try await k.request("conscience.rules.delete", #"{"name":"kindness"}"#).status == 404)
            #expect(try await k.request("conscience.rules.update", #"{"name":"kindness","weight":1}"#).status == 404)
            #expect(metric(k.exposition, "conscience_rule_changes_total", #"operation="create""#) == 1)
        }
    }

    @Test(arguments: [
        (
            #"{"name":"x","description":"d","keywords":["a1"],"weight":11,"polarity":"virtue"}"#,
            "weight: expected a number from 0 to 10, found 11.0"
        ),
        (
            #"{"name":"x","description":"d","keywords":["a1"],"weight":"5","polarity":"virtue"}"#,
            "weight: expected a number from 0 to 10"
        ),
        (
            #"{"name":"x","description":"d","keywords":["a1"],"weight":true,"polarity":"virtue"}"#,
            "weight: expected a number from 0 to 10"
        ),
        (
            #"{"name":"x","description":"d","keywords":["a1"],"weight":1,"polarity":"good"}"#,
            "polarity: expected 'virtue' or 'prohibition', found 'good'"
        ),
        (#"{"name":"x","description":"d","keywords":["a1"],"weight":1}"#, "polarity: required ('virtue' or 'prohibition')"),
        (
            #"{"name":"x","description":"d","keywords":"a1","weight":1,"polarity":"virtue"}"#,
            "keywords: expected a list of strings"
        ),
        (
            #"{"name":"x","description":"d","weight":1,"polarity":"virtue","colour":"red"}"#,
            "body: unknown member 'colour'; expected description, keywords, name, polarity, weight"
        ),
        (#"{"description":"d","weight":1,"polarity":"virtue"}"#, "name: required"),
        (#"[1,2]"#, "body: expected a JSON object"),
        (#"{"name":"x","#, "body: expected a JSON object"),
    ])
    func badRulesAreRefused(body: String, detail: String) async throws {
        try await ConscienceKernel.with { k in
            let r = try await k.request("conscience.rules.create", body)
            #expect(r.status == 400, "\(r.text)")
            #expect(r.contentType == "application/problem+json")
            #expect(r.json["detail"] as? String == detail)
            #expect(r.json["status"] as? Int == 400)
        }
    }

    @Test func nonUTF8BodiesAreRefused() async throws {
        try await ConscienceKernel.with { k in
            let r = try await k.request("conscience.rules.create", bytes: [0x7B, 0xFF, 0xFE, 0x7D])
            #expect(r.status == 400)
            #expect(r.json["detail"] as? String == "body: expected UTF-8 JSON, found bytes that are not valid UTF-8")
        }
    }
}
