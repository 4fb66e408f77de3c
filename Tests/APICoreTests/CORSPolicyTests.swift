import APICore
import Testing

/// CORS decisions: listed origins, any origin, and origins that get no headers at all.
@Suite struct CORSPolicyTests {
    private func dictionary(_ headers: [CORSPolicy.Header]?) -> [String: String] {
        Dictionary((headers ?? []).map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func listedOrigin_getsItsOwnOriginAndVary() throws {
        let policy = CORSPolicy(allowedOrigins: ["https://ops.example.com"], maxAgeSeconds: 600)
        #expect(policy.isEnabled)
        let headers = dictionary(try #require(policy.headers(origin: "https://ops.example.com")))
        #expect(headers["Access-Control-Allow-Origin"] == "https://ops.example.com")
        #expect(headers["Access-Control-Expose-Headers"]?.contains("RateLimit-Remaining") == true)
        #expect(headers["Vary"] == "Origin")
    }

    @Test func disallowedOrigin_getsNoHeaders() {
        let policy = CORSPolicy(allowedOrigins: ["https://ops.example.com"], maxAgeSeconds: 600)
        #expect(!policy.allows("https://evil.example.com"))
        #expect(policy.headers(origin: "https://evil.example.com") == nil)
        #expect(policy.preflightHeaders(origin: "https://evil.example.com", methods: ["GET"]) == nil)
        #expect(policy.headers(origin: "https://ops.example.com.evil.com") == nil)
    }

    @Test func preflight_namesMethodsHeadersAndMaxAge() throws {
        let policy = CORSPolicy(allowedOrigins: ["https://ops.example.com"], maxAgeSeconds: 600)
        let headers = dictionary(
            try #require(policy.preflightHeaders(origin: "https://ops.example.com", methods: ["GET", "HEAD", "OPTIONS"])))
        #expect(headers["Access-Control-Allow-Origin"] == "https://ops.example.com")
        #expect(headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS")
        #expect(headers["Access-Control-Allow-Headers"]?.contains("Authorization") == true)
        #expect(headers["Access-Control-Max-Age"] == "600")
        #expect(headers["Vary"] == "Origin")
    }

    @Test func wildcard_allowsAnyOrigin_withoutVary() throws {
        let policy = CORSPolicy(allowedOrigins: ["*"], maxAgeSeconds: 60)
        let headers = dictionary(try #require(policy.headers(origin: "https://anywhere.example")))
        #expect(headers["Access-Control-Allow-Origin"] == "*")
        #expect(headers["Vary"] == nil)
    }

    @Test func noOrigins_isDisabled() {
        let policy = CORSPolicy(allowedOrigins: [], maxAgeSeconds: 60)
        #expect(!policy.isEnabled)
        #expect(policy.headers(origin: "https://ops.example.com") == nil)
    }
}
