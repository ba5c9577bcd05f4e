import Foundation
import GRDB

/// SQLite through GRDB: a WAL-mode pool (one writer, concurrent readers),
/// `synchronous=NORMAL`, cached prepared statements, one transaction per batch.
public final class SQLiteDatabase: SQLDatabase {
    public let kind = DatabaseKind.sqlite
    let pool: DatabasePool

    /// Opens (creating if needed) the database file and its folder.
    public init(path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
    }

    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await pool.read { db in
            // Statements with bound values are the store's own, few and repeated:
            // cached. A statement without any is typically an AQL query with its
            // values written in: prepared once, so that the cache does not grow
            // with every distinct query.
            let statement = binds.isEmpty ? try db.makeStatement(sql: sql) : try db.cachedStatement(sql: sql)
            let rows = try Row.fetchAll(statement, arguments: Self.arguments(binds))
            return rows.map { row in SQLRow((0..<row.count).map { Self.value(row[$0] as DatabaseValue) }) }
        }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        try await pool.write { db in
            for statement in statements {
                let prepared = try db.cachedStatement(sql: statement.sql)
                do {
                    try prepared.execute(arguments: Self.arguments(statement.binds))
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT
                    && (error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY)
                {
                    throw statement.onUniqueViolation ?? StoreError(.conflict, "the record already exists")
                }
                if let error = statement.mustChangeOneRow, db.changesCount != 1 { throw error }
            }
        }
    }

    public func migrate(_ statements: [String]) async throws {
        try await pool.write { db in
            for sql in statements { try db.execute(sql: sql) }
        }
    }

    public func close() async throws {
        try pool.close()
    }

    static func arguments(_ binds: [SQLValue]) -> StatementArguments {
        StatementArguments(binds.map { bind -> (any DatabaseValueConvertible)? in
            switch bind {
            case .null: nil
            case .integer(let value): value
            case .real(let value): value
            case .text(let value): value
            case .blob(let value): Data(value)
            }
        })
    }

    static func value(_ value: DatabaseValue) -> SQLValue {
        switch value.storage {
        case .null: .null
        case .int64(let int): .integer(int)
        case .double(let double): .real(double)
        case .string(let string): .text(string)
        case .blob(let data): .blob([UInt8](data))
        }
    }
}
