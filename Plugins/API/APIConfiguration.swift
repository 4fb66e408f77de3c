import APICore
import Foundation
import JameyPluginKit

/// The api plugin's config section (`plugins.api.config`), decoded after the kernel validated it
/// against the schema in ``API/manifest`` (so every key is present, defaults filled in).
public struct APIConfiguration: Decodable, Sendable {
    /// Address to listen on.
    var host: String
    /// Port to listen on; 0 picks a free port (the bound address is in the plugin's health detail).
    var port: Int
    /// An admin key given in the config (secret); `JAMEY_API_ADMIN_KEY` takes precedence.
    var adminKey: String?
    /// Serve `/metrics` without a key.
    var metricsPublic: Bool
    /// Write one log line per request.
    var accessLog: Bool
    /// Peers whose `X-Forwarded-For` is trusted for the client address.
    var trustedProxies: [String]
    /// Days a revoked or expired key is kept (listed, and answered "revoked" or "expired")
    /// before it is deleted; 0 keeps them for good.
    var keyRetentionDays: Int
    /// Size and time limits.
    var limits: Limits
    /// Token-bucket limits per scope.
    var rateLimits: RateLimits
    /// Cross-origin requests.
    var cors: CORS
    /// TLS (both files set: HTTPS).
    var tls: TLS

    /// Size and time limits.
    struct Limits: Decodable, Sendable {
        /// Largest request body accepted (413 beyond).
        var maxBodyBytes: Int
        /// Largest total size of the request head's header fields.
        var maxHeaderBytes: Int
        /// Time allowed to receive a request head once its first byte arrived.
        var headerTimeoutMs: Int
        /// Time allowed to receive a request body once its head arrived.
        var bodyTimeoutMs: Int
        /// A connection whose client takes no response bytes for this long is closed.
        var writeTimeoutMs: Int
        /// An idle connection is closed after this long.
        var idleTimeoutMs: Int
        /// Open connections, all clients (no more are accepted beyond; 0: no cap).
        var maxConnections: Int
        /// Open connections of one client address, trusted proxies aside (503 and close beyond).
        var maxConnectionsPerClient: Int
        /// Timeout of bus requests made for HTTP requests (forwarded routes, /v1/bus/request).
        var requestTimeoutMs: Int
        /// Timeout of the kernel operations (config reload, deploy, canary), which stop and start
        /// plugins under their own hook deadlines.
        var operationTimeoutMs: Int
        /// How long `stop` lets in-flight requests finish before closing connections.
        var shutdownGraceMs: Int
        /// Concurrent Server-Sent Events streams (503 beyond).
        var maxSseStreams: Int
        /// Concurrent streams of one caller: its key, or its client address without one (429 beyond).
        var maxSseStreamsPerCaller: Int
        /// `/v1/bus/request` calls one caller may have waiting for replies at once (429 beyond; 0:
        /// no cap).
        var maxBusRequestsPerCaller: Int
        /// Interval of SSE keep-alive comments.
        var sseHeartbeatMs: Int
    }

    /// Cross-origin resource sharing.
    struct CORS: Decodable, Sendable {
        /// Origins allowed to call the API from a browser (`https://ops.example.com`), or `*`.
        var allowedOrigins: [String]
        /// How long browsers may cache a preflight answer.
        var maxAgeSeconds: Int
    }

    /// TLS files (PEM).
    struct TLS: Decodable, Sendable {
        /// Certificate chain.
        var certFile: String
        /// Private key.
        var keyFile: String

        /// Whether TLS is configured.
        var enabled: Bool { !certFile.isEmpty || !keyFile.isEmpty }
    }
}

extension APIConfiguration {
    /// What the schema cannot say (ABI 1.6 `check`), every problem found: entries that could
    /// never match, which would otherwise have no effect at all — a trusted proxy is compared
    /// with the peer's address as a string, so it must be an IP address (not a name or a CIDR
    /// range); an origin is compared with the browser's `Origin` header, which is
    /// `scheme://host[:port]` with nothing after it — and TLS files that are missing, unreadable,
    /// not PEM, or a key that is not the certificate's (found at start before, after the other
    /// plugins had started).
    func problems() -> [String] {
        var found: [String] = []
        for (i, proxy) in trustedProxies.enumerated() where !Self.isIPAddress(proxy) {
            found.append(
                "trusted_proxies[\(i)]: '\(proxy)' is not an IP address (list each proxy's address; names and CIDR ranges are not matched)"
            )
        }
        for (i, origin) in cors.allowedOrigins.enumerated() where origin != "*" && !Self.isOrigin(origin) {
            found.append(
                "cors.allowed_origins[\(i)]: '\(origin)' is not an origin: write scheme://host[:port], lower case, with no path or trailing slash (or *)"
            )
        }
        if let problem = tls.problem { found.append(problem) }
        return found
    }

    static func isIPAddress(_ text: String) -> Bool { canonicalAddress(text) != nil }

    /// `text` as an IP address in the form the peer's address is written in (`2001:db8::1` for
    /// `2001:DB8:0::1`), or nil when it is none.
    /// ``canonicalAddress(_:)`` in the form peers are named in (``SocketAddress/clientAddress``):
    /// an IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) as its IPv4 address.
    static func clientAddress(_ text: String) -> String? {
        guard let canonical = canonicalAddress(text) else { return nil }
        let tail = canonical.lowercased().hasPrefix("::ffff:") ? String(canonical.dropFirst(7)) : ""
        if !tail.isEmpty, !tail.contains(":"), let v4 = canonicalAddress(tail) { return v4 }
        return canonical
    }

    static func canonicalAddress(_ text: String) -> String? {
        var v4 = in_addr()
        var v6 = in6_addr()
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        if inet_pton(AF_INET, text, &v4) == 1, inet_ntop(AF_INET, &v4, &buffer, socklen_t(buffer.count)) != nil {
            return String(cString: buffer)
        }
        if inet_pton(AF_INET6, text, &v6) == 1, inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil {
            return String(cString: buffer)
        }
        return nil
    }

    static func isOrigin(_ text: String) -> Bool {
        guard let url = URLComponents(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            let host = url.host, !host.isEmpty, url.path.isEmpty, url.query == nil, url.fragment == nil,
            url.user == nil
        else { return false }
        return text == text.lowercased()
    }
}
