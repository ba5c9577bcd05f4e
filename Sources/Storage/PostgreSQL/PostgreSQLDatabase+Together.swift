import PostgresNIO

extension PostgreSQLDatabase {
    /// Statements given as one (`SQLStatement.together`), run as one: each a
    /// data-modifying WITH query (PostgreSQL §7.8.4: all run, on one
    /// snapshot, which their independence allows), after the WITH queries
    /// of its own, the main query checking the rows each returned. An
    /// insert's unique violation is counted rather than raised (`ON CONFLICT
    /// DO NOTHING`), so that every part's guard is checked in order, as if
    /// each ran alone: the first that fails raises its number
    /// (`refusalFunction`), which rolls the whole statement back and is
    /// read here as that guard's error. Alone in its transaction, the
    /// statement is the transaction: one round trip.
    func runTogether(_ parts: [SQLStatement], on connection: PostgresConnection) async throws {
        let (sql, refusals) = Self.together(parts)
        do {
            _ = try await SQLTracing.span(sql, .postgresql) { try await rows(sql, parts.flatMap(\.binds), on: connection) }
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == Self.refusalState {
            guard let number = error.serverInfo?[.message].flatMap({ Int($0) }), refusals.indices.contains(number) else { throw error }
            throw refusals[number]
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            // Only an update, or an insert among a part's own WITH queries, can still break a
            // unique constraint; the version's guards come first, so the latter only where no
            // guard failed (the AQL index's rows of a new object: none expected).
            throw (parts.first { $0.onUniqueViolation != nil } ?? parts[0]).uniqueViolation
        } catch let error as PSQLError {
            throw Self.storeError(error)
        }
    }

    /// The statement of `parts` and the errors of its guards in order:
    /// `WITH …, s0 AS (…), s1 AS (…) SELECT socle_refuse(CASE WHEN (SELECT
    /// COUNT(*) FROM s0) <> 1 THEN 0 WHEN … END)`.
    static func together(_ parts: [SQLStatement]) -> (sql: String, refusals: [StoreError]) {
        var queries: [String] = []
        var refusals: [(condition: String, error: StoreError)] = []
        for (index, part) in parts.enumerated() {
            queries += part.withQueries.map { "\($0.name) AS (\($0.sql))" }
            let main = part.mainQuery
            let body = isInsert(part) ? main + " ON CONFLICT DO NOTHING RETURNING 1" : isSelect(part) ? main : main + " RETURNING 1"
            queries.append("s\(index) AS (\(body))")
            let count = "(SELECT COUNT(*) FROM s\(index))"
            if isInsert(part) { refusals.append(("\(count) = 0", part.uniqueViolation)) }
            if let error = part.mustChangeOneRow { refusals.append(("\(count) <> 1", error)) }
            if let error = part.mustReturnRow { refusals.append(("\(count) = 0", error)) }
        }
        let cases = refusals.enumerated().map { "WHEN \($0.element.condition) THEN \($0.offset)" }
        let check = cases.isEmpty ? "SELECT 1" : "SELECT \(refusalFunction)(CASE \(cases.joined(separator: " ")) END)"
        return ("WITH " + queries.joined(separator: ", ") + " " + check, refusals.map(\.error))
    }

    static func isInsert(_ statement: SQLStatement) -> Bool { SQLTracing.operation(statement.mainQuery) == "INSERT" }
    static func isSelect(_ statement: SQLStatement) -> Bool { SQLTracing.operation(statement.mainQuery) == "SELECT" }

    /// The function that refuses a statement run together: given a guard's
    /// number, it raises it as the error's message with `refusalState`;
    /// given null, it returns.
    static let refusalFunction = "socle_refuse"
    /// A SQLSTATE of Socle's own (five digits or capitals, PostgreSQL appendix A).
    static let refusalState = "SOCLE"

    /// Made by migration 10.
    static let refusalFunctionStatement = """
        CREATE OR REPLACE FUNCTION \(refusalFunction)(refused integer) RETURNS integer LANGUAGE plpgsql AS $$
        BEGIN
            IF refused IS NOT NULL THEN
                RAISE EXCEPTION USING ERRCODE = '\(refusalState)', MESSAGE = refused::text;
            END IF;
            RETURN 0;
        END $$
        """
}
