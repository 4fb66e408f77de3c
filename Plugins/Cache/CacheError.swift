/// A request the cache refuses or cannot serve, with the HTTP status it maps to and a sentence
/// naming the field at fault.
struct CacheError: Error, CustomStringConvertible {
    /// 400 bad input, 404 unknown namespace or key, 413 too large, 502 origin failed, 504 origin timed out.
    let status: Int
    /// The `urn:jamey:problem:` slug.
    let slug: String
    /// What is wrong.
    let description: String

    static func invalid(_ text: String) -> CacheError { CacheError(status: 400, slug: "bad-request", description: text) }
    static func notFound(_ text: String) -> CacheError { CacheError(status: 404, slug: "not-found", description: text) }
    static func tooLarge(_ text: String) -> CacheError { CacheError(status: 413, slug: "too-large", description: text) }
    static func origin(_ text: String, status: Int = 502) -> CacheError {
        CacheError(status: status, slug: "origin", description: text)
    }
    static func storage(_ text: String) -> CacheError { CacheError(status: 500, slug: "storage", description: text) }
}
