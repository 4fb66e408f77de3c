/// The pages of `GET /v1/keys`: how many keys one holds, at most and without `limit`, and the
/// `state` values it filters by.
package enum KeyPaging {
    /// The largest `limit`.
    package static let maxLimit = 1000
    /// The page size without `limit`: the largest, so a client that knows nothing of pages
    /// still gets every key of all but the largest stores (and `next` says when it did not).
    package static let defaultLimit = 1000
    /// The `state` values: keys neither revoked nor expired, revoked, expired (not revoked), all.
    package static let states = ["active", "revoked", "expired", "all"]
}
