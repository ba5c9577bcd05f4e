import Foundation
import Testing

@testable import Storage

/// SQLite's WAL is checkpointed on a connection of its own, off the writer's
/// commits (https://www.sqlite.org/wal.html §Application-Initiated
/// Checkpoints; `SQLiteCheckpointer`), and stays bounded when that
/// connection does not keep up: the writer then checkpoints in its COMMIT,
/// as SQLite's automatic checkpoint would. SQLite only: PostgreSQL has no WAL
/// of the application's to checkpoint.
@Suite("SQLite WAL checkpoints")
struct SQLiteCheckpointTests {
    static let pageSize = 4096
    /// Each insert writes at least one page of its own (a row of 3,000 bytes).
    static func fill(_ database: SQLiteDatabase, rows: Int) async throws {
        for key in 0..<rows {
            let payload = [UInt8](repeating: UInt8(key % 251), count: 3000)
            try await database.transaction([SQLStatement("INSERT INTO wal_test (k, v) VALUES (?, ?)", [.integer(Int64(key)), .blob(payload)])])
        }
    }

    static func walBytes(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int) ?? 0
    }

    static func withDatabase(checkpointPages: Int32, rows: Int, _ body: (SQLiteDatabase, String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-wal-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("wal.sqlite").path
        let database = try SQLiteDatabase(path: path, checkpointPages: checkpointPages)
        try await database.migrate(["CREATE TABLE wal_test (k INTEGER PRIMARY KEY, v BLOB NOT NULL)"])
        try await body(database, path)
        try await database.close()
        let reopened = try SQLiteDatabase(path: path)
        // Every row there after the close, whoever checkpointed what.
        #expect(try await reopened.query("SELECT COUNT(*), SUM(LENGTH(v)) FROM wal_test").first.map { [$0.int(0), $0.int(1)] } == [Int64(rows), Int64(rows * 3000)])
        try await reopened.close()
    }

    @Test(.timeLimit(.minutes(10)))
    func theCheckpointerConnectionCheckpointsTheWAL() async throws {
        try await Self.withDatabase(checkpointPages: 64, rows: 400) { database, _ in
            try await Self.fill(database, rows: 400)
            // The checkpointer runs on its own task: wait for it (in the full suite, tasks wait long for a core).
            let deadline = ContinuousClock.now + .seconds(300)
            while database.checkpointer.checkpoints.load(ordering: .relaxed) == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(database.checkpointer.checkpoints.load(ordering: .relaxed) > 0)
            // (How large the WAL grew depends on how the copies and commits interleaved: the bound is tested below, alone.)
            #expect(try await database.query("SELECT COUNT(*) FROM wal_test").first?.int(0) == 400)
        }
    }

    /// With no checkpointer at work, the writer checkpoints itself past four
    /// times the threshold: the WAL does not grow with every commit.
    @Test(.timeLimit(.minutes(10)))
    func withoutTheCheckpointerTheWriterBoundsTheWAL() async throws {
        try await Self.withDatabase(checkpointPages: 64, rows: 1000) { database, path in
            database.checkpointer.signal.finish()
            try await Self.fill(database, rows: 1000)
            #expect(database.checkpointer.writerCheckpoints.load(ordering: .relaxed) > 0)
            // Unbounded, the WAL would hold about a thousand pages (4 MB).
            #expect(try Self.walBytes(path) <= (256 + 8) * (Self.pageSize + 24) + 32)
            #expect(try await database.query("SELECT COUNT(*) FROM wal_test").first?.int(0) == 1000)
        }
    }

    /// The writer's part: once a copy has ended, the next commit checkpoints
    /// the frames appended since on the writer, so that the transaction after
    /// it starts the WAL again from its beginning (wal.html §WAL File Reset).
    @Test(.timeLimit(.minutes(10)))
    func afterACopyTheWritersPartLetsTheWALStartAgain() async throws {
        try await Self.withDatabase(checkpointPages: 64, rows: 12) { database, _ in
            let checkpointer = database.checkpointer
            checkpointer.signal.finish()
            try await Self.fill(database, rows: 10)
            let before = checkpointer.frames.load(ordering: .relaxed)
            #expect(before >= 10 && before < 64)
            // As the checkpointer's task does when its copy ends.
            checkpointer.copied.store(true, ordering: .releasing)
            try await database.transaction([SQLStatement("INSERT INTO wal_test (k, v) VALUES (10, ?)", [.blob([UInt8](repeating: 1, count: 3000))])])
            #expect(checkpointer.writerCheckpoints.load(ordering: .relaxed) == 1)
            try await database.transaction([SQLStatement("INSERT INTO wal_test (k, v) VALUES (11, ?)", [.blob([UInt8](repeating: 2, count: 3000))])])
            // This commit's frames alone: the WAL started again.
            #expect(checkpointer.frames.load(ordering: .relaxed) < 5)
        }
    }
}
