import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

@testable import Storage

/// Statements given together (`SQLStatement.together`): one statement on
/// PostgreSQL, one after another on SQLite, with the same outcome on both:
/// every part written, or, when a guard fails, the first failing part's
/// error in order and nothing written. On PostgreSQL the statement
/// raises that error itself (migration 10's `socle_refuse`), so that a
/// commit of one composition is one statement without `BEGIN` and `COMMIT`.
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

    static func table(_ database: any SQLDatabase) async throws {
        try await database.transaction([
            SQLStatement("CREATE TABLE together_test (id TEXT PRIMARY KEY, n INTEGER NOT NULL)"),
            SQLStatement("INSERT INTO together_test (id, n) VALUES ('a', 1)"),
        ])
    }

    /// A part with WITH queries of its own (PostgreSQL §7.8.4; SQLite has
    /// no data-modifying ones): they join the statement's, and the part's
    /// guard is on its main query.
    @Test(arguments: TestEngine.available.filter { $0 == .postgresql })
    func aPartsWithQueriesJoinTheStatement(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let database = test.database
            try await Self.table(database)
            func made(_ id: String, unless absent: String) -> SQLStatement {
                .with(
                    [SQLStatement.WithQuery("made", "INSERT INTO together_test (id, n) VALUES (?, 6) RETURNING id", [.text(id)])],
                    then: SQLStatement(
                        "SELECT 1 FROM made WHERE NOT EXISTS (SELECT 1 FROM together_test WHERE id = ?)", [.text(absent)], mustReturnRow: Self.missing))
            }
            let insert = SQLStatement("INSERT INTO together_test (id, n) VALUES ('g', 7)")
            await #expect(throws: Self.missing) { try await database.transaction([.together([made("f", unless: "a"), insert])]) }
            #expect(try await Self.ids(database) == ["a:1"])
            try await database.transaction([.together([made("f", unless: "z"), insert])])
            #expect(try await Self.ids(database) == ["a:1", "f:6", "g:7"])
        }
    }

    /// A new composition's contribution: on PostgreSQL one statement (its
    /// index rows with its version's), on SQLite one after another; a
    /// second composition's index rows start a second run (their WITH
    /// queries share names); an update's come after its version's.
    @Test(arguments: TestEngine.available)
    func aCommitOfOneCompositionIsOneStatementOnPostgreSQL(engine: TestEngine) async throws {
        try await NodeDictionaryCacheTests.withOneBloodPressure(engine) { test, store, ehr, tree in
            let contribution = ehr.contribution(ehr.audit())
            func write(_ objectID: String = UUIDText.random(), preceding: Int? = nil) -> VersionWrite {
                let record = ehr.object(objectID, (preceding ?? 0) + 1, contribution: contribution, data: String(decoding: JSONSerializer.bytes(tree), as: UTF8.self))
                return preceding.map { .update(record, rmType: "COMPOSITION", precedingVersion: $0, document: tree) }
                    ?? .create(record, rmType: "COMPOSITION", templateID: nil, document: tree)
            }
            let use = await test.store.projections.dictionaryUse()
            let one = store.statements(contribution, versions: [write()], ehrChanges: [.requireModifiable], dictionaries: use)
            let two = store.statements(contribution, versions: [write(), write()], ehrChanges: [.requireModifiable], dictionaries: use)
            let update = store.statements(contribution, versions: [write(preceding: 1)], ehrChanges: [.requireModifiable], dictionaries: use)
            if engine == .postgresql {
                #expect(one.count == 1 && one[0].parts.count == 6)
                // As the API commits it (with its template's check): one text with few
                // enough values to stay prepared on each connection (`PostgreSQLNamedStatements`).
                var checked = write()
                checked.conditions = [.templateRevision(templateID: "t", revision: "r")]
                let api = store.statements(contribution, versions: [checked], ehrChanges: [.requireModifiable], dictionaries: use)
                let values = api[0].parts.flatMap(\.binds)
                #expect(api.count == 1 && api[0].parts.count == 7)
                #expect(PostgreSQLNamedStatements().named(PostgreSQLDatabase.together(api[0].parts).sql, values) != nil, "\(values.count) values")
                #expect(one[0].parts.last?.withQueries.map(\.name) == ["inserted", "nodes"])
                #expect(two.map(\.parts.count) == [8, 0])
                #expect(update.count > 1 && update[0].parts.allSatisfy { $0.withQueries.isEmpty })
            } else {
                #expect(one.count > 1 && one.allSatisfy { !$0.independent && $0.parts.allSatisfy { !$0.independent } })
            }
            // Both kinds commit, and an update replaces the index rows.
            let object = UUIDText.random()
            try await NodeDictionaryCacheTests.commit(tree, ehr, in: store, objectID: object)
            let next = ehr.contribution(ehr.audit())
            let record = ehr.object(object, 2, contribution: next, data: String(decoding: JSONSerializer.bytes(tree), as: UTF8.self))
            try await store.commit(next, versions: [.update(record, rmType: "COMPOSITION", precedingVersion: 1, document: tree)], ehrChange: .requireModifiable)
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_composition").first?.int(0) == 2)
            #expect(try await NodeDictionaryCacheTests.dangling(test.database) == 0)
            // A taken object id: the versioned object's error, whose guard is checked before
            // the index row's insert runs (it would break its own key), nothing written.
            await #expect(throws: StoreError(.conflict, "versioned object \(object) already exists")) {
                try await NodeDictionaryCacheTests.commit(tree, ehr, in: store, objectID: object)
            }
            #expect(try await test.database.query("SELECT COUNT(*) FROM aql_composition").first?.int(0) == 2)
        }
    }
}
