import PostgresNIO

extension PostgreSQLDatabase {
    /// Statements given as one (`SQLStatement.together`), run as one: each a
    /// data-modifying WITH query (PostgreSQL §7.8.4: all run, on one
    /// snapshot, which their independence allows), the main query counting
    /// the rows each returned. An insert's unique violation is counted rather
    /// than raised (`ON CONFLICT DO NOTHING`), so that every part's guard is
    /// checked in order, as if each ran alone, and the first that fails is
    /// the error.
    func runTogether(_ parts: [SQLStatement], on connection: PostgresConnection) async throws {
        let counts: [Int64]
        do {
            let sql = Self.together(parts)
            let row = try await SQLTracing.span(sql, .postgresql) { try await rows(sql, parts.flatMap(\.binds), on: connection).first }
            counts = parts.indices.map { row?.int($0) ?? 0 }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // Only an update can still break a unique constraint.
            throw (parts.first { $0.onUniqueViolation != nil } ?? parts[0]).uniqueViolation
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
        for (part, count) in zip(parts, counts) {
            if Self.isInsert(part), count == 0 { throw part.uniqueViolation }
            if let error = part.mustChangeOneRow, count != 1 { throw error }
            if let error = part.mustReturnRow, count == 0 { throw error }
        }
    }

    /// The statement of `parts`: `WITH s0 AS (…), s1 AS (…) SELECT (SELECT COUNT(*) FROM s0), …`.
    static func together(_ parts: [SQLStatement]) -> String {
        let queries = parts.enumerated().map { index, part in
            let body = isInsert(part) ? part.sql + " ON CONFLICT DO NOTHING RETURNING 1" : isSelect(part) ? part.sql : part.sql + " RETURNING 1"
            return "s\(index) AS (\(body))"
        }
        let counts = parts.indices.map { "(SELECT COUNT(*) FROM s\($0))" }
        return "WITH " + queries.joined(separator: ", ") + " SELECT " + counts.joined(separator: ", ")
    }

    static func isInsert(_ statement: SQLStatement) -> Bool { SQLTracing.operation(statement.sql) == "INSERT" }
    static func isSelect(_ statement: SQLStatement) -> Bool { SQLTracing.operation(statement.sql) == "SELECT" }
}
