import Foundation
import GRDB
import Synchronization
import Tracing

/// SQLite through GRDB: a WAL-mode pool (one writer, concurrent readers),
/// `synchronous=NORMAL`, cached prepared statements, one transaction per batch.
public final class SQLiteDatabase: SQLDatabase {
    public let kind = DatabaseKind.sqlite
    let pool: DatabasePool
    let statementTimeout: Duration?
    /// Held while the database is open (`SQLiteFileLock`): a restore waits for no one.
    let fileLock: SQLiteFileLock?
    /// The texts of generated statements (AQL) kept prepared. Past
    /// `maximumGeneratedStatements` distinct texts every connection's cache
    /// is emptied, so that a stream of distinct queries cannot grow memory.
    let generatedStatements = Mutex<Set<String>>([])
    /// Transactions that arrive together are written together (`SQLiteGroupCommit`).
    let groupCommit = SQLiteGroupCommit()
    /// WAL checkpoints on a connection of their own, off the writer's path.
    let checkpointer: SQLiteCheckpointer

    /// Groups of several transactions written in one, and the transactions in them, since the database was opened.
    public var groupCommits: (groups: Int, transactions: Int) {
        (groupCommit.groups.load(ordering: .relaxed), groupCommit.grouped.load(ordering: .relaxed))
    }
    static let maximumGeneratedStatements = 256

    /// The database file.
    public var path: String { pool.path }

    /// Opens (creating if needed) the database file and its folder.
    /// - Parameters:
    ///   - readers: concurrent read connections.
    ///   - statementTimeout: reads running longer are interrupted.
    ///   - checkpointPages: the WAL size, in pages, at which it is checkpointed (docs/architecture.md §SQLite settings).
    public init(path: String, readers: Int = 5, statementTimeout: Duration? = nil, checkpointPages: Int32 = 16_384) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let checkpointer = SQLiteCheckpointer(threshold: checkpointPages)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.maximumReaderCount = max(1, readers)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            // 64 MB of page cache and reads through a memory map: the indexes
            // a large import or a projection rebuild walks stay in memory
            // (measured in docs/architecture.md §SQLite settings).
            try db.execute(sql: "PRAGMA cache_size = -65536")
            try db.execute(sql: "PRAGMA mmap_size = 268435456")
            if !db.configuration.readonly {
                // The writer's savepoints (one per contribution of a group) keep the pages
                // they would restore in memory, not in a temporary file past 64 KB
                // (docs/architecture.md §Savepoint journals in memory).
                try db.execute(sql: "PRAGMA temp_store = MEMORY")
            }
            // In place of SQLite's automatic checkpoint (the writer's only commits).
            checkpointer.install(on: db)
            db.add(function: SQLiteExtreme.function)
            db.add(function: SQLiteDocument.function())
        }
        fileLock = try SQLiteFileLock(path: path, exclusive: false)
        pool = try DatabasePool(path: path, configuration: configuration)
        checkpointer.start(path: path)
        self.checkpointer = checkpointer
        self.statementTimeout = statementTimeout
        PoolMetrics.read.size(configuration.maximumReaderCount)
        PoolMetrics.write.size(1)
    }

    public func query(_ sql: String, _ binds: [SQLValue], options: ReadOptions) async throws -> [SQLRow] {
        if options.generated { rememberGenerated(sql) }
        guard let timeout = statementTimeout else { return try await read(sql, binds) }
        // GRDB interrupts the running statement when its task is cancelled.
        return try await withThrowingTaskGroup(of: [SQLRow]?.self) { group in
            group.addTask { try await self.read(sql, binds) }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let rows = first else {
                throw StoreError(.timeout, "the statement ran longer than the statement timeout (\(timeout))")
            }
            return rows
        }
    }

    func read(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let ticket = PoolMetrics.read.enter()
        defer { ticket.leave() }
        let context = InstrumentationContext.current ?? .topLevel
        return try await pool.read { db in
            ticket.acquired()
            return try SQLTracing.span(sql, .sqlite, context: context) {
                let step = try SQLiteStep(sql, in: db)
                try step.bind(binds)
                return try step.rows()
            }
        }
    }

    func rememberGenerated(_ sql: String) {
        let overflow = generatedStatements.withLock { texts -> Bool in
            guard texts.insert(sql).inserted, texts.count > Self.maximumGeneratedStatements else { return false }
            texts.removeAll()
            return true
        }
        if overflow { pool.releaseMemory() }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        let ticket = PoolMetrics.write.enter()
        defer { ticket.leave() }
        let context = InstrumentationContext.current ?? .topLevel
        try await groupCommit.transaction(statements, context: context, ticket: ticket, pool: pool)
    }

    /// One statement of a transaction, with its guards (`SQLStatement`).
    static func execute(_ statement: SQLStatement, in db: Database) throws {
        guard statement.parts.isEmpty else {
            for part in statement.parts { try execute(part, in: db) }
            return
        }
        let step = try SQLiteStep(statement.sql, in: db)
        try step.bind(statement.binds)
        if let error = statement.mustReturnRow {
            if try !step.run() { throw error }
            return
        }
        do {
            _ = try step.run()
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT
            && (error.extendedResultCode == .SQLITE_CONSTRAINT_UNIQUE || error.extendedResultCode == .SQLITE_CONSTRAINT_PRIMARYKEY)
        {
            throw statement.uniqueViolation
        }
        if let error = statement.mustChangeOneRow, db.changesCount != 1 { throw error }
    }

    /// Schema changes and fresh statistics (ANALYZE): afterwards the read
    /// connections are opened anew, since SQLite loads statistics with the
    /// schema, and a connection that read them before ANALYZE keeps planning
    /// without them (patient queries stayed at 150 ms after a rebuild, measured).
    public func migrate(_ statements: [String]) async throws {
        try await pool.write { db in
            for sql in statements { try db.execute(sql: sql) }
        }
        pool.releaseMemory()
        pool.invalidateReadOnlyConnections()
    }

    public func close() async throws {
        try pool.close()
        await checkpointer.close()
    }
}
