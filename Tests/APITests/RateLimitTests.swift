import Foundation
import Testing

/// Token buckets per key and per client address, with the RateLimit headers and 429.
@Suite struct RateLimitTests {
    static let tight = """
        rate_limits:
          public: {rate: 0.05, burst: 3}
          read: {rate: 0.05, burst: 2}
          write: {rate: 0, burst: 1}
          admin: {rate: 100000, burst: 100000}

        """

    @Test func anonymousCallersAreLimitedPerAddressWithHeaders() async throws {
        try await APIKernel.with(.init(config: Self.tight, probe: false, hello: false)) { k in
            let first = try await HTTP.get(k.port, "/openapi.json")
            #expect(first.status == 200)
            #expect(first.header("ratelimit-limit") == "3")
            #expect(first.header("ratelimit-remaining") == "2")
            // One token per 20 s: slow enough that a loaded machine cannot refill the bucket
            // between these requests.
            #expect(first.header("ratelimit-reset").flatMap(Int.init).map { (1...20).contains($0) } == true)
            _ = try await HTTP.get(k.port, "/openapi.json")
            #expect(try await HTTP.get(k.port, "/openapi.json").status == 200)
            let refused = try await HTTP.get(k.port, "/openapi.json")
            #expect(refused.status == 429)
            #expect(refused.header("content-type") == "application/problem+json")
            #expect(refused.json["type"] as? String == "urn:jamey:problem:rate-limited")
            #expect(refused.header("retry-after").flatMap(Int.init).map { (1...20).contains($0) } == true)
            #expect(refused.header("ratelimit-remaining") == "0")
            // Keys have their own buckets, by scope.
            let metrics = try await HTTP.get(k.port, "/metrics", key: APIKernel.adminKey)
            #expect(metrics.status == 200)
            #expect(metricValue(metrics.text, #"api_http_throttled_total{plugin="api",scope="public"}"#) == 1, "\(metrics.text)")
            #expect(
                metricValue(
                    metrics.text, #"api_http_requests_total{plugin="api",route="/openapi.json",method="GET",status="429"}"#)
                    == 1)
            // Health and readiness probes are never limited (a prober sharing an address with busy
            // clients saw "not ready" as 429s), and carry no RateLimit headers.
            for _ in 0..<10 {
                for path in ["/healthz", "/readyz"] {
                    let probe = try await HTTP.get(k.port, path)
                    #expect(probe.status == 200, "\(path): \(probe.status)")
                    #expect(probe.header("ratelimit-limit") == nil)
                }
            }
        }
    }

    @Test func eachKeyHasItsOwnBucketSizedByScope() async throws {
        try await APIKernel.with(.init(config: Self.tight, probe: false, hello: false)) { k in
            let (_, a) = try await k.createKey(scope: "read")
            let (_, b) = try await k.createKey(scope: "read")
            #expect(try await HTTP.get(k.port, "/v1/plugins", key: a).status == 200)
            #expect(try await HTTP.get(k.port, "/v1/plugins", key: a).status == 200)
            let refused = try await HTTP.get(k.port, "/v1/plugins", key: a)
            #expect(refused.status == 429)
            #expect(refused.header("ratelimit-limit") == "2")
            #expect(try await HTTP.get(k.port, "/v1/plugins", key: b).status == 200, "another key is not affected")
            let (_, w) = try await k.createKey(scope: "write")
            let unlimited = try await HTTP.get(k.port, "/v1/plugins", key: w)
            #expect(unlimited.status == 200)
            #expect(unlimited.header("ratelimit-limit") == nil, "rate 0 turns limiting off")
        }
    }
}
