import ArgumentParser
import Foundation
import Logging
import Storage

/// `socle backup --to FILE`: a consistent copy of a SQLite database, while
/// servers keep using it (SQLite's online backup API). PostgreSQL is backed
/// up with `pg_dump` (one database) or `pg_basebackup` (the cluster).
struct Backup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Copy a SQLite database, consistently, while it is in use.",
        discussion: "For PostgreSQL use pg_dump (pg_dump -Fc -f socle.dump DATABASE; pg_restore -d DATABASE socle.dump) or pg_basebackup.")

    @Option(help: "The new file to write the copy to.") var to: String
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (url, settings) = try database.resolved()
        let store = try Store.open(try DatabaseLocation(url), settings: settings, logger: Logger(label: "socle.backup"))
        do {
            let summary = try store.backup(to: to)
            print("backed up to \(to): schema version \(summary.schemaVersion), \(summary.versions) versions, \(summary.bytes) bytes")
            // The access trace, kept in its own file, is copied beside the copy.
            if case .sqlite(let path) = try DatabaseLocation(url), FileManager.default.fileExists(atPath: AccessTraceStore.path(beside: path)) {
                let trace = try AccessTraceStore.beside(store)
                let copy = AccessTraceStore.path(beside: to)
                try trace.backup(to: copy)
                try await trace.close()
                print("access trace backed up to \(copy)")
            }
            try await store.close()
        } catch let error as StoreError {
            try? await store.close()
            throw ValidationError(error.message)
        }
    }
}

/// `socle restore --from FILE`: replaces a SQLite database with a backup,
/// refused while anything has the database open or when the backup is not
/// a Socle database this binary can open (damaged, or a newer schema).
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace a SQLite database with a backup made by socle backup.",
        discussion: "Stop every server and command using the database first. For PostgreSQL use pg_restore.")

    @Option(help: "The backup file.") var from: String
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        guard case .sqlite(let path) = try DatabaseLocation(try database.resolved().url) else {
            throw ValidationError("socle restore restores SQLite databases; restore PostgreSQL with pg_restore (or psql for a plain pg_dump)")
        }
        do {
            let summary = try SQLiteFiles.restore(from: from, to: path)
            print("restored \(path) from \(from): schema version \(summary.schemaVersion), \(summary.versions) versions")
        } catch let error as StoreError {
            throw ValidationError(error.message)
        }
    }
}

/// `socle verify`: reads every stored version and checks that it parses,
/// and that each projection holds as many objects as there are live ones;
/// exit status 1 when anything is wrong.
struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check every stored version and the projections' counts.")

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let (url, settings) = try database.resolved()
        let location = try DatabaseLocation(url)
        // Opening a SQLite path creates the file: verifying one that is not there would leave an empty database behind.
        if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
            throw ValidationError("there is no database at \(path)")
        }
        let store = try Store.open(location, settings: settings, logger: Logger(label: "socle.verify"))
        let report: VerificationReport
        do {
            report = try await store.verify { read in FileHandle.standardError.write(Data("\r\(read) versions read".utf8)) }
            try await store.close()
        } catch {
            try? await store.close()
            throw error
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(Self.text(report))
        if !report.isClean { throw ExitCode(1) }
    }

    static func text(_ report: VerificationReport) -> String {
        var lines = ["\(report.versionsRead) versions read, \(report.damaged.count) damaged"]
        for item in report.damaged { lines.append("  damaged: \(item.objectID) version \(item.versionNumber): \(item.reason)") }
        for count in report.projections {
            lines.append("projection \(count.name): \(count.projected) objects, \(count.expected) live \(count.agrees ? "(agrees)" : "(DISAGREES: run socle reindex --projection \(count.name))")")
        }
        lines.append(report.isClean ? "clean" : "problems found")
        return lines.joined(separator: "\n")
    }
}
