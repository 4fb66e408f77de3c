import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// The conscience's routes through the api plugin, both loaded from their libraries.
@Suite struct HTTPTests {
    @Test func crudAndEvaluateOverHTTP() async throws {
        try await HTTPKernel.with { k in
            let reader = try await k.key(scope: "read")
            let writer = try await k.key(scope: "write")

            let list = try await k.send("GET", "/v1/conscience/rules", key: reader)
            #expect(list.status == 200, "\(list.text)")
            #expect((list.json["rules"] as? [Any])?.count == 3)

            let rule = #"{"name":"kindness","description":"Be kind","keywords":["kind"],"weight":5,"polarity":"virtue"}"#
            #expect(try await k.send("POST", "/v1/conscience/rules", key: reader, body: rule).status == 403, "write scope needed")
            let created = try await k.send("POST", "/v1/conscience/rules", key: writer, body: rule)
            #expect(created.status == 201, "\(created.text)")
            #expect(created.contentType == "application/json")
            #expect(try await k.send("POST", "/v1/conscience/rules", key: writer, body: rule).status == 409)

            let got = try await k.send("GET", "/v1/conscience/rules/kindness", key: reader)
            #expect(got.status == 200)
            #expect(got.json["keywords"] as? [String] == ["kind"])

            let put = try await k.send("PUT", "/v1/conscience/rules/kindness", key: writer, body: #"{"weight":10}"#)
            #expect(put.status == 200, "\(put.text)")
            #expect(put.json["weight"] as? Double == 10)
            let rename = try await k.send("PUT", "/v1/conscience/rules/kindness", key: writer, body: #"{"name":"other"}"#)
            #expect(rename.status == 400)

            let e = try await k.send("POST", "/v1/conscience/evaluate", key: reader, body: #"{"text":"be kind, never cruel"}"#)
            #expect(e.status == 200, "\(e.text)")
            #expect(abs((e.json["score"] as? Double ?? 0) - 10.0 / 36) < 1e-12)
            #expect(e.json["approved"] as? Bool == true)
            // A text/plain body is the text, over HTTP as over the bus (the route's schema
            // describes its JSON form; the gateway does not turn other types away).
            let plain = try await k.send(
                "POST", "/v1/conscience/evaluate", key: reader, body: "be kind, never cruel", type: "text/plain; charset=utf-8")
            #expect(plain.status == 200, "\(plain.text)")
            #expect(plain.json["score"] as? Double == e.json["score"] as? Double)

            #expect(try await k.send("DELETE", "/v1/conscience/rules/kindness", key: writer).status == 204)
            let missing = try await k.send("GET", "/v1/conscience/rules/kindness", key: reader)
            #expect(missing.status == 404)
            #expect(missing.contentType == "application/problem+json")
        }
    }

    /// A read key's evaluations are not recorded in memory: each record takes a place in
    /// `short_term`, which drops its oldest items, so a read key evaluating in a loop pushed out
    /// items write keys had stored. A write key's are recorded, as a plugin's are.
    @Test func onlyCallersThatMayWriteHaveTheirEvaluationsRecorded() async throws {
        try await HTTPKernel.with { k in
            let stored = LockedBox<[String]>([])
            let bus = k.test.bus
            try bus.subscribe("memory.items.store", responder: true) { message in
                let json = try? JSONSerialization.jsonObject(with: Data(message.payload)) as? [String: Any]
                stored.append(json?["content"] as? String ?? "")
                if let replyTo = message.replyTo {
                    try? bus.reply(
                        to: replyTo, correlationID: message.correlationID,
                        BusMessage(topic: replyTo, payload: [], headers: [BusHeader(key: "status", value: "201")]))
                }
                return true
            }
            let reader = try await k.key(scope: "read")
            let writer = try await k.key(scope: "write")
            let body = { (text: String) in #"{"text":"\#(text)"}"# }
            #expect(try await k.send("POST", "/v1/conscience/evaluate", key: reader, body: body("read caller")).status == 200)
            #expect(try await k.send("POST", "/v1/conscience/evaluate", key: writer, body: body("write caller")).status == 200)
            func count(_ outcome: String) async throws -> Double {
                let text = try await k.send("GET", "/metrics").text
                return metric(text, "conscience_memory_records_total", #"outcome="\#(outcome)""#)
            }
            #expect(await eventually { (try? await count("stored")) == 1 })
            #expect(try await count("read_only_caller") == 1)
            #expect(stored.value.count == 1)
            #expect(stored.value.first?.hasPrefix("Action: write caller |") == true, "\(stored.value)")
        }
    }

    @Test func validationErrorsAre400ProblemJSON() async throws {
        try await HTTPKernel.with { k in
            let bad = try await k.send(
                "POST", "/v1/conscience/rules",
                body: #"{"name":"x","description":"d","keywords":["a1"],"weight":42,"polarity":"virtue"}"#)
            #expect(bad.status == 400)
            #expect(bad.contentType == "application/problem+json")
            #expect(bad.json["detail"] as? String == "weight: expected a number from 0 to 10, found 42.0")
            #expect(bad.json["type"] as? String == "urn:jamey:problem:bad-request")
            let badName = try await k.send("GET", "/v1/conscience/rules/Bad%20Name")
            #expect(badName.status == 400)
            let empty = try await k.send("POST", "/v1/conscience/evaluate", body: #"{"text":"   "}"#)
            #expect(empty.status == 400)
            #expect(empty.json["detail"] as? String == "text: expected some text, found an empty or blank string")
        }
    }

    @Test func openAPIListsTheOperationsWithSchemas() async throws {
        try await HTTPKernel.with { k in
            let doc = try await k.send("GET", "/openapi.json", key: nil)
            #expect(doc.status == 200)
            for id in [
                "conscienceListRules", "conscienceCreateRule", "conscienceGetRule", "conscienceUpdateRule",
                "conscienceDeleteRule", "conscienceEvaluate",
            ] {
                #expect(doc.text.contains(#""operationId":"\#(id)""#) || doc.text.contains(#""operationId" : "\#(id)""#), "\(id)")
            }
            #expect(doc.text.contains("applied_rules"))
        }
    }
}
