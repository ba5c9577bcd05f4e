import Foundation
import GRDB

#if canImport(Glibc)
    import Glibc
#endif

/// Who has a SQLite database open: every `SQLiteDatabase` holds a shared
/// `flock` on a file beside it (`PATH.lock`) for as long as it is open, so
/// that `socle restore` can tell a database in use (a server, a reindex)
/// from one nobody has open: SQLite itself holds no lock on an idle WAL
/// database that another process could test.
final class SQLiteFileLock: Sendable {
    let descriptor: Int32

    /// Takes the lock, shared or exclusive; nil when `exclusive` and another holder has it.
    init?(path: String, exclusive: Bool) throws {
        let descriptor = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw StoreError(.unavailable, "cannot open \(path).lock: \(String(cString: strerror(errno)))") }
        if flock(descriptor, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) != 0 {
            close(descriptor)
            if exclusive { return nil }
            throw StoreError(.unavailable, "\(path) is being restored")
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }
}

/// Copies of a SQLite database through SQLite's online backup API
/// (<https://www.sqlite.org/backup.html>), page by page from one read
/// transaction: a consistent snapshot while writes go on, not a copy of files.
public enum SQLiteFiles {
    /// What a backup file holds.
    public struct Summary: Sendable {
        public var schemaVersion: Int
        public var versions: Int
        public var bytes: Int
    }

    /// Checks that `path` is a Socle database this binary can open: it reads
    /// as SQLite, passes `PRAGMA quick_check`, and its schema is not newer.
    public static func inspect(_ path: String) throws -> Summary {
        guard FileManager.default.fileExists(atPath: path) else { throw StoreError(.notFound, "\(path) does not exist") }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                guard try String.fetchOne(db, sql: "PRAGMA quick_check") == "ok" else {
                    throw StoreError(.invalidValue, "\(path) fails SQLite's quick_check: it is damaged")
                }
                guard try db.tableExists("schema_migration") else { throw StoreError(.invalidValue, "\(path) is not a Socle database (no schema_migration)") }
                let schema = try Int.fetchOne(db, sql: "SELECT MAX(version) FROM schema_migration") ?? 0
                if schema > Migrations.latestVersion {
                    throw StoreError(.schemaTooNew, "\(path) has schema version \(schema), newer than this Socle binary supports (\(Migrations.latestVersion))")
                }
                let versions = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM object_version") ?? 0
                let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0
                let size = try Int.fetchOne(db, sql: "PRAGMA page_size") ?? 0
                return Summary(schemaVersion: schema, versions: versions, bytes: pages * size)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.invalidValue, "\(path) is not a readable SQLite database: \(error)")
        }
    }

    /// Restores `backup` into the database at `path`, replacing what it
    /// holds; refused while any process has `path` open, or when the backup
    /// is not a Socle database this binary can open.
    public static func restore(from backup: String, to path: String) throws -> Summary {
        let summary = try inspect(backup)
        guard let lock = try SQLiteFileLock(path: path, exclusive: true) else {
            throw StoreError(.conflict, "\(path) is in use (a Socle server or command has it open): stop it before restoring")
        }
        defer { withExtendedLifetime(lock) {} }
        var configuration = Configuration()
        configuration.readonly = true
        let source = try DatabaseQueue(path: backup, configuration: configuration)
        defer { try? source.close() }
        let destination = try DatabaseQueue(path: path)
        defer { try? destination.close() }
        try destination.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = WAL") }
        try source.backup(to: destination)
        return summary
    }
}

extension SQLiteDatabase {
    /// A consistent copy of the database, while it is in use, into a new file at `path`.
    public func backup(to path: String) throws -> SQLiteFiles.Summary {
        try copy(to: path)
        return try SQLiteFiles.inspect(path)
    }

    /// The online backup alone, into a new file, whatever the database holds.
    func copy(to path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw StoreError(.conflict, "\(path) exists: a backup goes to a new file") }
        let destination = try DatabaseQueue(path: path)
        do {
            try pool.backup(to: destination)
            try destination.close()
        } catch {
            try? destination.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }
}
