import Foundation
import Logging
import NIOCore
import PostgresNIO

/// PostgreSQL through PostgresNIO's connection pool. The pool runs in a
/// task owned by this object and stops at `close()`.
public final class PostgreSQLDatabase: SQLDatabase {
    public let kind = DatabaseKind.postgresql
    let client: PostgresClient
    let runTask: Task<Void, Never>
    let logger: Logger

    /// - Parameter searchPath: a schema to use instead of `public` (tests use
    ///   one schema each, so that they run side by side on one database).
    public init(url: PostgresURL, searchPath: String? = nil, logger: Logger) {
        var configuration = PostgresClient.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database, tls: .disable)
        if let searchPath { configuration.options.additionalStartupParameters = [("search_path", searchPath)] }
        configuration.options.maximumConnections = 16
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        runTask = Task { await client.run() }
    }

    public func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        do {
            let rows = try await client.query(Self.query(sql, binds), logger: logger)
            var result: [SQLRow] = []
            for try await row in rows { result.append(Self.row(row)) }
            return result
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        do {
            try await runTransaction(statements)
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    func runTransaction(_ statements: [SQLStatement]) async throws {
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                for statement in statements {
                    try await self.run(statement, on: connection)
                }
                try await connection.query("COMMIT", logger: self.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    func run(_ statement: SQLStatement, on connection: PostgresConnection) async throws {
        let guarded = statement.mustChangeOneRow != nil
        let sql = guarded ? statement.sql + " RETURNING 1" : statement.sql
        do {
            let rows = try await connection.query(Self.query(sql, statement.binds), logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            if let error = statement.mustChangeOneRow, count != 1 { throw error }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw statement.onUniqueViolation ?? StoreError(.conflict, "the record already exists")
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    public func migrate(_ statements: [String]) async throws {
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: self.logger)
            do {
                // One migrator at a time across every node sharing the database.
                try await connection.query("SELECT pg_advisory_xact_lock(7340237)", logger: self.logger)
                for sql in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
                }
                try await connection.query("COMMIT", logger: self.logger)
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: self.logger)
                throw error
            }
        }
    }

    public func close() async throws {
        runTask.cancel()
        await runTask.value
    }

    /// Renders `?` placeholders as `$1`, `$2`, … (never inside quotes).
    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var rendered = ""
        rendered.reserveCapacity(sql.utf8.count + 8)
        var number = 0
        var inQuote = false
        for character in sql {
            if character == "'" { inQuote.toggle() }
            if character == "?" && !inQuote {
                number += 1
                rendered += "$\(number)"
            } else {
                rendered.append(character)
            }
        }
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .real(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let value): bindings.append(ByteBuffer(bytes: value))
            }
        }
        return PostgresQuery(unsafeSQL: rendered, binds: bindings)
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
        // Class 22, data exception: a value PostgreSQL cannot store as given.
        if let state = error.serverInfo?[.sqlState], state.hasPrefix("22") {
            return StoreError(.invalidValue, "a value cannot be stored: \(error.serverInfo?[.message] ?? "invalid data") (SQLSTATE \(state))")
        }
        if error.code == .connectionError || error.code == .serverClosedConnection || error.code == .clientClosedConnection {
            return StoreError(.unavailable, "the PostgreSQL server cannot be reached")
        }
        return error
    }
}

/// `postgres://user:password@host:port/database`, as `SOCLE_DATABASE_URL` takes it.
public struct PostgresURL: Sendable, Equatable {
    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String

    public init?(_ text: String) {
        let scheme: Substring
        if text.hasPrefix("postgres://") { scheme = "postgres://" } else if text.hasPrefix("postgresql://") { scheme = "postgresql://" } else { return nil }
        var rest = text.dropFirst(scheme.count)
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        guard let at = rest.lastIndex(of: "@"), let slash = rest[at...].firstIndex(of: "/") else { return nil }
        let credentials = rest[..<at]
        let hostPort = rest[rest.index(after: at)..<slash]
        let database = rest[rest.index(after: slash)...]
        guard !database.isEmpty, !hostPort.isEmpty else { return nil }
        if let colon = credentials.firstIndex(of: ":") {
            user = Self.decode(credentials[..<colon])
            password = Self.decode(credentials[credentials.index(after: colon)...])
        } else {
            user = Self.decode(credentials)
            password = nil
        }
        if let colon = hostPort.lastIndex(of: ":") {
            guard let port = Int(hostPort[hostPort.index(after: colon)...]) else { return nil }
            host = String(hostPort[..<colon])
            self.port = port
        } else {
            host = String(hostPort)
            port = 5432
        }
        self.database = Self.decode(database)
        guard !user.isEmpty else { return nil }
    }

    static func decode(_ text: Substring) -> String {
        String(text).removingPercentEncoding ?? String(text)
    }
}
