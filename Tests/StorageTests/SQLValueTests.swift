import Foundation
import GRDB
import SocleTestSupport
import Testing

@testable import Storage

/// Values go to the database and come back as they were, on both engines:
/// an empty text is not NULL, an empty blob is not NULL, the extremes of a
/// 64-bit integer, text beyond ASCII. On SQLite they are bound and read
/// through SQLite's C interface (`SQLiteStep`).
@Suite("SQL values bound and read back")
struct SQLValueTests {
    static let values: [[SQLValue]] = [
        [.integer(1), .text(""), .blob([]), .real(0)],
        [.integer(2), .null, .null, .null],
        [.integer(3), .text("Édith Piaf — 血圧 🩺"), .blob([0, 255, 1, 0]), .real(-2.5e-300)],
        [.integer(Int64.max), .text("it's \"quoted\""), .blob(Array(repeating: 7, count: 70_000)), .real(1e308)],
        [.integer(Int64.min), .text(String(repeating: "x", count: 100_000)), .blob([42]), .real(0.1)],
    ]

    @Test(arguments: TestEngine.available)
    func valuesComeBackAsTheyWent(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, migrate: false) { test in
            let blob = engine == .postgresql ? "BYTEA" : "BLOB"
            let real = engine == .postgresql ? "DOUBLE PRECISION" : "REAL"
            try await test.database.migrate(["CREATE TABLE value_test (k BIGINT PRIMARY KEY, t TEXT, b \(blob), r \(real))"])
            try await test.database.transaction(Self.values.map { SQLStatement("INSERT INTO value_test (k, t, b, r) VALUES (?, ?, ?, ?)", $0) })
            let rows = try await test.database.query("SELECT k, t, b, r FROM value_test ORDER BY k", [])
            #expect(rows.map(\.values) == Self.values.sorted { $0[0].integerValue < $1[0].integerValue })
            // Bound values select what they name: the empty text is not NULL.
            #expect(try await test.database.query("SELECT k FROM value_test WHERE t = ?", [.text("")]).map(\.values) == [[.integer(1)]])
            #expect(try await test.database.query("SELECT k FROM value_test WHERE t IS NULL", []).map(\.values) == [[.integer(2)]])
        }
    }

    /// Arrays (`SQLValue.array`) go to PostgreSQL in binary, NULLs kept, and
    /// `unnest` makes rows of them; SQLite refuses one, naming it.
    @Test(arguments: TestEngine.available)
    func arraysBecomeRowsOnPostgreSQLAndSQLiteRefusesThem(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, migrate: false) { test in
            let integers = SQLArray(.integer, [.integer(Int64.min), .null, .integer(Int64.max), .integer(0)])
            let reals = SQLArray(.real, [.real(-2.5e-300), .real(1e308), .null, .integer(3)])
            let texts = SQLArray(.text, [.text(""), .text("Édith Piaf — 血圧 🩺"), .text("it's"), .null])
            guard engine == .postgresql else {
                await #expect(throws: StoreError.self) { try await test.database.query("SELECT ?", [.array(integers)]) }
                return
            }
            let rows = try await test.database.query(
                "SELECT i, r, t FROM unnest(?::bigint[], ?::float8[], ?::text[]) AS u(i, r, t)", [.array(integers), .array(reals), .array(texts)])
            #expect(rows.map(\.values) == [
                [.integer(Int64.min), .real(-2.5e-300), .text("")], [.null, .real(1e308), .text("Édith Piaf — 血圧 🩺")],
                [.integer(Int64.max), .null, .text("it's")], [.integer(0), .real(3), .null],
            ])
            #expect(try await test.database.query("SELECT cardinality(?::text[])", [.array(SQLArray(.text, []))]).first?.values == [.integer(0)])
            // A value of another kind than the array's is a clear error, not a NULL.
            await #expect(throws: StoreError(.invalidValue, "an array of text values holds integer(1)")) {
                try await test.database.query("SELECT cardinality(?::text[])", [.array(SQLArray(.text, [.integer(1)]))])
            }
        }
    }

    /// PostgreSQL numbers its parameters (`$1`); the statements are written with `?`. A
    /// `?` inside a quoted literal is text, and text beyond ASCII passes unchanged.
    @Test func placeholdersAreNumberedForPostgreSQLOutsideQuotesOnly() {
        #expect(PostgreSQLDatabase.numberingPlaceholders("SELECT ? , '?', 'l''?', ? -- é ?") == "SELECT $1 , '?', 'l''?', $2 -- é $3")
        let many = (1...120).map { _ in "?" }.joined(separator: ",")
        #expect(PostgreSQLDatabase.numberingPlaceholders("VALUES (\(many)) '血圧?'") == "VALUES (\((1...120).map { "$\($0)" }.joined(separator: ","))) '血圧?'")
        #expect(PostgreSQLDatabase.numberingPlaceholders("") == "")
    }

    @Test func aTextWithANulCharacterKeepsItsWholeLengthOnSQLite() async throws {
        try await TestDatabase.with(.sqlite, migrate: false) { test in
            try await test.database.migrate(["CREATE TABLE value_test (t TEXT)"])
            try await test.database.transaction([SQLStatement("INSERT INTO value_test (t) VALUES (?)", [.text("a\u{0}b")])])
            #expect(try await test.database.query("SELECT t, length(CAST(t AS BLOB)) FROM value_test", []).map(\.values) == [[.text("a\u{0}b"), .integer(3)]])
        }
    }

    @Test func aStatementGivenTooFewOrTooManyValuesIsRefusedAndWritesNothing() async throws {
        try await TestDatabase.with(.sqlite, migrate: false) { test in
            try await test.database.migrate(["CREATE TABLE value_test (k INTEGER PRIMARY KEY, t TEXT)"])
            for values: [SQLValue] in [[.integer(1)], [.integer(1), .text("a"), .text("b")]] {
                await #expect(throws: (any Error).self) {
                    try await test.database.transaction([
                        SQLStatement("INSERT INTO value_test (k, t) VALUES (?, ?)", [.integer(9), .text("first")]),
                        SQLStatement("INSERT INTO value_test (k, t) VALUES (?, ?)", values),
                    ])
                }
            }
            #expect(try await test.database.query("SELECT COUNT(*) FROM value_test", []).first?.int(0) == 0)
        }
    }

    /// The writer keeps its savepoints' journal in memory; readers keep SQLite's default.
    @Test func theWriterKeepsItsTemporaryStoreInMemory() async throws {
        try await TestDatabase.with(.sqlite, migrate: false) { test in
            let database = try #require(test.database as? SQLiteDatabase)
            #expect(try await database.pool.write { try Int.fetchOne($0, sql: "PRAGMA temp_store") } == 2)
            #expect(try await database.pool.read { try Int.fetchOne($0, sql: "PRAGMA temp_store") } == 0)
        }
    }
}

extension SQLValue {
    fileprivate var integerValue: Int64 {
        if case .integer(let value) = self { return value }
        return 0
    }
}
