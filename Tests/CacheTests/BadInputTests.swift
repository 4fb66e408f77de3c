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
}
