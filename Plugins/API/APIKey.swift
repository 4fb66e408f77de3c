import APICore
import Foundation
import GRDB

import enum PluginReplies.RFC3339

/// One stored API key: its public id, a name, its scope, the SHA-256 digest of its text, and
/// when it was created, expires and was revoked. The key text itself is never stored.
struct APIKey: Codable, Sendable, FetchableRecord, PersistableRecord {
    static let databaseTableName = "api_key"

    /// Public id (16 hex digits), the middle part of the key text.
    var id: String
    /// A name given at creation, for people.
    var name: String
    /// `read`, `write` or `admin`.
    var scope: String
    /// SHA-256 digest of the key text, hex.
    var digest: String
    /// Creation time.
    var createdAt: Date
    /// After this time the key is refused; nil: never.
    var expiresAt: Date?
    /// When it was revoked; nil: active.
    var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, name, scope, digest
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }

    /// The key as listed by `GET /v1/keys` (no digest, no secret).
    var json: JSON {
        .object([
            ("id", .string(id)),
            ("name", .string(name)),
            ("scope", .string(scope)),
            ("created_at", .string(Self.timestamp(createdAt))),
            ("expires_at", expiresAt.map { .string(Self.timestamp($0)) } ?? .null),
            ("revoked_at", revokedAt.map { .string(Self.timestamp($0)) } ?? .null),
        ])
    }

    /// Whether this is an admin key that is neither revoked nor expired at `now`.
    func isActiveAdmin(at now: Date) -> Bool {
        scope == Scope.admin.name && revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }

    /// RFC 3339 time in UTC, seconds precision, as ``parseTimestamp(_:)`` reads it.
    static func timestamp(_ date: Date) -> String { RFC3339.string(date, fractionDigits: 0) }

    /// Parses RFC 3339 time (with or without fractional seconds), strictly (``RFC3339``: a field
    /// out of its range is refused, not rolled over into the next).
    static func parseTimestamp(_ text: String) -> Date? { RFC3339.date(text) }
}
