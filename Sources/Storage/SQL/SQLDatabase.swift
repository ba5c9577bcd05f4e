import JSONCore

/// The two engines Socle runs on. Behaviour is the same on both; the tests
/// of this module run against each.
public enum DatabaseKind: String, Sendable {
    case sqlite
    case postgresql
}

/// A value bound to or read from a statement. Timestamps are stored as
/// microseconds since the epoch and flags as 0/1, so one set of SQL serves
/// both engines.
public enum SQLValue: Sendable, Equatable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    /// Many values of one type bound as one: a PostgreSQL array, sent in
    /// binary with its NULLs, which a statement turns into rows with
    /// `unnest` (PostgreSQL §9.19). SQLite has no arrays and refuses one.
    case array(SQLArray)
}

/// The values of an `SQLValue.array`: each null or of the element's kind.
public struct SQLArray: Sendable, Equatable, Hashable {
    public enum Element: Sendable, Equatable, Hashable {
        case integer, real, text
    }

    public var element: Element
    public var values: [SQLValue]

    public init(_ element: Element, _ values: [SQLValue]) {
        self.element = element
        self.values = values
    }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }

    public init(_ value: String?) { self = value.map(SQLValue.text) ?? .null }
    public init(_ value: Int) { self = .integer(Int64(value)) }
    public init(_ value: Int64?) { self = value.map(SQLValue.integer) ?? .null }
    public init(_ value: Double?) { self = value.map { $0.isFinite ? SQLValue.real($0) : .null } ?? .null }
    public init(_ value: Bool) { self = .integer(value ? 1 : 0) }
}

extension SQLValue {
    /// The value as JSON (a blob has no JSON form: null).
    public var json: JSON {
        switch self {
        case .null, .blob: .null
        case .integer(let number): .number(String(number))
        case .real(let number): .number(String(number))
        case .text(let text): .string(text)
        case .array(let array): .array(array.values.map(\.json))
        }
    }
}

/// A result row, read by column position. Only Storage reads rows: what it
/// hands to the layers above are typed records.
public struct SQLRow: Sendable, Equatable {
    public var values: [SQLValue]

    public init(_ values: [SQLValue]) { self.values = values }

    public func string(_ index: Int) -> String? {
        if case .text(let text) = values[index] { return text }
        return nil
    }

    public func int(_ index: Int) -> Int64? {
        switch values[index] {
        case .integer(let value): return value
        case .real(let value): return Int64(value)
        default: return nil
        }
    }

    public func double(_ index: Int) -> Double? {
        switch values[index] {
        case .integer(let value): return Double(value)
        case .real(let value): return value
        default: return nil
        }
    }

    public func bool(_ index: Int) -> Bool { int(index).map { $0 != 0 } ?? false }

    public func bytes(_ index: Int) -> [UInt8]? {
        switch values[index] {
        case .blob(let bytes): return bytes
        case .text(let text): return Array(text.utf8)
        default: return nil
        }
    }
}

/// One statement of a transaction. SQL is written with `?` placeholders;
/// each engine renders them its own way.
public struct SQLStatement: Sendable {
    public private(set) var sql: String
    public private(set) var binds: [SQLValue]
    /// When set, the statement must change exactly one row, or the whole
    /// transaction is rolled back with this error. This is how optimistic
    /// concurrency is enforced: `UPDATE … WHERE latest_version = ?`.
    public var mustChangeOneRow: StoreError?
    /// When set, the statement is a `SELECT` that must return a row, or the
    /// whole transaction is rolled back with this error: a condition the
    /// commit depends on, checked inside its transaction.
    public var mustReturnRow: StoreError?
    /// The error to report when the statement breaks a unique constraint.
    public var onUniqueViolation: StoreError?
    /// The error a unique constraint the statement breaks is reported as.
    var uniqueViolation: StoreError { onUniqueViolation ?? StoreError(.conflict, "the record already exists") }

    /// Statements run as one (`together`); then `sql` only names them.
    public private(set) var parts: [SQLStatement] = []
    /// The WITH queries `sql` begins with (`with(_:then:)`), kept apart so
    /// that statements run together list them among their own.
    public private(set) var withQueries: [WithQuery] = []
    /// `sql` after its WITH queries; its values are the last of `binds`.
    public private(set) var mainQuery: String
    /// Set by the statement's maker: it writes only rows of its own and reads
    /// none that the other statements of its commit write, so it may run
    /// together with them (`together`).
    public var independent = false

    public init(
        _ sql: String, _ binds: [SQLValue] = [], mustChangeOneRow: StoreError? = nil, mustReturnRow: StoreError? = nil,
        onUniqueViolation: StoreError? = nil
    ) {
        self.sql = sql
        self.binds = binds
        self.mustChangeOneRow = mustChangeOneRow
        self.mustReturnRow = mustReturnRow
        self.onUniqueViolation = onUniqueViolation
        mainQuery = sql
    }

    /// A query a statement's WITH clause names (PostgreSQL §7.8).
    public struct WithQuery: Sendable {
        public var name: String
        public var sql: String
        public var binds: [SQLValue]

        public init(_ name: String, _ sql: String, _ binds: [SQLValue] = []) {
            self.name = name
            self.sql = sql
            self.binds = binds
        }
    }

    /// `main` after WITH queries (before its own, if it has any), with
    /// `main`'s guards. Data-modifying WITH queries run once each, all on
    /// the same snapshot, whether the main query reads them or not
    /// (PostgreSQL §7.8.4; SQLite has none).
    public static func with(_ queries: [WithQuery], then main: SQLStatement) -> SQLStatement {
        guard !queries.isEmpty else { return main }
        var statement = main
        statement.withQueries = queries + main.withQueries
        statement.sql = "WITH " + statement.withQueries.map { "\($0.name) AS (\($0.sql))" }.joined(separator: ", ") + " " + main.mainQuery
        statement.binds = queries.flatMap(\.binds) + main.binds
        return statement
    }

    /// Statements that return nothing run as data-modifying WITH queries of
    /// the statement after them: on PostgreSQL one round trip instead of one
    /// each. Each runs once, all on the same snapshot, which these
    /// independent inserts allow. Errors are the last's (PostgreSQL only).
    static func folding(_ statements: [SQLStatement], into last: SQLStatement) -> SQLStatement {
        .with(statements.enumerated().map { WithQuery("w\($0.offset)", $0.element.sql, $0.element.binds) }, then: last)
    }

    /// Statements of which none reads a row another writes and no two write
    /// the same row, each a plain `INSERT` of one row (no `ON CONFLICT`), an `UPDATE`,
    /// a `DELETE` or a `SELECT`, or a statement whose WITH queries those
    /// are and whose main query one of them is: PostgreSQL runs them as one
    /// statement, one round trip, that raises the error of the first guard
    /// that fails (`PostgreSQLDatabase.runTogether`); SQLite runs them one
    /// after another. Their guards hold as if each ran alone, checked in order.
    public static func together(_ parts: [SQLStatement]) -> SQLStatement {
        guard parts.count != 1 else { return parts[0] }
        var statement = SQLStatement(parts.map(\.sql).joined(separator: ";\n"))
        statement.parts = parts
        return statement
    }

    /// The statement checks its own guards: it is one statement of several
    /// run together, or has none. Alone in a transaction, it needs no
    /// `BEGIN` and `COMMIT` around it on PostgreSQL.
    var checksItsGuards: Bool { !parts.isEmpty || (mustChangeOneRow == nil && mustReturnRow == nil) }
}

/// How a read is run.
public struct ReadOptions: Sendable {
    /// Keep the prepared statement for the next read of the same text. The
    /// store's own statements are few and always kept; generated ones (AQL)
    /// are kept in a bounded set (`SQLiteDatabase`).
    public var generated: Bool

    public init(generated: Bool = false) {
        self.generated = generated
    }

    public static let store = ReadOptions()
}

/// The storage engine underneath the version store: reads, and atomic
/// batches of writes. Every batch is one database transaction.
public protocol SQLDatabase: Sendable {
    var kind: DatabaseKind { get }

    /// Runs a read-only statement.
    func query(_ sql: String, _ binds: [SQLValue], options: ReadOptions) async throws -> [SQLRow]

    /// Runs the statements in one transaction: all of them or none.
    func transaction(_ statements: [SQLStatement]) async throws

    /// Runs a schema migration's statements in one transaction, holding the
    /// engine's migration lock so that two starting nodes cannot race.
    func migrate(_ statements: [String]) async throws

    func close() async throws
}

extension SQLDatabase {
    public func query(_ sql: String, _ binds: [SQLValue] = []) async throws -> [SQLRow] {
        try await query(sql, binds, options: .store)
    }
}
