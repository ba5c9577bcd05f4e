import Foundation
import Logging
import JSONCore
import Storage

/// The engines storage behaviour is tested on: SQLite always, PostgreSQL
/// when `SOCLE_TEST_POSTGRES_URL` is set (CI sets it).
public enum TestEngine: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgresql

    public static var available: [TestEngine] {
        ProcessInfo.processInfo.environment["SOCLE_TEST_POSTGRES_URL"].map { !$0.isEmpty } == true ? [.sqlite, .postgresql] : [.sqlite]
    }

    public var description: String { rawValue }
}

/// A database of its own for one test: a new SQLite file, or a new schema
/// on the PostgreSQL test server. Dropped by `remove()`.
public struct TestDatabase: Sendable {
    public let engine: TestEngine
    /// The database itself: tests count rows with SQL.
    public let database: any SQLDatabase
    /// The store over it, with the standard projections (or the test's).
    public let store: Store
    /// The URL a server would be configured with to reach the same data.
    public let url: String
    /// The PostgreSQL schema of the test (its `search_path`).
    public let schema: String?
    let cleanup: @Sendable () async throws -> Void

    /// - Parameter migrate: bring the schema up to date and prepare the projections.
    public static func make(_ engine: TestEngine, migrate: Bool = true, projections: [any Projection] = Store.standardProjections) async throws
        -> TestDatabase
    {
        let logger = Logger(label: "socle.test")
        let name = "t" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let result: TestDatabase
        switch engine {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-test-\(name)")
            let path = folder.appendingPathComponent("socle.sqlite").path
            let database = try SQLiteDatabase(path: path)
            result = TestDatabase(
                engine: engine, database: database, store: Store(database: database, projections: projections), url: "sqlite:\(path)", schema: nil
            ) {
                try? await database.close()
                try? FileManager.default.removeItem(at: folder)
            }
        case .postgresql:
            guard let text = ProcessInfo.processInfo.environment["SOCLE_TEST_POSTGRES_URL"], let url = try PostgresURL(text) else {
                throw TestDatabaseError("SOCLE_TEST_POSTGRES_URL is not a postgres:// URL")
            }
            // Small pools: every test runs at once, and the server's connections are few (300 in CI).
            let admin = try PostgreSQLDatabase(url: url, settings: DatabaseSettings(poolSize: 1), logger: logger)
            try await admin.migrate(["CREATE SCHEMA \(name)"])
            let database = try PostgreSQLDatabase(url: url, searchPath: name, settings: DatabaseSettings(poolSize: 6), logger: logger)
            result = TestDatabase(
                engine: engine, database: database, store: Store(database: database, projections: projections), url: text, schema: String(name)
            ) {
                try? await database.close()
                try? await admin.migrate(["DROP SCHEMA \(name) CASCADE"])
                try? await admin.close()
            }
        }
        if migrate { try await result.store.prepare() }
        return result
    }

    public func remove() async {
        try? await cleanup()
    }

    /// Runs `body` with a fresh database, removing it afterwards.
    public static func with<T>(
        _ engine: TestEngine, migrate: Bool = true, projections: [any Projection] = Store.standardProjections, _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        // PostgreSQL test databases take connections: at most `PostgresSlots.limit` at once.
        if engine == .postgresql { await PostgresSlots.shared.acquire() }
        defer { if engine == .postgresql { Task { await PostgresSlots.shared.release() } } }
        let database = try await make(engine, migrate: migrate, projections: projections)
        do {
            let value = try await body(database)
            await database.remove()
            return value
        } catch {
            await database.remove()
            throw error
        }
    }

    /// Row counts of every table of the schema, by name.
    public func rowCounts(ehrID: String? = nil) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in Migrations.ehrTables + ["aql_composition", "aql_node", "aql_shape", "aql_place", "aql_folder", "aql_folder_item", "erasure_log", "change_log", "schema_migration"] {
            let rows: [SQLRow]
            if ehrID != nil, ["aql_shape", "aql_place"].contains(table) {
                continue
            } else if let ehrID, table == "aql_node" {
                rows = try await database.query(
                    "SELECT COUNT(*) FROM aql_node WHERE cid IN (SELECT cid FROM aql_composition WHERE ehr_id = ?)", [.text(ehrID)])
            } else if let ehrID, table == "aql_folder_item" {
                rows = try await database.query(
                    "SELECT COUNT(*) FROM aql_folder_item WHERE object_id IN (SELECT object_id FROM aql_folder WHERE ehr_id = ?)", [.text(ehrID)])
            } else if let ehrID, table != "schema_migration" {
                rows = try await database.query("SELECT COUNT(*) FROM \(table) WHERE ehr_id = ?", [.text(ehrID)])
            } else {
                rows = try await database.query("SELECT COUNT(*) FROM \(table)")
            }
            counts[table] = Int(rows.first?.int(0) ?? -1)
        }
        return counts
    }
}

public struct TestDatabaseError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Files of the shared corpus (`../shared/corpus` beside the checkout).
public enum Corpus {
    /// `../shared/corpus` from this file's checkout, as a path string.
    static let rootPath: String = {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(4)  // TestDatabase.swift, SocleTestSupport, Tests, and the checkout folder
        return parts.joined(separator: "/") + "/shared/corpus"
    }()

    /// A URL made afresh on each use: URLs are not shared between tests running at once.
    public static var root: URL { URL(fileURLWithPath: rootPath, isDirectory: true) }

    /// The checkout these tests belong to (its docs are read by some tests).
    public static var repositoryRoot: URL {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)  // TestDatabase.swift, SocleTestSupport, Tests
        return URL(fileURLWithPath: parts.joined(separator: "/"), isDirectory: true)
    }

    /// Every file below `directory` whose name ends in `.ext`, in path order.
    /// Listed as path strings and each URL made on its own: Foundation's
    /// directory enumerator hands out URLs relative to one base, and tests
    /// resolving them at once crashed inside `URL.path`.
    public static func files(below directory: URL, withExtension ext: String) -> [URL] {
        let base = directory.path
        let subpaths = (try? FileManager.default.subpathsOfDirectory(atPath: base)) ?? []
        return subpaths.filter { $0.hasSuffix("." + ext) }.sorted().map { URL(fileURLWithPath: base + "/" + $0) }
    }

    public static func files(in folder: String, withExtension ext: String) throws -> [URL] {
        let directory = rootPath + "/" + folder
        return try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix("." + ext) }.sorted()
            .map { URL(fileURLWithPath: directory + "/" + $0) }
    }
}

extension Corpus {
    /// A corpus file as text (`openehr/templates/valid/…`).
    public static func text(_ path: String) -> String {
        (try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)) ?? ""
    }

    /// A canonical JSON composition of the corpus without its `uid`, so that
    /// it can be committed again and again.
    public static func compositionWithoutUID(_ path: String) -> String {
        guard case .object(var object)? = try? JSONParser.parse(text(path)) else { return "" }
        object["uid"] = nil
        return JSONSerializer.string(.object(object))
    }

    /// The blood pressure of EHRbase's AQL data (magnitudes 22 mm[Hg]) and its template.
    public static let bloodPressure = compositionWithoutUID("openehr/compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json")
    public static let bloodPressureOPT = text("openehr/templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")
}

/// How many PostgreSQL test databases may be open at once: every test runs
/// at the same time, and each database holds up to 7 connections, where the
/// server allows 300 (CI's setting).
actor PostgresSlots {
    static let shared = PostgresSlots()
    static let limit = 24
    var used = 0
    var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        if used < Self.limit {
            used += 1
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    func release() {
        if waiting.isEmpty {
            used -= 1
        } else {
            waiting.removeFirst().resume()
        }
    }
}
