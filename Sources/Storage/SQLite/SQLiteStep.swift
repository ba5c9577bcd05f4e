import GRDB
import GRDBSQLite

/// A prepared statement (from GRDB's statement cache) bound and stepped
/// through SQLite's C interface: the values go from `SQLValue` straight to
/// `sqlite3_bind_*`, and the rows from `sqlite3_column_*` straight to
/// `SQLRow`. GRDB's `StatementArguments` made each bound value a
/// `DatabaseValue` through a key path instantiated at run time and its
/// `Row` a second copy of each value; together about 5 % of the CPU of a
/// commit through the API (BENCHMARKS.md §Savepoint journals in memory and
/// values bound directly).
///
/// Only statements that neither begin nor end a transaction or a savepoint
/// go through here (GRDB tracks those from the statements it runs itself).
struct SQLiteStep {
    let statement: Statement
    let database: Database

    /// SQLite copies text and blobs it is given with this destructor.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ sql: String, in database: Database) throws {
        statement = try database.cachedStatement(sql: sql)
        self.database = database
    }

    /// Resets the statement and binds `values` to its parameters, in order.
    func bind(_ values: [SQLValue]) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
        let expected = Int(sqlite3_bind_parameter_count(handle))
        guard values.count == expected else {
            throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "\(values.count) values for \(expected) parameters", sql: statement.sql)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch value {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let integer): code = sqlite3_bind_int64(handle, index, integer)
            case .real(let real): code = sqlite3_bind_double(handle, index, real)
            case .text(var text):
                // An empty buffer has no address, which SQLite would bind as NULL.
                code = text.withUTF8 { bytes in
                    bytes.isEmpty
                        ? sqlite3_bind_text(handle, index, "", 0, Self.transient)
                        : sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
                }
            case .blob(let bytes):
                code = bytes.withUnsafeBytes { buffer in
                    buffer.isEmpty
                        ? sqlite3_bind_zeroblob(handle, index, 0)
                        : sqlite3_bind_blob(handle, index, buffer.baseAddress, Int32(buffer.count), Self.transient)
                }
            case .array:
                throw StoreError(.invalidValue, "SQLite binds no array (value \(offset + 1) of \(statement.sql.prefix(60)))")
            }
            guard code == SQLITE_OK else { throw error(code) }
        }
    }

    /// Steps to the end; returns whether a row came back.
    func run() throws -> Bool {
        defer { release() }
        var sawRow = false
        while true {
            switch sqlite3_step(statement.sqliteStatement) {
            case SQLITE_DONE: return sawRow
            case SQLITE_ROW: sawRow = true
            case let code: throw error(code)
            }
        }
    }

    /// Every row, each value as SQLite stored it.
    func rows() throws -> [SQLRow] {
        let handle = statement.sqliteStatement
        defer { release() }
        let columns = sqlite3_column_count(handle)
        var rows: [SQLRow] = []
        while true {
            switch sqlite3_step(handle) {
            case SQLITE_DONE: return rows
            case SQLITE_ROW: rows.append(SQLRow((0..<columns).map { Self.value(handle, $0) }))
            case let code: throw error(code)
            }
        }
    }

    /// Resets the statement and lets go of the copies of its values (a
    /// cached statement would otherwise hold the last document it was given).
    func release() {
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    static func value(_ handle: OpaquePointer, _ column: Int32) -> SQLValue {
        switch sqlite3_column_type(handle, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, column))
        // The pointer first, then its length (the order SQLite's documentation asks for).
        case SQLITE_TEXT:
            guard let text = sqlite3_column_text(handle, column) else { return .text("") }
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_column_bytes(handle, column))), as: UTF8.self))
        case SQLITE_BLOB:
            guard let blob = sqlite3_column_blob(handle, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(handle, column)))))
        default: return .null
        }
    }

    /// SQLite's error for the statement, with its extended code (a UNIQUE
    /// violation is told from other constraints by it).
    func error(_ code: Int32) -> DatabaseError {
        let connection = database.sqliteConnection
        let extended = connection.map { sqlite3_extended_errcode($0) } ?? code
        let message = connection.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
        return DatabaseError(resultCode: ResultCode(rawValue: extended), message: message, sql: statement.sql)
    }
}
