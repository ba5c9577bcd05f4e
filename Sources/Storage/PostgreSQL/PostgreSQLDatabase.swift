import Foundation
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Tracing

/// PostgreSQL through PostgresNIO's connection pool. The pool runs in a
/// task owned by this object from its creation to `close()`; the server
/// closes it from its service group after the HTTP server has drained
/// (`DatabaseLifecycle`), so in-flight requests finish on open connections.
public final class PostgreSQLDatabase: SQLDatabase {
    public let kind = DatabaseKind.postgresql
    let client: PostgresClient
    let runTask: Task<Void, Never>
    let logger: Logger
    /// The logger given to each statement. PostgresNIO adds the connection's id to
    /// it on every statement, and swift-log's stream handler formats its metadata
    /// anew on every change (about 1 % of a PostgreSQL commit's CPU); it logs
    /// nothing above debug there, so above debug the statements get a logger
    /// that drops everything.
    let statementLogger: Logger
    let namedStatements = PostgreSQLNamedStatements()
    let url: PostgresURL
    let parameters: [(String, String)]
    /// How long a statement may wait for a connection and run, on this side
    /// of the wire: the pool retries a server it cannot reach for ever.
    let deadline: Duration

    /// - Parameters:
    ///   - searchPath: a schema to use instead of `public` (tests use one
    ///     schema each, so that they run side by side on one database).
    ///   - settings: pool size and statement timeout.
    public init(url: PostgresURL, searchPath: String? = nil, settings: DatabaseSettings = DatabaseSettings(), logger: Logger) throws {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: url.tls())
        var parameters: [(String, String)] = []
        if let searchPath { parameters.append(("search_path", searchPath)) }
        if let timeout = settings.statementTimeout { parameters.append(("statement_timeout", "\(Self.milliseconds(timeout))")) }
        configuration.options.additionalStartupParameters = parameters
        configuration.options.maximumConnections = max(1, settings.poolSize ?? 16)
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        statementLogger = logger.logLevel <= .debug ? logger : Logger(label: logger.label) { _ in SwiftLogNoOpLogHandler() }
        self.url = url
        self.parameters = parameters
        deadline = (settings.statementTimeout ?? .seconds(60)) + .seconds(60)
        runTask = Task { await client.run() }
        PoolMetrics.connections.size(configuration.options.maximumConnections)
    }

    /// A connection of the pool for `body`, its wait and use measured (`PoolMetrics`).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let ticket = PoolMetrics.connections.enter()
        defer { ticket.leave() }
        return try await client.withConnection { connection in
            ticket.acquired()
            return try await body(connection)
        }
    }

    /// Opens one connection outside the pool, and closes it: a server that
    /// cannot be reached, refuses the credentials or the certificate is a
    /// clear error at start, where the pool would only retry and log.
    public func checkConnection() async throws {
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: try url.connectionTLS())
        configuration.options.additionalStartupParameters = parameters
        configuration.options.connectTimeout = .seconds(10)
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            try await connection.close()
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    /// Runs `body`, or gives up with `StoreError.unavailable` past the deadline.
    func withinDeadline<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: self.deadline)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw StoreError(.unavailable, "the PostgreSQL server did not answer within \(self.deadline)")
            }
            return value
        }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    public func query(_ sql: String, _ binds: [SQLValue], options: ReadOptions) async throws -> [SQLRow] {
        do {
            return try await withinDeadline {
                try await self.withConnection { connection in
                    try await SQLTracing.span(sql, .postgresql) { try await self.rows(sql, binds, on: connection, generated: options.generated) }
                }
            }
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    /// Runs one statement on `connection`: the store's own under a name the
    /// connection keeps prepared (`PostgreSQLNamedStatements`), generated
    /// ones and those left unnamed parsed and planned for this run only.
    func rows(_ sql: String, _ binds: [SQLValue], on connection: PostgresConnection, generated: Bool = false) async throws -> [SQLRow] {
        let bindings = try Self.bindings(binds)
        if !generated, let named = namedStatements.named(sql, binds) {
            return try await PostgreSQLNamedStatement.run(named, bindings, on: connection, logger: statementLogger)
        }
        var result: [SQLRow] = []
        let rows = try await connection.query(PostgresQuery(unsafeSQL: Self.numberingPlaceholders(sql), binds: bindings), logger: statementLogger)
        for try await row in rows { result.append(Self.row(row)) }
        return result
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        do {
            try await withinDeadline { try await self.runTransaction(statements) }
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    func runTransaction(_ statements: [SQLStatement]) async throws {
        try await withConnection { connection in
            // One statement that checks its own guards is a transaction of its own.
            if statements.count == 1, let only = statements.first, only.checksItsGuards { return try await self.run(only, on: connection) }
            _ = try await self.rows("BEGIN", [], on: connection)
            do {
                for statement in statements { try await self.run(statement, on: connection) }
                _ = try await self.rows("COMMIT", [], on: connection)
            } catch {
                _ = try? await self.rows("ROLLBACK", [], on: connection)
                throw error
            }
        }
    }

    func run(_ statement: SQLStatement, on connection: PostgresConnection) async throws {
        guard statement.parts.isEmpty else { return try await runTogether(statement.parts, on: connection) }
        let guarded = statement.mustChangeOneRow != nil
        let sql = guarded ? statement.sql + " RETURNING 1" : statement.sql
        do {
            let count = try await SQLTracing.span(sql, .postgresql) { try await rows(sql, statement.binds, on: connection).count }
            if let error = statement.mustChangeOneRow, count != 1 { throw error }
            if let error = statement.mustReturnRow, count == 0 { throw error }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw statement.uniqueViolation
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    public func migrate(_ statements: [String]) async throws {
        do {
            try await client.withConnection { connection in
                try await connection.query("BEGIN", logger: self.logger)
                do {
                    // One migrator at a time across every node sharing the database.
                    try await connection.query("SELECT pg_advisory_xact_lock(7340237)", logger: self.logger)
                    // Building an index on a large table may take longer than requests may.
                    try await connection.query("SET LOCAL statement_timeout = 0", logger: self.logger)
                    for sql in statements {
                        try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                    }
                    try await connection.query("COMMIT", logger: self.logger)
                } catch {
                    _ = try? await connection.query("ROLLBACK", logger: self.logger)
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    public func close() async throws {
        runTask.cancel()
        await runTask.value
    }

    /// The values of a statement, each sent as its type (`PostgreSQLNamedStatements.type`).
    static func bindings(_ binds: [SQLValue]) throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let value): bindings.append(ByteBuffer(bytes: value))
            case .array(let array): try bindings.append(PostgreSQLArray(array))
            }
        }
        return bindings
    }

    /// `sql` with each `?` outside single quotes written `$1`, `$2`, … in order. Read
    /// as UTF-8 bytes: neither byte is ever part of a multi-byte character, and a
    /// statement of many rows has hundreds of placeholders (walking it by characters
    /// was 4 % of a PostgreSQL commit's CPU, BENCHMARKS.md §PostgreSQL statements, time-ordered ids).
    static func numberingPlaceholders(_ sql: String) -> String {
        let quote = UInt8(ascii: "'"), mark = UInt8(ascii: "?"), dollar = UInt8(ascii: "$")
        var rendered: [UInt8] = []
        rendered.reserveCapacity(sql.utf8.count + 64)
        var number = 0
        var inQuote = false
        for byte in sql.utf8 {
            if byte == quote { inQuote.toggle() }
            guard byte == mark && !inQuote else {
                rendered.append(byte)
                continue
            }
            number += 1
            rendered.append(dollar)
            appendDecimal(number, to: &rendered)
        }
        return String(decoding: rendered, as: UTF8.self)
    }

    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        if value >= 10 { appendDecimal(value / 10, to: &bytes) }
        bytes.append(UInt8(ascii: "0") + UInt8(value % 10))
    }

    static func row(_ row: PostgresRow) -> SQLRow {
        var values: [SQLValue] = []
        for cell in row {
            guard var bytes = cell.bytes else {
                values.append(.null)
                continue
            }
            switch cell.dataType {
            case .int8, .int4, .int2:
                values.append((try? cell.decode(Int64.self)).map(SQLValue.integer) ?? .null)
            case .float8, .float4, .numeric:
                values.append((try? cell.decode(Double.self)).map(SQLValue.real) ?? .null)
            case .bytea:
                values.append(.blob(bytes.readBytes(length: bytes.readableBytes) ?? []))
            case .bool:
                values.append(.integer((try? cell.decode(Bool.self)) == true ? 1 : 0))
            default:
                values.append((try? cell.decode(String.self)).map(SQLValue.text) ?? .null)
            }
        }
        return SQLRow(values)
    }

    static func storeError(_ error: PSQLError) -> any Error {
        let state = error.serverInfo?[.sqlState]
        // 57014 query_canceled: the statement timeout fired.
        if state == "57014" {
            return StoreError(.timeout, "the statement ran longer than the statement timeout and was cancelled")
        }
        // 40P01 deadlock_detected, 40001 serialization_failure: this transaction was rolled back, another went on.
        if state == "40P01" || state == "40001" {
            return StoreError(.conflict, "the transaction met another that needed the same rows or tables and was rolled back: try again")
        }
        // Class 22, data exception: a value PostgreSQL cannot store as given.
        if let state, state.hasPrefix("22") {
            return StoreError(.invalidValue, "a value cannot be stored: \(error.serverInfo?[.message] ?? "invalid data") (SQLSTATE \(state))")
        }
        switch error.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .sslUnsupported, .failedToAddSSLHandler:
            return StoreError(.unavailable, "the PostgreSQL server cannot be reached: \(Self.reason(error))")
        case .server where state == "28P01" || state == "28000":
            return StoreError(.unavailable, "the PostgreSQL server refused the credentials: \(error.serverInfo?[.message] ?? "")")
        default:
            return error
        }
    }

    /// Why a connection failed, without the statement or its values.
    static func reason(_ error: PSQLError) -> String {
        if let underlying = error.underlying { return String(describing: underlying) }
        return "\(error.code)"
    }
}

/// Pool size and statement timeout (`SOCLE_DATABASE_POOL_SIZE`,
/// `SOCLE_DATABASE_STATEMENT_TIMEOUT`).
public struct DatabaseSettings: Sendable, Equatable {
    /// Connections (PostgreSQL) or read connections (SQLite); nil: the default (16, 5).
    public var poolSize: Int?
    /// Longest a statement may run; nil: no limit.
    public var statementTimeout: Duration?

    public init(poolSize: Int? = nil, statementTimeout: Duration? = nil) {
        self.poolSize = poolSize
        self.statementTimeout = statementTimeout
    }
}
