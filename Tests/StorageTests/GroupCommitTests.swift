import Foundation
import SocleTestSupport
import Storage
import Testing

/// Group commit (issue 19 §8): transactions that arrive together are written
/// in one database transaction on SQLite, and each stays all-or-nothing —
/// one that fails is rolled back alone and its caller gets its own error.
/// PostgreSQL runs each in its own transaction; the outcome is the same.
@Suite("Group commit")
struct GroupCommitTests {
    @Test(arguments: TestEngine.available)
    func eachTransactionOfAGroupIsAllOrNothing(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { test in
            let database = test.database
            try await database.migrate(["CREATE TABLE group_commit_test (k INTEGER PRIMARY KEY, v TEXT NOT NULL)"])
            let refused = StoreError(.conflict, "no such row")
            // A slow first transaction, so that the others queue behind it.
            let slow = SQLStatement(
                "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r WHERE x < 200000) SELECT COUNT(*) FROM r", mustReturnRow: refused)
            async let first: Void = database.transaction([slow, SQLStatement("INSERT INTO group_commit_test (k, v) VALUES (0, 'first')")])
            try await Task.sleep(for: .milliseconds(5))
            let outcomes = await withTaskGroup(of: (Int, Bool).self) { group in
                for number in 1...40 {
                    group.addTask {
                        // Odd transactions insert a row, then fail a guard: nothing of them stays.
                        var statements = [SQLStatement("INSERT INTO group_commit_test (k, v) VALUES (?, 'a')", [.integer(Int64(number * 10))])]
                        if number % 2 == 1 {
                            statements.append(SQLStatement("UPDATE group_commit_test SET v = 'x' WHERE k = -1", mustChangeOneRow: refused))
                        }
                        statements.append(SQLStatement("INSERT INTO group_commit_test (k, v) VALUES (?, 'b')", [.integer(Int64(number * 10 + 1))]))
                        do {
                            try await database.transaction(statements)
                            return (number, true)
                        } catch let error as StoreError where error.message == "no such row" {
                            return (number, false)
                        } catch {
                            Issue.record("transaction \(number) failed otherwise: \(error)")
                            return (number, false)
                        }
                    }
                }
                var outcomes: [Int: Bool] = [:]
                for await (number, committed) in group { outcomes[number] = committed }
                return outcomes
            }
            try await first
            #expect(outcomes.filter { $0.value }.keys.sorted() == Array(stride(from: 2, through: 40, by: 2)))
            let keys = try await database.query("SELECT k FROM group_commit_test ORDER BY k").compactMap { $0.int(0) }
            var expected: [Int64] = [0]
            for number in stride(from: 2, through: 40, by: 2) { expected += [Int64(number * 10), Int64(number * 10 + 1)] }
            #expect(keys == expected)
            // A duplicate key in one transaction of a group: that one fails, the group's others commit.
            async let slowAgain: Void = database.transaction([slow])
            try await Task.sleep(for: .milliseconds(5))
            let duplicate = Task { try await database.transaction([SQLStatement("INSERT INTO group_commit_test (k, v) VALUES (20, 'again')")]) }
            async let fresh: Void = database.transaction([SQLStatement("INSERT INTO group_commit_test (k, v) VALUES (1000, 'fresh')")])
            try await slowAgain
            await #expect(throws: StoreError.self) { try await duplicate.value }
            try await fresh
            #expect(try await database.query("SELECT v FROM group_commit_test WHERE k IN (20, 1000) ORDER BY k").compactMap { $0.string(0) } == ["a", "fresh"])
            if let sqlite = database as? SQLiteDatabase {
                #expect(sqlite.groupCommits.groups >= 1 && sqlite.groupCommits.transactions >= 2, "\(sqlite.groupCommits)")
                // And in the process's write pool metrics (`/metrics`).
                let write = PoolMetrics.snapshot.first { $0.pool == "write" }
                #expect((write?.groups ?? 0) >= 1 && (write?.groupedTransactions ?? 0) >= 2)
            }
        }
    }

    /// When the writer cannot be had (the database closed), every
    /// transaction waiting for it gets an error: none waits for ever, and
    /// nothing is written. The limit is for a hang, not a speed: alone the
    /// test takes 0.02 s, but in the full suite every test runs at once on
    /// the machine's cores, and tests this short were measured taking 80 to
    /// 126 s from start to end there (which a one-minute limit failed once).
    @Test(.timeLimit(.minutes(10)))
    func transactionsOnAClosedDatabaseFail() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-closed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("closed.sqlite").path
        let database = try SQLiteDatabase(path: path)
        try await database.migrate(["CREATE TABLE closed_test (k INTEGER PRIMARY KEY)"])
        try await database.close()
        let failed = await withTaskGroup(of: Bool.self) { group in
            for number in 0..<8 {
                group.addTask {
                    do {
                        try await database.transaction([SQLStatement("INSERT INTO closed_test (k) VALUES (?)", [.integer(Int64(number))])])
                        return false
                    } catch {
                        return true
                    }
                }
            }
            var failed = 0
            for await refused in group where refused { failed += 1 }
            return failed
        }
        #expect(failed == 8)
        let reopened = try SQLiteDatabase(path: path)
        #expect(try await reopened.query("SELECT COUNT(*) FROM closed_test").first?.int(0) == 0)
        try await reopened.close()
    }
}
