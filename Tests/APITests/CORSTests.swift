import Foundation
import Testing

/// Cross-origin requests: only origins on the allow-list get CORS headers.
@Suite struct CORSTests {
    @Test func allowedOriginsGetHeadersOthersDoNot() async throws {
        try await APIKernel.with(
            .init(
                config: "cors:\n  allowed_origins: [\"https://ops.example.com\"]\n  max_age_seconds: 120\n", probe: false,
                hello: false)
        ) { k in
            let preflight = try await HTTP.request(
                k.port, "OPTIONS", "/v1/plugins",
                headers: [
                    "Origin": "https://ops.example.com", "Access-Control-Request-Method": "GET",
                    "Access-Control-Request-Headers": "authorization",
                ])
            #expect(preflight.status == 204)
            #expect(preflight.header("access-control-allow-origin") == "https://ops.example.com")
            #expect(preflight.header("access-control-allow-methods") == "GET, HEAD, OPTIONS")
            #expect(preflight.header("access-control-allow-headers")?.contains("Authorization") == true)
            #expect(preflight.header("access-control-max-age") == "120")
            let actual = try await HTTP.get(k.port, "/healthz", headers: ["Origin": "https://ops.example.com"])
            #expect(actual.header("access-control-allow-origin") == "https://ops.example.com")
            #expect(actual.header("access-control-expose-headers")?.contains("RateLimit-Remaining") == true)
            #expect(actual.header("vary") == "Origin")
            let other = try await HTTP.get(k.port, "/healthz", headers: ["Origin": "https://evil.example.net"])
            #expect(other.header("access-control-allow-origin") == nil)
            let otherPreflight = try await HTTP.request(
                k.port, "OPTIONS", "/v1/plugins",
                headers: ["Origin": "https://evil.example.net", "Access-Control-Request-Method": "GET"])
            #expect(otherPreflight.header("access-control-allow-origin") == nil)
        }
    }
}
