import Foundation
import Testing

/// Bad requests are refused with a status and a sentence naming the field; nothing is stored.
@Suite struct BadInputTests {
    @Test func refusalsNameTheField() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let big = String(repeating: "x", count: 101)
            let tooMany = Array(repeating: #""k""#, count: 10_001).joined(separator: ",")
            let cases: [(String, String, Int, String)] = [
                ("cache.warm", #"{"namespace":"main","keys":[\#(tooMany)]}"#, 400, "keys: at most 10000 a request"),
                (
                    "cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":null}"#, 400,
                    "ttl_ms: expected a value, found null"
                ),
                ("cache.put", #"{"namespace":"small","key":"a","value":"\#(big)"}"#, 413, "value: 101 bytes exceeds"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":-5}"#, 400, "ttl_ms: expected an integer"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":1.5}"#, 400, "ttl_ms"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":"soon"}"#, 400, "ttl_ms"),
                ("cache.put", #"{"namespace":"nope","key":"a","value":"v"}"#, 404, "namespace: no namespace 'nope'"),
                ("cache.put", #"{"namespace":"main","key":"","value":"v"}"#, 400, "key: must not be empty"),
                ("cache.put", #"{"namespace":"main","key":"a"}"#, 400, "value: required"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","colour":1}"#, 400, "unknown member 'colour'"),
                (
                    "cache.put", #"{"namespace":"main","key":"a","value":"v","value":"w"}"#, 400,
                    "body: member 'value' appears more than once in one object"
                ),
                ("cache.get", #"{"namespace":"main"}"#, 400, "key: required"),
                ("cache.get", "not json", 400, "body: expected a JSON object"),
                ("cache.invalidate", #"{"namespace":"main"}"#, 400, "key, prefix: give exactly one"),
                ("cache.stats", #"{"namespace":"ghost"}"#, 404, "configured: cold, hot, loaded, main, small"),
            ]
            for (topic, body, status, detail) in cases {
                let reply = try await k.request(topic, body)
                #expect(reply.status == status, "\(topic) \(body)")
                #expect((reply.body["detail"] as? String)?.contains(detail) == true, "\(reply.body)")
            }
            #expect(try await k.get("main", "a").status == 404, "nothing was stored")
            let long = String(repeating: "k", count: 513)
            #expect(try await k.get("main", long).status == 400)
        }
    }

    /// Every topic, sent bodies of the wrong shape, size or type: each answer is a 2xx or a 4xx
    /// problem, never a 5xx, and the entry stored before is there unchanged after.
    @Test func hostileBodiesOnEveryTopicGetClearAnswersAndChangeNothing() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            #expect(try await k.put("main", "a", "kept") == 201)
            var bodies: [String] = [
                "", "{}", "[]", #""s""#, "1", "null", "true", "not json", #"{"namespace":1}"#,
                #"{"namespace":"main","key":1}"#, #"{"namespace":"main","key":null}"#, #"{"namespace":"main","key":["a"]}"#,
                #"{"namespace":"main","key":"a","value":"v","ttl_ms":1e309}"#,
                #"{"namespace":"main","key":"a","value":"v","ttl_ms":9223372036854775807}"#,
                #"{"namespace":"main","key":"a","value":"v","ttl_ms":0}"#, #"{"namespace":"main","prefix":""}"#,
                #"{"namespace":"main","key":"a","prefix":"a"}"#, #"{"namespace":"main","keys":"a"}"#,
                #"{"namespace":"main","keys":[1,2]}"#, #"{"namespace":"main","key":"a","value":{"nested":true}}"#,
            ]
            bodies.append(#"{"namespace":"main","key":""# + String(repeating: "k", count: 100_000) + #""}"#)
            bodies.append(
                #"{"namespace":"main","keys":["# + Array(repeating: #""x""#, count: 10_000).joined(separator: ",") + "]}")
            bodies.append(String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000))
            for topic in ["cache.get", "cache.put", "cache.invalidate", "cache.warm", "cache.stats"] {
                for body in bodies {
                    let reply = try await k.request(topic, body)
                    #expect(reply.status < 500, "\(topic) \(body.prefix(60)): \(reply.status) \(reply.body)")
                }
            }
            #expect(try await k.get("main", "a").body["value"] as? String == "kept")
        }
    }

    /// L3 keeps a key as SQLite text, which ends at the first NUL: `a\u0000b` was stored there as
    /// `a`, and a get of `a` answered it. A key, prefix or warm key holding U+0000 is refused.
    @Test func keysHoldingNULAreRefusedInEveryTier() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            #expect(try await k.put("main", "a", "plain a") == 201)
            let cases: [(String, String, String)] = [
                ("cache.put", #"{"namespace":"main","key":"a\u0000b","value":"v"}"#, "key"),
                ("cache.get", #"{"namespace":"main","key":"a\u0000b"}"#, "key"),
                ("cache.invalidate", #"{"namespace":"main","key":"a\u0000b"}"#, "key"),
                ("cache.invalidate", #"{"namespace":"main","prefix":"a\u0000"}"#, "prefix"),
                ("cache.warm", #"{"namespace":"main","keys":["a\u0000b"]}"#, "keys[]"),
            ]
            for (topic, body, field) in cases {
                let reply = try await k.request(topic, body)
                #expect(reply.status == 400, "\(topic) \(body)")
                #expect(reply.body["detail"] as? String == "\(field): the character U+0000 is not allowed", "\(reply.body)")
            }
            let a = try await k.get("main", "a")
            #expect(a.body["value"] as? String == "plain a", "neither the put nor the invalidations touched 'a'")
        }
    }
}
