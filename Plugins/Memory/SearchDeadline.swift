import Dispatch
import GRDB
import GRDBSQLite

/// Stops a search at a deadline: SQLite's progress handler, called every few thousand virtual
/// machine steps, interrupts the statement once the deadline has passed (`SQLITE_INTERRUPT`).
/// A query in operator syntax such as `a* OR b* OR ...` ran for minutes after its caller's
/// request had timed out, holding a core and growing memory by half a gigabyte.
final class SearchDeadline {
    private let at: UnsafeMutablePointer<UInt64>

    /// Installs the handler on `db` for `duration` from now; ``clear(_:)`` removes it.
    init(_ db: Database, after duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let nanoseconds = UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
        at = .allocate(capacity: 1)
        at.initialize(to: DispatchTime.now().uptimeNanoseconds + nanoseconds)
        sqlite3_progress_handler(
            db.sqliteConnection, 4096,
            { context in
                guard let context else { return 0 }
                let deadline = context.assumingMemoryBound(to: UInt64.self).pointee
                return DispatchTime.now().uptimeNanoseconds >= deadline ? 1 : 0
            }, UnsafeMutableRawPointer(at))
    }

    /// Whether the deadline has passed.
    var passed: Bool { DispatchTime.now().uptimeNanoseconds >= at.pointee }

    /// Removes the handler (before the connection serves another read).
    func clear(_ db: Database) { sqlite3_progress_handler(db.sqliteConnection, 0, nil, nil) }

    deinit { at.deallocate() }
}
