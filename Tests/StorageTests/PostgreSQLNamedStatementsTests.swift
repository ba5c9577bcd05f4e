import Foundation
import Logging
import SocleTestSupport
import Testing

@testable import Storage

/// The store's statements on PostgreSQL are prepared once per connection
/// under a name (`PostgreSQLNamedStatements`); generated ones are not.
@Suite("PostgreSQL: the store's statements kept prepared")
struct PostgreSQLNamedStatementsTests {
    @Test func aNameStandsForOneTextAndTheTypesOfItsValues() throws {
        let statements = PostgreSQLNamedStatements()
        let first = try #require(statements.named("SELECT a FROM t WHERE b = ? AND c = ?", [.integer(1), .text("x")]))
        #expect(first.sql == "SELECT a FROM t WHERE b = $1 AND c = $2")
        #expect(first.types == [.int8, .text])
        #expect(statements.named("SELECT a FROM t WHERE b = ? AND c = ?", [.integer(2), .text("y")])?.name == first.name)
        // A null, or a value of another type, is another prepared statement: its parameters keep their first types.
        let withNull = try #require(statements.named("SELECT a FROM t WHERE b = ? AND c = ?", [.null, .text("y")]))
        #expect(withNull.name != first.name && withNull.types == [.null, .text])
        let otherTypes = try #require(statements.named("SELECT a FROM t WHERE b = ? AND c = ?", [.real(1), .blob([1])]))
        #expect(otherTypes.name != first.name && otherTypes.name != withNull.name && otherTypes.types == [.float8, .bytea])
        // Many values: a multi-row insert, whose text changes with its rows, stays unnamed.
        let many = Array(repeating: SQLValue.integer(1), count: PostgreSQLNamedStatements.mostValues + 1)
        #expect(statements.named("INSERT INTO t VALUES " + Array(repeating: "(?)", count: many.count).joined(separator: ", "), many) == nil)
    }

    @Test func namesAreGivenUpToTheCapacityThenStatementsGoUnnamed() {
        let statements = PostgreSQLNamedStatements()
        for number in 0..<PostgreSQLNamedStatements.capacity {
            #expect(statements.named("SELECT \(number)", []) != nil)
        }
        #expect(statements.named("SELECT -1", []) == nil)
        // Those named keep their names.
        #expect(statements.named("SELECT 0", [])?.name == "socle_1")
    }

    /// On the server: the session's prepared statements (PostgreSQL §54.16,
    /// `pg_prepared_statements`) after reads through one connection.
    @Test func theServerKeepsTheStoresStatementsNotGeneratedOnes() async throws {
        guard let url = DatabaseSettingsTests.postgres else { return }
        try await DatabaseSettingsTests.with(url, settings: DatabaseSettings(poolSize: 1)) { database in
            for value in [5, 6] {
                #expect(try await database.query("SELECT ? + 1", [.integer(Int64(value))]).first?.int(0) == Int64(value) + 1)
            }
            // The same text with a value of another type is prepared again, not sent with the first's types.
            #expect(try await database.query("SELECT ? || ''", [.text("text")]).first?.string(0) == "text")
            #expect(try await database.query("SELECT ? || ''", [.integer(7)]).first?.string(0) == "7")
            #expect(try await database.query("SELECT 3 * ?", [.integer(2)], options: ReadOptions(generated: true)).first?.int(0) == 6)
            let prepared = try await database.query(
                "SELECT statement FROM pg_prepared_statements WHERE name LIKE 'socle\\_%' ORDER BY prepare_time", [], options: ReadOptions(generated: true)
            ).compactMap { $0.string(0) }
            #expect(prepared == ["SELECT $1 + 1", "SELECT $1 || ''", "SELECT $1 || ''"])
        }
    }
}
