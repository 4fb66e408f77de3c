import Foundation
import GRDB

/// A failed database call, split into what a client is told and what only the server log keeps.
///
/// A plugin's request handler turns any error its store throws into one of these, logs
/// ``logMessage`` and answers with ``status``, ``slug`` and ``detail``:
///
/// ```swift
/// } catch {
///     let failure = DatabaseFailure(error, database: "memory")
///     context.logger.error("\(failure.logMessage)")
///     return Reply.problem(status: failure.status, slug: failure.slug, detail: failure.detail)
/// }
/// ```
///
/// The client learns what it can act on — the disk is full (507), the database is busy or cannot
/// be written just now (503, retry after ``retryAfterSeconds``), or it failed (500) — and an
/// incident id to quote; SQL text, file paths and SQLite's own messages stay in the log, under the
/// same id.
public struct DatabaseFailure: Error, Sendable, CustomStringConvertible {
    /// The HTTP status: 507 disk full, 503 busy, locked or not writable, 500 otherwise.
    public let status: Int
    /// The problem type's last part: `storage-full`, `storage-busy`, `storage-unavailable`,
    /// `storage-damaged` or `storage`.
    public let slug: String
    /// The sentence for the client: what happened to its request and the incident id.
    public var detail: String { "\(summary) (incident \(incident); the server log has the cause)" }
    /// Seconds a client should wait before retrying (503 only), for a `Retry-After` header.
    public let retryAfterSeconds: Int?
    /// The id naming this failure in both the reply and the log: the request's id when given
    /// (the gateway's `X-Request-Id`, in the `http.header.x-request-id` header it forwards),
    /// else eight new hex digits.
    public private(set) var incident: String
    /// The error as thrown, SQL and paths included: for the log only.
    public let cause: String
    /// What happened, without the incident.
    private let summary: String
    /// Whether `error` was SQLite's (GRDB's `DatabaseError`), not some other failure.
    public let isDatabaseError: Bool

    /// Classifies `error`, thrown by a call on the database named `database` (e.g. "memory").
    /// An error that is not GRDB's `DatabaseError` is an internal failure (500).
    /// - Parameters:
    ///   - error: what the database call threw.
    ///   - database: the database's name in the client's sentence.
    ///   - requestID: the id of the request that failed, when it has one (at most 128 printable
    ///     ASCII characters, as the gateway makes them; another is not used); becomes ``incident``.
    ///   - atomic: whether a failed call changes nothing (one transaction); false for a caller
    ///     that changed other stores first (the cache's L1 and L2 before L3).
    public init(_ error: any Error, database: String, requestID: String? = nil, atomic: Bool = true) {
        incident = requestID.flatMap(Self.usable) ?? Self.newIncident()
        cause = String(describing: error)
        let code = (error as? DatabaseError)?.resultCode
        isDatabaseError = code != nil
        switch code?.primaryResultCode {
        case .SQLITE_FULL?:
            (status, slug, retryAfterSeconds) = (507, "storage-full", nil)
            summary =
                "the disk holding the \(database) database is full, so \(atomic ? "the change was not made" : "it was not updated")"
        case .SQLITE_BUSY?, .SQLITE_LOCKED?:
            (status, slug, retryAfterSeconds) = (503, "storage-busy", 1)
            summary = "the \(database) database is busy; retry shortly"
        case .SQLITE_READONLY? where (error as? DatabaseError)?.extendedResultCode == .SQLITE_READONLY_DBMOVED:
            // Replaced or moved under the server: retrying will not help.
            (status, slug, retryAfterSeconds) = (500, "storage-unavailable", nil)
            summary = "the \(database) database file was moved or replaced while in use"
        case .SQLITE_READONLY?, .SQLITE_PERM?:
            (status, slug, retryAfterSeconds) = (503, "storage-unavailable", 5)
            summary = "the \(database) database cannot be written just now"
        case .SQLITE_CANTOPEN?, .SQLITE_AUTH?:
            (status, slug, retryAfterSeconds) = (503, "storage-unavailable", 5)
            summary = "the \(database) database cannot be opened just now"
        case .SQLITE_CORRUPT?, .SQLITE_NOTADB?:
            (status, slug, retryAfterSeconds) = (500, "storage-damaged", nil)
            summary = "the \(database) database is damaged"
        default:
            (status, slug, retryAfterSeconds) = (500, "storage", nil)
            summary = "the \(database) database failed"
        }
    }

    /// The same failure under the id of the request it answers (unchanged when `requestID` is
    /// nil): for a failure made where the request was not at hand.
    public func cited(_ requestID: String?) -> DatabaseFailure {
        var copy = self
        if let id = requestID.flatMap(Self.usable) { copy.incident = id }
        return copy
    }

    /// `id` when it is short and printable (what goes into replies and log lines), else nil.
    static func usable(_ id: String) -> String? {
        !id.isEmpty && id.utf8.count <= 128 && id.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) ? id : nil
    }

    private static func newIncident() -> String {
        let hex = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// How long a connection should wait for another's lock (GRDB's `busyMode = .timeout(_:)`)
    /// before its call fails as busy: 2 s, well inside the bus's default request timeout of 5 s,
    /// so a client kept out by another writer (an operator's `sqlite3`, a restore) gets a definite
    /// 503 and `Retry-After` rather than a 504 after which the write may still be made.
    public static let busyTimeout: TimeInterval = 2

    /// The line for the server log: the incident id, the class and the full cause.
    public var logMessage: String { "database failure \(incident) (\(slug), answered \(status)): \(cause)" }

    /// The client's sentence (``detail``).
    public var description: String { detail }
}
