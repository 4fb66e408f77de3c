import HTTPTypes

extension HTTPField.Name {
    /// `X-API-Key`: an API key, as an alternative to `Authorization: Bearer`.
    static let xAPIKey = HTTPField.Name("X-API-Key")!
    /// `X-Request-Id`: echoed when the client sends a sane one, generated otherwise.
    static let xRequestID = HTTPField.Name("X-Request-Id")!
    /// `X-Canary-Key`: the caller's key for a canary's sticky split (see `sticky.key`).
    static let xCanaryKey = HTTPField.Name("X-Canary-Key")!
    /// `X-Forwarded-For`: the client address, trusted only from `trusted_proxies`.
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
    /// `X-Frame-Options`.
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    /// `Referrer-Policy`.
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    /// `RateLimit-Limit`.
    static let rateLimitLimit = HTTPField.Name("RateLimit-Limit")!
    /// `RateLimit-Remaining`.
    static let rateLimitRemaining = HTTPField.Name("RateLimit-Remaining")!
    /// `RateLimit-Reset`.
    static let rateLimitReset = HTTPField.Name("RateLimit-Reset")!
}
