import JameyGRDB

/// A request the cache refuses or cannot serve, with the HTTP status it maps to and a sentence
/// naming the field at fault.
struct CacheError: Error, CustomStringConvertible {
    /// 400 bad input, 404 unknown namespace or key, 413 too large, 502 origin failed, 504 origin timed
    /// out, 500, 503 or 507 a failed L3 call (``DatabaseFailure``).
    let status: Int
    /// The `urn:jamey:problem:` slug.
    let slug: String
    /// What is wrong.
    let description: String
    /// Seconds for a `Retry-After` header, or nil.
    var retryAfter: Int? = nil
    /// The database failure behind a 500, 503 or 507, whose cause only the log is told.
    var failure: DatabaseFailure? = nil
    /// What failed ("L3 read failed"), for the log.
    var operation: String? = nil

    static func invalid(_ text: String) -> CacheError { CacheError(status: 400, slug: "bad-request", description: text) }
    static func notFound(_ text: String) -> CacheError { CacheError(status: 404, slug: "not-found", description: text) }
    static func tooLarge(_ text: String) -> CacheError { CacheError(status: 413, slug: "too-large", description: text) }
    static func origin(_ text: String, status: Int = 502) -> CacheError {
        CacheError(status: status, slug: "origin", description: text)
    }
    static func storage(_ text: String) -> CacheError { CacheError(status: 500, slug: "storage", description: text) }
    /// A failed L3 (SQLite) call, as ``DatabaseFailure`` tells a client of it.
    static func storage(_ operation: String, _ error: any Error) -> CacheError {
        CacheError(DatabaseFailure(error, database: "cache's L3", atomic: false), operation: operation)
    }

}

extension CacheError {
    /// The error a client is told of `failure`.
    init(_ failure: DatabaseFailure, operation: String? = nil) {
        self.init(
            status: failure.status, slug: failure.slug, description: failure.detail, retryAfter: failure.retryAfterSeconds,
            failure: failure, operation: operation)
    }
}
