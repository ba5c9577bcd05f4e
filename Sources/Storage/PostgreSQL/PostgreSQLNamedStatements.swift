import PostgresNIO
import Synchronization

/// The store's statements on PostgreSQL, each prepared once per connection
/// under a name and then only bound and executed: PostgreSQL parsed,
/// analysed and planned every unnamed statement anew, a third of its CPU
/// time on a commit (BENCHMARKS.md §PostgreSQL: statements kept prepared).
///
/// A name stands for one statement text and the types of its values (a
/// prepared statement's parameters keep the types of its first use). Names
/// are given to at most `capacity` pairs in a process; past that, and for
/// statements of more than `mostValues` values (multi-row inserts, whose
/// text changes with their row count), statements go unnamed. Generated
/// statements (AQL) never get a name: their variety has no bound.
final class PostgreSQLNamedStatements: Sendable {
    struct Key: Hashable {
        var sql: String
        var types: [UInt32]
    }

    /// What PostgresNIO needs to prepare or find a named statement.
    struct Named: Sendable {
        let name: String
        /// The text with `$n` placeholders.
        let sql: String
        let types: [PostgresDataType]
    }

    static let capacity = 1024
    static let mostValues = 64

    let names = Mutex<[Key: Named]>([:])

    /// The named statement for `sql` and the types of `binds`, nil when the
    /// statement stays unnamed.
    func named(_ sql: String, _ binds: [SQLValue]) -> Named? {
        guard binds.count <= Self.mostValues else { return nil }
        let types = binds.map(Self.type)
        let key = Key(sql: sql, types: types.map(\.rawValue))
        if let found = names.withLock({ $0[key] }) { return found }
        let numbered = PostgreSQLDatabase.numberingPlaceholders(sql)
        return names.withLock { names in
            if let found = names[key] { return found }
            guard names.count < Self.capacity else { return nil }
            let given = Named(name: "socle_\(names.count + 1)", sql: numbered, types: types)
            names[key] = given
            return given
        }
    }

    /// The parameter type a value is sent as (`PostgreSQLDatabase.bindings`);
    /// a null leaves it to PostgreSQL to infer.
    static func type(_ value: SQLValue) -> PostgresDataType {
        switch value {
        case .null: .null
        case .integer: .int8
        case .real: .float8
        case .text: .text
        case .blob: .bytea
        case .array(let array): PostgreSQLArray(array).psqlType
        }
    }
}

/// The statement PostgresNIO's prepared-statement API runs: its name, text
/// and parameter types are static there, so they are read from the task
/// running it (`current`), set around each execution.
struct PostgreSQLNamedStatement: PostgresPreparedStatement {
    typealias Row = SQLRow

    @TaskLocal static var current: PostgreSQLNamedStatements.Named?

    static var name: String { current?.name ?? "" }
    static var sql: String { current?.sql ?? "" }
    static var bindingDataTypes: [PostgresDataType] { current?.types ?? [] }

    let bindings: PostgresBindings

    func makeBindings() throws -> PostgresBindings { bindings }

    func decodeRow(_ row: PostgresRow) throws -> SQLRow { PostgreSQLDatabase.row(row) }

    /// Runs `named` with `bindings` on `connection`, preparing it there first if needed.
    static func run(
        _ named: PostgreSQLNamedStatements.Named, _ bindings: PostgresBindings, on connection: PostgresConnection, logger: Logger
    ) async throws -> [SQLRow] {
        try await $current.withValue(named) {
            var rows: [SQLRow] = []
            for try await row in try await connection.execute(PostgreSQLNamedStatement(bindings: bindings), logger: logger) { rows.append(row) }
            return rows
        }
    }
}
