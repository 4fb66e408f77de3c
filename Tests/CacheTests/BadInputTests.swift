import Foundation
import Testing

/// Bad requests are refused with a status and a sentence naming the field; nothing is stored.
@Suite struct BadInputTests {
    @Test func refusalsNameTheField() async throws {
        try await CacheKernel.with { (k: CacheKernel) async throws in
            let big = String(repeating: "x", count: 101)
            let cases: [(String, String, Int, String)] = [
                ("cache.put", #"{"namespace":"small","key":"a","value":"\#(big)"}"#, 413, "value: 101 bytes exceeds"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":-5}"#, 400, "ttl_ms: expected an integer"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":1.5}"#, 400, "ttl_ms"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","ttl_ms":"soon"}"#, 400, "ttl_ms"),
                ("cache.put", #"{"namespace":"nope","key":"a","value":"v"}"#, 404, "namespace: no namespace 'nope'"),
                ("cache.put", #"{"namespace":"main","key":"","value":"v"}"#, 400, "key: must not be empty"),
                ("cache.put", #"{"namespace":"main","key":"a"}"#, 400, "value: required"),
                ("cache.put", #"{"namespace":"main","key":"a","value":"v","colour":1}"#, 400, "unknown member 'colour'"),
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
