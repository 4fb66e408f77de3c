import Foundation
import JameyTestKit
import Testing

/// The `/v1/cache/...` routes through the real api plugin over 127.0.0.1.
@Suite struct HTTPTests {
    func send(_ k: CacheKernel, _ method: String, _ path: String, _ body: String? = nil) async throws -> (Int, [String: Any]) {
        try await ServedNode.send(port: k.port, key: CacheKernel.adminKey, method, path, body)
    }

    @Test func putGetDeleteStatsAndOpenAPI() async throws {
        try await CacheKernel.with(http: true) { (k: CacheKernel) async throws in
            #expect(k.port != 0)
            let put = try await send(k, "PUT", "/v1/cache/main/user1", #"{"value":"ada","ttl_ms":60000}"#)
            #expect(put.0 == 201)
            let got = try await send(k, "GET", "/v1/cache/main/user1")
            #expect(got.0 == 200)
            #expect(got.1["value"] as? String == "ada")
            #expect(got.1["tier"] as? String == "l1")
            let stats = try await send(k, "GET", "/v1/cache/stats")
            #expect((stats.1["namespaces"] as? [String: Any])?["main"] != nil)
            let tooBig = try await send(k, "PUT", "/v1/cache/small/x", #"{"value":"\#(String(repeating: "y", count: 200))"}"#)
            #expect(tooBig.0 == 413)
            #expect((tooBig.1["detail"] as? String)?.hasPrefix("value:") == true)
            #expect(try await send(k, "GET", "/v1/cache/nowhere/x").0 == 404)
            #expect(try await send(k, "DELETE", "/v1/cache/main/user1").0 == 200)
            #expect(try await send(k, "GET", "/v1/cache/main/user1").0 == 404)
            _ = try await send(k, "PUT", "/v1/cache/main/a1", #"{"value":"1"}"#)
            let prefix = try await send(k, "POST", "/v1/cache/invalidate", #"{"namespace":"main","prefix":"a"}"#)
            #expect(prefix.1["removed"] as? Int == 1)
            #expect(try await send(k, "POST", "/v1/cache/warm", #"{"namespace":"main"}"#).0 == 200)
            let openapi = try await send(k, "GET", "/openapi.json")
            let paths = openapi.1["paths"] as? [String: Any] ?? [:]
            #expect(paths["/v1/cache/{namespace}/{key}"] != nil)
            #expect(paths["/v1/cache/stats"] != nil)
        }
    }

    /// A key in the path is decoded once, by the gateway: `a%2541` is the key "a%41". The plugin
    /// decoded it a second time, so a put through the path stored "aA", which the bus's "a%41"
    /// did not find.
    @Test func aKeyInThePathIsDecodedOnce() async throws {
        try await CacheKernel.with(http: true) { (k: CacheKernel) async throws in
            #expect(try await send(k, "PUT", "/v1/cache/main/a%2541", #"{"value":"once"}"#).0 == 201)
            let got = try await k.get("main", "a%41")
            #expect(got.status == 200)
            #expect(got.body["value"] as? String == "once")
            #expect(try await k.get("main", "aA").status == 404)
            #expect(try await send(k, "GET", "/v1/cache/main/a%2541").1["key"] as? String == "a%41")
        }
    }

    /// A value that is not UTF-8 comes back from a get as `value_base64`, and a put takes that
    /// form too, so what a get returned can be put back (a put took only `value`).
    @Test func bytesThatAreNotUTF8RoundTripAsBase64() async throws {
        try await CacheKernel.with(http: true) { (k: CacheKernel) async throws in
            let bytes: [UInt8] = [0xFF, 0x00, 0xC3, 0x28, 0x61]
            let encoded = Data(bytes).base64EncodedString()
            #expect(try await send(k, "PUT", "/v1/cache/main/raw", #"{"value_base64":"\#(encoded)"}"#).0 == 201)
            let got = try await send(k, "GET", "/v1/cache/main/raw")
            #expect(got.1["value_base64"] as? String == encoded && got.1["value"] == nil)
            #expect(try await send(k, "PUT", "/v1/cache/main/copy", #"{"value_base64":"\#(encoded)","ttl_ms":60000}"#).0 == 201)
            #expect(try await send(k, "GET", "/v1/cache/main/copy").1["value_base64"] as? String == encoded)
            let both = try await send(k, "PUT", "/v1/cache/main/x", #"{"value":"a","value_base64":"YQ=="}"#)
            #expect(both.0 == 400)
            #expect(try await send(k, "PUT", "/v1/cache/main/x", #"{"value_base64":"not base64!"}"#).0 == 400)
            #expect(try await send(k, "PUT", "/v1/cache/main/x", #"{"ttl_ms":5}"#).0 == 400)
        }
    }
}
