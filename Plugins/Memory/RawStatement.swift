import GRDB
import GRDBSQLite

/// One statement prepared on the writer's connection and stepped through SQLite's C API, for
/// the statements a transaction runs by the thousand: a merge's impact postings (about 75 000
/// for 10 000 items at a million), the lookups and counts of their groups and the items' word
/// signatures, and a batch's outbox rows (one per item). Binding each row through GRDB's
/// arguments (an array of boxed values per row) cost about as much as SQLite's insert itself.
///
/// Only for tables no transaction observer watches (``SearchCache``'s watches `items` and
/// `item_links`): GRDB reports a statement's changes to observers only when it runs the
/// statement itself. Created and used inside one write transaction; finalized when released.
final class RawStatement {
    private let connection: OpaquePointer
    private let statement: OpaquePointer

    /// Prepares `sql` on the connection of `db`.
    init(_ db: Database, sql: String) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE) }
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, sql, -1, &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
        }
        self.connection = connection
        self.statement = statement
    }

    deinit { sqlite3_finalize(statement) }

    /// Binds text (copied by SQLite) to the 1-based parameter `index`; it stays bound for later steps.
    func bind(_ index: Int32, _ text: String) {
        sqlite3_bind_text(statement, index, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    /// Binds an integer to the 1-based parameter `index`; it stays bound for later steps.
    func bind(_ index: Int32, _ value: Int64) { sqlite3_bind_int64(statement, index, value) }

    /// Runs the statement (a query) with what is bound and reads its first row through `read`,
    /// which gets the statement for ``integer(_:_:)``; nil when there is no row. The statement
    /// is reset after, so it holds no cursor open.
    func firstRow<T>(_ read: (OpaquePointer) -> T) throws -> T? {
        defer { sqlite3_reset(statement) }
        let code = sqlite3_step(statement)
        if code == SQLITE_ROW { return read(statement) }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
        }
        return nil
    }

    /// The integer in the 0-based `column` of the row `statement` stands on (nil for NULL).
    static func integer(_ statement: OpaquePointer, _ column: Int32) -> Int64? {
        sqlite3_column_type(statement, column) == SQLITE_NULL ? nil : sqlite3_column_int64(statement, column)
    }

    /// Runs the statement with what is bound.
    /// - Returns: the rows it changed (an `INSERT OR IGNORE` of a row already there: 0).
    func step() throws -> Int {
        let code = sqlite3_step(statement)
        sqlite3_reset(statement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
        }
        return Int(sqlite3_changes(connection))
    }
}
