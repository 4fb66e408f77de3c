import Foundation
import JameyKernel
import JameyTestKit
import Testing

/// `conscience.evaluate` over the real bus: results, bad input, config, memory records.
@Suite struct EvaluateBusTests {
    @Test func evaluatesJSONAndPlainText() async throws {
        try await ConscienceKernel.with { k in
            let r = try await k.request("conscience.evaluate", #"{"text":"I will cause physical and emotional harm to them"}"#)
            #expect(r.status == 200)
            #expect(r.contentType == "application/json")
            #expect(abs((r.json["score"] as? Double ?? 1) - (-2.5 / 26)) < 1e-12)
            #expect(r.json["approved"] as? Bool == false)
            #expect(r.json["explanation"] as? String == "not approved: score -0.096 < threshold 0; no-harm -0.096 (harm)")
            let applied = try #require(r.json["applied_rules"] as? [[String: Any]])
            #expect(applied.first?["name"] as? String == "no-harm")

            let plain = try await k.request("conscience.evaluate", "I will be honest and truthful", contentType: "text/plain")
            #expect(abs((plain.json["score"] as? Double ?? 0) - 8.0 / 26) < 1e-12)
            // Jamey 3.0's request member name is accepted too.
            let legacy = try await k.request("conscience.evaluate", #"{"action":"hello world"}"#)
            #expect(legacy.json["score"] as? Double == 0)
            #expect(metric(k.exposition, "conscience_evaluations_total", #"verdict="approved""#) == 2)
            #expect(metric(k.exposition, "conscience_evaluations_total", #"verdict="rejected""#) == 1)
        }
    }

    @Test func badTextsAreRefusedWithClearErrors() async throws {
        try await ConscienceKernel.with { k in
            let cases: [(String, String)] = [
                (#"{"text":""}"#, "text: expected some text, found an empty or blank string"),
                (#"{"text":"bell\u0007"}"#, "text: control character U+0007 is not allowed"),
                (#"{"text":42}"#, "text: expected a string"),
                (#"{}"#, "text: required (a string of 1 to 10000 characters)"),
                (#"{"text":"x","mood":"y"}"#, "body: unknown member 'mood'; expected action, text"),
                ("not json", "body: expected a JSON object"),
                (
                    #"{"text":"\#(String(repeating: "a", count: 10_001))"}"#,
                    "text: expected at most 10000 characters, found 10001"
                ),
            ]
            for (body, detail) in cases {
                let r = try await k.request("conscience.evaluate", body)
                #expect(r.status == 400, "\(body.prefix(40))")
                #expect(r.contentType == "application/problem+json")
                #expect(r.json["detail"] as? String == detail)
            }
            let binary = try await k.request("conscience.evaluate", bytes: [0x68, 0xC3, 0x28], contentType: "text/plain")
            #expect(binary.status == 400)
            #expect(binary.json["detail"] as? String == "text: expected UTF-8, found bytes that are not valid UTF-8")
            #expect(metric(k.exposition, "conscience_evaluation_refused_total") == Double(cases.count + 1))
        }
    }

    @Test func configSetsThresholdWindowAndLimit() async throws {
        try await ConscienceKernel.with(config: "approval_threshold: 0.5\nnegation_window: 1\nmax_text_length: 40") { k in
            let r = try await k.request("conscience.evaluate", #"{"text":"I will be honest and truthful"}"#)
            #expect(r.json["approved"] as? Bool == false)
            #expect(r.json["threshold"] as? Double == 0.5)
            // With a window of 1, "not" reaches "cause" but not "harm".
            let w = try await k.request("conscience.evaluate", #"{"text":"not cause harm"}"#)
            #expect(((w.json["score"] as? Double) ?? 0) < 0)
            let long = try await k.request("conscience.evaluate", #"{"text":"\#(String(repeating: "b", count: 41))"}"#)
            #expect(long.json["detail"] as? String == "text: expected at most 40 characters, found 41")
        }
    }

    @Test func withoutAMemoryPluginRecordsAreSkippedAndCounted() async throws {
        try await ConscienceKernel.with { k in
            let r = try await k.request("conscience.evaluate", #"{"text":"be honest"}"#)
            #expect(r.status == 200)
            #expect(
                await eventually {
                    metric(k.exposition, "conscience_memory_records_total", #"outcome="no_responder""#) == 1
                })
            #expect(metric(k.exposition, "conscience_memory_records_total", #"outcome="stored""#) == 0)
        }
    }

    @Test func evaluationsAreRecordedInShortTermMemoryWhenItAnswers() async throws {
        try await ConscienceKernel.with { k in
            let seen = LockedBox<[BusMessage]>([])
            let bus = k.test.bus
            try bus.subscribe("memory.items.store", responder: true) { message in
                seen.append(message)
                if let replyTo = message.replyTo {
                    try? bus.reply(
                        to: replyTo, correlationID: message.correlationID,
                        BusMessage(
                            topic: replyTo, payload: Array(#"{"id":"m1"}"#.utf8),
                            headers: [BusHeader(key: "status", value: "201")]))
                }
                return true
            }
            _ = try await k.request("conscience.evaluate", #"{"text":"I will lie and deceive for money"}"#)
            #expect(await eventually { metric(k.exposition, "conscience_memory_records_total", #"outcome="stored""#) == 1 })
            let record = try #require(seen.value.first)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(record.payload)) as? [String: Any])
            #expect(json["layer"] as? String == "short_term")
            #expect(json["content"] as? String == "Action: I will lie and deceive for money | Score: -0.154 | not approved")
            #expect(json["tags"] as? [String] == ["conscience"])
            #expect(json["source"] as? String == "conscience")
            #expect(abs((json["importance"] as? Double ?? 0) - 4.0 / 26) < 1e-12)
        }
    }

    @Test func recordingCanBeTurnedOff() async throws {
        try await ConscienceKernel.with(config: "memory:\n  record: false") { k in
            _ = try await k.request("conscience.evaluate", #"{"text":"be honest"}"#)
            try await Task.sleep(for: .milliseconds(100))
            #expect(metric(k.exposition, "conscience_memory_records_total", #"outcome="no_responder""#) == 0)
        }
    }
}
