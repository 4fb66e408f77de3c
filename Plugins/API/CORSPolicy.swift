import HTTPTypes

/// Which browser origins may call the API, and the headers that say so. An origin that is not
/// on the list gets no CORS headers at all, so the browser refuses the response.
struct CORSPolicy: Sendable {
    private let origins: Set<String>
    private let any: Bool
    private let maxAge: String

    /// Request headers a cross-origin caller may send.
    static let allowedHeaders = "Authorization, X-API-Key, Content-Type, Accept, X-Request-Id"
    /// Response headers a cross-origin caller may read.
    static let exposedHeaders = "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, Retry-After, X-Request-Id, Location"

    /// - Parameter configuration: `cors` from the config.
    init(_ configuration: APIConfiguration.CORS) {
        origins = Set(configuration.allowedOrigins.filter { $0 != "*" })
        any = configuration.allowedOrigins.contains("*")
        maxAge = String(configuration.maxAgeSeconds)
    }

    /// Whether any origin is allowed at all (skips all work when not).
    var isEnabled: Bool { any || !origins.isEmpty }

    /// Whether `origin` may call.
    func allows(_ origin: String) -> Bool { any || origins.contains(origin) }

    /// Adds the headers of an actual (non-preflight) response for an allowed origin.
    func decorate(_ headers: inout HTTPFields, origin: String) {
        headers[.accessControlAllowOrigin] = any ? "*" : origin
        headers[.accessControlExposeHeaders] = Self.exposedHeaders
        if !any { headers.append(HTTPField(name: .vary, value: "Origin")) }
    }

    /// Adds the headers of a preflight answer for an allowed origin.
    func decoratePreflight(_ headers: inout HTTPFields, origin: String, methods: [String]) {
        headers[.accessControlAllowOrigin] = any ? "*" : origin
        headers[.accessControlAllowMethods] = methods.joined(separator: ", ")
        headers[.accessControlAllowHeaders] = Self.allowedHeaders
        headers[.accessControlMaxAge] = maxAge
        if !any { headers.append(HTTPField(name: .vary, value: "Origin")) }
    }
}
