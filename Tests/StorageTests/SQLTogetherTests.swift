import SocleTestSupport
import Storage
import Testing

/// Statements given together (`SQLStatement.together`): one statement on
/// PostgreSQL, one after another on SQLite, with the same outcome on both:
/// every part written, or, when a guard fails, the first failing part's
/// error in order and nothing written.
@Suite("Statements run together")
struct SQLTogetherTests {
    static let stale = StoreError(.preconditionFailed, "row a is not at 1")
    static let missing = StoreError(.notFound, "no row z")
    static let taken = StoreError(.conflict, "row a exists")

    static func ids(_ database: any SQLDatabase) async throws -> [String] {
        try await database.query("SELECT id || ':' || n FROM together_test ORDER BY id").compactMap { $0.string(0) }
    }

    @Test(arguments: TestEngine.available)
    func guardsHoldInOrderAndAFailureWritesNothing(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let database = test.database
            try await database.transaction([
                SQLStatement("CREATE TABLE together_test (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"),
                SQLStatement("INSERT INTO together_test (id, n) VALUES ('a', 1)"),
            ])
            func insert(_ id: String, _ n: Int64, taken: StoreError? = nil) -> SQLStatement {
                SQLStatement("INSERT INTO together_test (id, n) VALUES (?, ?)", [.text(id), .integer(n)], onUniqueViolation: taken)
            }
            let update = SQLStatement("UPDATE together_test SET n = 5 WHERE id = 'a' AND n = 1", mustChangeOneRow: Self.stale)
            let exists = SQLStatement("SELECT 1 FROM together_test WHERE id = ?", [.text("a")], mustReturnRow: Self.missing)
            try await database.transaction([.together([insert("b", 2), update, exists, insert("c", 3)])])
            #expect(try await Self.ids(database) == ["a:5", "b:2", "c:3"])

            // The update is stale and the insert breaks the key: the update's error, the first in order.
            await #expect(throws: Self.stale) { try await database.transaction([.together([insert("d", 4), update, insert("a", 9, taken: Self.taken)])]) }
            // A key taken, after a part that wrote: its own error.
            await #expect(throws: Self.taken) { try await database.transaction([.together([insert("d", 4), insert("a", 9, taken: Self.taken)])]) }
            // A row that must exist does not.
            let absent = SQLStatement("SELECT 1 FROM together_test WHERE id = ?", [.text("z")], mustReturnRow: Self.missing)
            await #expect(throws: Self.missing) { try await database.transaction([.together([insert("d", 4), absent])]) }
            // No unique error given: the store's default.
            await #expect(throws: StoreError(.conflict, "the record already exists")) {
                try await database.transaction([.together([insert("b", 7), insert("e", 5)])])
            }
            #expect(try await Self.ids(database) == ["a:5", "b:2", "c:3"])
        }
    }
}
