import Synchronization

/// The database failures a plugin answered lately, for its health hook: a plugin whose writes
/// fail (a full disk, a read-only file, a damaged database) reports `degraded` with the reason,
/// where it reported `ok` while every write failed.
///
/// ```swift
/// let failures = RecentDatabaseFailures()
/// // where a request fails:   failures.record(failure)
/// // in health():             if let problem = failures.summary { return .degraded(problem) }
/// ```
public final class RecentDatabaseFailures: Sendable {
    /// How long after the last failure ``summary`` still reports it.
    public let window: Duration
    private let state = Mutex<State>(State())

    private struct State {
        var total = 0
        var last: DatabaseFailure?
        var lastAt: ContinuousClock.Instant?
    }

    /// - Parameter window: how long a failure counts as recent (a minute by default: a health
    ///   check every few seconds sees it, and it clears by itself once writes succeed again).
    public init(window: Duration = .seconds(60)) { self.window = window }

    /// Classifies `error` (``DatabaseFailure``), logs the cause with `log` and notes it: what a
    /// plugin's request handler does with an error it has no answer of its own for.
    /// - Parameters:
    ///   - error: what the call threw.
    ///   - database: the database's name for the client ("soul").
    ///   - requestID: the request's id (`Message.requestID`), or nil.
    ///   - atomic: whether the failed call changed nothing (``DatabaseFailure/init(_:database:requestID:atomic:)``).
    ///   - log: writes one error line.
    /// - Returns: the failure, to answer with.
    public func failure(
        _ error: any Error, database: String, requestID: String?, atomic: Bool = true, log: (String) -> Void
    ) -> DatabaseFailure {
        let failure = DatabaseFailure(error, database: database, requestID: requestID, atomic: atomic)
        log("\(database) request failed: \(failure.logMessage)")
        record(failure)
        return failure
    }

    /// Notes one failure; one that is not SQLite's is not the database failing, and is not noted.
    public func record(_ failure: DatabaseFailure) {
        guard failure.isDatabaseError else { return }
        let now = ContinuousClock.now
        state.withLock {
            $0.total += 1
            $0.last = failure
            $0.lastAt = now
        }
    }

    /// One sentence about the failures when the last was within ``window`` of now, else nil:
    /// `"database failing: 3 failure(s) since start, the last 4 s ago (storage-full: the disk
    /// holding the soul database is full, ... (incident ID; ...))"`.
    public var summary: String? {
        let (total, last, at) = state.withLock { ($0.total, $0.last, $0.lastAt) }
        guard let last, let at else { return nil }
        let age = ContinuousClock.now - at
        guard age <= window else { return nil }
        return
            "database failing: \(total) failure(s) since start, the last \(age.components.seconds) s ago (\(last.slug): \(last.detail))"
    }
}
