/// Which browser origins may call the API, and the headers that say so. An origin that is not
/// on the list gets no CORS headers at all, so the browser refuses the response.
///
/// Decisions only: the headers come back as (name, value) pairs for the gateway to set.
package struct CORSPolicy: Sendable {
    /// One response header.
    package typealias Header = (name: String, value: String)

    private let origins: Set<String>
    private let any: Bool
    private let maxAge: String

    /// Request headers a cross-origin caller may send.
    package static let allowedHeaders = "Authorization, X-API-Key, Content-Type, Accept, X-Request-Id"
    /// Response headers a cross-origin caller may read.
    package static let exposedHeaders =
        "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-Id, Location"

    /// - Parameters:
    ///   - allowedOrigins: origins allowed to call (`https://ops.example.com`), or `*` for any.
    ///   - maxAgeSeconds: how long browsers may cache a preflight answer.
    package init(allowedOrigins: [String], maxAgeSeconds: Int) {
        origins = Set(allowedOrigins.filter { $0 != "*" })
        any = allowedOrigins.contains("*")
        maxAge = String(maxAgeSeconds)
    }

    /// Whether any origin is allowed at all (skips all work when not).
    package var isEnabled: Bool { any || !origins.isEmpty }

    /// Whether `origin` may call.
    package func allows(_ origin: String) -> Bool { any || origins.contains(origin) }

    /// The headers of an actual (non-preflight) response to `origin`.
    /// - Returns: nil when the origin is not allowed (the response gets no CORS headers).
    package func headers(origin: String) -> [Header]? {
        guard allows(origin) else { return nil }
        var headers: [Header] = [
            ("Access-Control-Allow-Origin", any ? "*" : origin),
            ("Access-Control-Expose-Headers", Self.exposedHeaders),
        ]
        if !any { headers.append(("Vary", "Origin")) }
        return headers
    }

    /// The headers of a preflight answer to `origin`.
    /// - Parameters:
    ///   - origin: the request's `Origin`.
    ///   - methods: the methods the path allows.
    /// - Returns: nil when the origin is not allowed (the preflight gets no CORS headers).
    package func preflightHeaders(origin: String, methods: [String]) -> [Header]? {
        guard allows(origin) else { return nil }
        var headers: [Header] = [
            ("Access-Control-Allow-Origin", any ? "*" : origin),
            ("Access-Control-Allow-Methods", methods.joined(separator: ", ")),
            ("Access-Control-Allow-Headers", Self.allowedHeaders),
            ("Access-Control-Max-Age", maxAge),
        ]
        if !any { headers.append(("Vary", "Origin")) }
        return headers
    }
}
