import Logging

/// Everything Storage offers the layers above, on one database: the
/// version store (with its projections), templates, stored queries, AQL
/// plans, the change sequence. The only way in; no SQL and no database type
/// is seen outside this module.
public struct Store: Sendable {
    public let versions: VersionStore
    public let templates: TemplateStore
    public let queries: QueryStore
    public let tags: TagStore
    public let fhirSearch: FHIRSearchStore
    public let aql: AQLStore
    public let changes: ChangeFeed
    public let projections: Projections
    let database: any SQLDatabase

    /// The projections every Socle database keeps.
    public static let standardProjections: [any Projection] = [AQLIndexProjection(), AQLFolderProjection(), FHIRSearchProjection()]

    /// A store over an opened database, maintaining `projections`.
    public init(database: any SQLDatabase, projections: [any Projection] = Store.standardProjections) {
        self.database = database
        self.projections = Projections(projections, database: database)
        versions = VersionStore(database: database, projections: self.projections)
        templates = TemplateStore(database: database)
        queries = QueryStore(database: database)
        tags = TagStore(database: database)
        fhirSearch = FHIRSearchStore(database: database, projections: self.projections)
        aql = AQLStore(database: database, projections: self.projections)
        changes = ChangeFeed(database: database)
    }

    /// Opens the database a location names (`sqlite:PATH`, `postgres://…`).
    public static func open(
        _ location: DatabaseLocation, settings: DatabaseSettings = DatabaseSettings(), logger: Logger,
        projections: [any Projection] = Store.standardProjections
    ) throws -> Store {
        let database: any SQLDatabase
        switch location {
        case .sqlite(let path):
            database = try SQLiteDatabase(path: path, readers: settings.poolSize ?? 5, statementTimeout: settings.statementTimeout)
        case .postgresql(let url):
            database = try PostgreSQLDatabase(url: url, settings: settings, logger: logger)
        }
        return Store(database: database, projections: projections)
    }

    public var kind: DatabaseKind { database.kind }

    /// Brings the schema up to date (refusing one newer than this binary)
    /// and checks the projections (`Projections.prepare`).
    @discardableResult
    public func prepare() async throws -> (schemaVersion: Int, projections: [ProjectionState]) {
        if let postgres = database as? PostgreSQLDatabase { try await postgres.checkConnection() }
        let schemaVersion = try await Migrations.migrate(database)
        return (schemaVersion, try await projections.prepare())
    }

    /// Fresh statistics for the database's planner (after a bulk load).
    public func analyze() async throws {
        try await database.migrate(["ANALYZE"])
    }

    /// The schema version the database is at, and the one this binary brings it to.
    public func schemaVersions() async throws -> (current: Int, expected: Int) {
        (try await Migrations.currentVersion(database), Migrations.latestVersion)
    }

    /// Answers when the database does (`SELECT 1`).
    /// The database's size on disk: SQLite's pages (its WAL's committed pages
    /// included), PostgreSQL's `pg_database_size`.
    public func databaseBytes() async throws -> Int {
        switch database.kind {
        case .sqlite:
            let pages = try await database.query("PRAGMA page_count").first?.int(0) ?? 0
            let size = try await database.query("PRAGMA page_size").first?.int(0) ?? 0
            return Int(pages * size)
        case .postgresql:
            return Int(try await database.query("SELECT pg_database_size(current_database())").first?.int(0) ?? 0)
        }
    }

    public func ping() async throws {
        _ = try await database.query("SELECT 1")
    }

    /// A consistent copy of a SQLite database into a new file, while it is
    /// in use (SQLite's online backup API); PostgreSQL has its own tools.
    public func backup(to path: String) throws -> SQLiteFiles.Summary {
        guard let sqlite = database as? SQLiteDatabase else {
            throw StoreError(.invalidValue, "a PostgreSQL database is backed up with its own tools: pg_dump, or pg_basebackup for the whole cluster")
        }
        return try sqlite.backup(to: path)
    }

    public func close() async throws {
        try await database.close()
    }
}

/// Where the data lives, parsed from `SOCLE_DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    case sqlite(path: String)
    case postgresql(PostgresURL)

    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(_ url: String) throws(Problem) {
        if url.hasPrefix("sqlite:") {
            var path = String(url.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw Problem(description: "the SQLite database URL '\(url)' names no file") }
            self = .sqlite(path: path)
            return
        }
        let parsed: PostgresURL?
        do {
            parsed = try PostgresURL(url)
        } catch {
            throw Problem(description: "the database URL is refused: \(error.description)")
        }
        guard let parsed else {
            // The URL may hold a password: only its scheme is repeated.
            let scheme = url.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            throw Problem(description: "unsupported database URL (scheme '\(scheme)'): use sqlite:PATH or postgres://user:password@host:port/database")
        }
        self = .postgresql(parsed)
    }
}
