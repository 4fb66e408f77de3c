import JameyGRDB
import JameyPluginKit
import Logging

/// A failed memory operation: an HTTP-style status, a problem kind and one sentence for the
/// caller. Bus replies carry the status in the `status` header and the rest as problem+json.
struct MemoryError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status (400, 404, 409, 413, 500, or a database failure's 503 or 507).
    let status: Int
    /// Kebab-case problem kind; the `type` member is `urn:jamey:problem:<slug>`.
    let slug: String
    /// One sentence for the caller.
    let detail: String
    /// Seconds for a `Retry-After` header, or nil.
    var retryAfter: Int? = nil

    var description: String { detail }

    /// 400: the request is malformed.
    static func badRequest(_ detail: String) -> MemoryError { .init(status: 400, slug: "bad-request", detail: detail) }
    /// 400: the search query cannot run.
    static func badQuery(_ detail: String) -> MemoryError { .init(status: 400, slug: "bad-query", detail: detail) }
    /// A search stopped at `search_timeout_ms`.
    static func searchTimeout(_ timeout: Duration) -> MemoryError {
        .init(
            status: 503, slug: "search-timeout",
            detail:
                "the search ran past search_timeout_ms (\(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000) ms) and was stopped; narrow it (fewer or rarer words, fewer prefixes, filters)"
        )
    }
    /// 404: no such item.
    static func notFound(_ id: String) -> MemoryError {
        .init(status: 404, slug: "not-found", detail: "no memory item has the id '\(id.prefix(64))'")
    }
    /// 409: a near-duplicate exists and the policy is `reject`.
    static func duplicate(of id: String, similarity: Double) -> MemoryError {
        .init(
            status: 409, slug: "near-duplicate",
            detail: "a near-duplicate is already stored as '\(id)' (similarity \((similarity * 100).rounded() / 100))")
    }
    /// A failed store call, as ``DatabaseFailure`` tells the caller of it (500, 503 or 507);
    /// the cause goes to `logger` only, and the failure to `recent` (health).
    static func database(
        _ error: any Error, request: Message?, logger: Logger?, recent: RecentDatabaseFailures?
    ) -> MemoryError {
        let recent = recent ?? RecentDatabaseFailures()
        let failure = recent.failure(error, database: "memory", requestID: request?.requestID) { logger?.error("\($0)") }
        return .init(status: failure.status, slug: failure.slug, detail: failure.detail, retryAfter: failure.retryAfterSeconds)
    }
    /// 413: an item is too large.
    static func tooLarge(_ detail: String) -> MemoryError { .init(status: 413, slug: "too-large", detail: detail) }

    /// Refuses text holding U+0000 with a 400 naming `field`: SQLite takes bound text only up to
    /// its first NUL, so the rest would be lost from a stored item, or ignored by a filter or id.
    static func refuseNUL(_ text: String, _ field: String) throws(MemoryError) {
        guard text.utf8.contains(0) else { return }
        throw .badRequest("\(field): the character U+0000 is not allowed")
    }
}
