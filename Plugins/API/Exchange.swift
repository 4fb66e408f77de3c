import APICore

/// What the gateway learns about one request while answering it, for the response headers, the
/// metrics and the access log.
struct Exchange: Sendable {
    /// The request id (echoed or generated).
    var requestID: String
    /// The client address (after trusted proxies).
    var client: String
    /// The request path (percent-encoded, without the query), read once.
    var path: String
    /// Who is calling.
    var caller = Caller.anonymous
    /// The matched route template, `unmatched` until one matches.
    var route = "unmatched"
    /// The rate limiter's decision, when the caller's scope is limited.
    var rate: RateLimiter.Decision?
    /// A health or readiness probe (never rate limited; its access-log lines have a budget).
    var probe = false
    /// The request reached its handler (which may have read its body).
    var dispatched = false
}
