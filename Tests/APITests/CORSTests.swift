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

/// Entries that could never match are refused at start, naming the entry (they had no effect).
@Suite struct UnmatchableEntriesTests {
    @Test(arguments: [
        ("trusted_proxies: [\"10.0.0.0/8\"]", "trusted_proxies[0]: '10.0.0.0/8' is not an IP address"),
        ("trusted_proxies: [\"127.0.0.1\", \"localhost\"]", "trusted_proxies[1]: 'localhost' is not an IP address"),
        (
            "cors:\n  allowed_origins: [\"https://ops.example.com/\"]",
            "cors.allowed_origins[0]: 'https://ops.example.com/' is not an origin"
        ),
        ("cors:\n  allowed_origins: [\"ops.example.com\"]", "cors.allowed_origins[0]: 'ops.example.com' is not an origin"),
        (
            "cors:\n  allowed_origins: [\"https://Ops.Example.com\"]",
            "cors.allowed_origins[0]: 'https://Ops.Example.com' is not an origin"
        ),
    ])
    func isRefused(_ config: String, _ message: String) async throws {
        var thrown = ""
        do {
            try await APIKernel.with(.init(config: config + "\n", probe: false, hello: false)) { _ in }
        } catch {
            thrown = "\(error)"
        }
        #expect(thrown.contains(message), "\(thrown)")
    }

    /// Behind a trusted proxy the client is the last X-Forwarded-For entry only when it is an IP
    /// address: any text was taken as the client, for the access log and the rate limiter (a
    /// forged entry was a fresh rate-limit bucket).
    @Test func aForwardedForThatIsNotAnAddressIsNotTheClient() async throws {
        let config = "trusted_proxies: [\"127.0.0.1\"]\nrate_limits:\n  public: {rate: 0.001, burst: 1}\n"
        try await APIKernel.with(.init(config: config, probe: false, hello: false)) { k in
            #expect(try await HTTP.request(k.port, "GET", "/openapi.json").status == 200, "the proxy's own token")
            let forged = try await HTTP.request(
                k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.7 key=forged id=x"])
            #expect(forged.status == 429, "counted as the proxy, whose token is spent")
            let other = try await HTTP.request(k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.8"])
            #expect(other.status == 200, "an address is a client of its own")
            let withPort = try await HTTP.request(
                k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.8:4711"])
            #expect(withPort.status == 429, "the same client, a port added by the proxy")
            let sameInOtherSpelling = try await HTTP.request(
                k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "2001:db8:0:0:0:0:0:1"])
            #expect(sameInOtherSpelling.status == 200)
            let canonical = try await HTTP.request(k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "2001:db8::1"])
            #expect(canonical.status == 429, "one client however its address is written")
        }
    }

    /// On a dual-stack listener (`host: "::"`) an IPv4 peer is `::ffff:127.0.0.1` to the socket;
    /// a trusted proxy written as `127.0.0.1` is still recognised, so its clients are told apart
    /// by X-Forwarded-For (they all shared the proxy's bucket).
    @Test func anIPv4ProxyIsTrustedOnADualStackListener() async throws {
        let config = "host: \"::\"\ntrusted_proxies: [\"127.0.0.1\"]\nrate_limits:\n  public: {rate: 0.001, burst: 1}\n"
        try await APIKernel.with(.init(config: config, probe: false, hello: false)) { k in
            let first = try await HTTP.request(k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.7"])
            #expect(first.status == 200)
            let again = try await HTTP.request(k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.7"])
            #expect(again.status == 429, "the same client")
            let other = try await HTTP.request(k.port, "GET", "/openapi.json", headers: ["X-Forwarded-For": "203.0.113.8"])
            #expect(other.status == 200, "another client behind the proxy, not the proxy's spent token")
        }
    }

    @Test func addressesAndOriginsThatCanMatchAreTaken() async throws {
        let config =
            "trusted_proxies: [\"127.0.0.1\", \"::1\"]\ncors:\n  allowed_origins: [\"https://ops.example.com:8443\", \"http://localhost:3000\"]\n"
        try await APIKernel.with(.init(config: config, probe: false, hello: false)) { k in
            let status = try await HTTP.get(k.port, "/healthz").status
            #expect(status == 200)
        }
    }
}
