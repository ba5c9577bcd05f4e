import JSONCore
import OpenEHR

/// The `projection` table (migration 5): each projection's version, and
/// whether it is current, waiting to be rebuilt, or being rebuilt (by which
/// process, how far, when it last reported).
enum ProjectionCatalog {
    static let createStatements = [
        """
        CREATE TABLE projection (
            name TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            state TEXT NOT NULL,
            cursor TEXT,
            done BIGINT NOT NULL,
            total BIGINT,
            owner TEXT,
            heartbeat BIGINT,
            analyzed_position BIGINT,
            updated_at BIGINT NOT NULL
        )
        """
    ]
}

/// Where a projection stands.
public struct ProjectionState: Sendable, Equatable {
    public enum Phase: String, Sendable {
        /// Up to date with every committed version.
        case current
        /// Its tables were (re)created and must be filled from the versions.
        case stale
        /// Being filled, by `owner`, from the versions after `cursor`.
        case building
    }

    public var name: String
    public var version: Int
    public var phase: Phase
    /// Versioned objects rebuilt so far, of `total`.
    public var done: Int
    public var total: Int?
    public var owner: String?
    /// When the owner last reported, microseconds since the epoch.
    public var heartbeat: Int64?
}

/// The projections a store maintains: every commit runs their statements
/// (`VersionStore.commit`); at start `prepare` checks each against the
/// version its tables were built with; `rebuild` fills one from the stored
/// versions, streaming them in pages, resumably and alongside live commits.
public struct Projections: Sendable {
    public let all: [any Projection]
    /// The FHIR resources compositions are seen as, when the FHIR search projection keeps them.
    public var compositionView: (any CompositionFHIRView)? { all.lazy.compactMap { ($0 as? FHIRSearchProjection)?.view }.first }
    let database: any SQLDatabase
    /// A rebuild whose owner has not reported for this long is taken over.
    public static let abandonedAfter: Int64 = 120_000_000
    /// Versioned objects per rebuild transaction.
    public static let pageSize = 200

    /// The AQL index's shapes and places this process has seen committed.
    let dictionaries = NodeDictionaryCache()

    init(_ all: [any Projection], database: any SQLDatabase) {
        self.all = all
        self.database = database
    }

    func projection(_ name: String) throws -> any Projection {
        guard let projection = all.first(where: { $0.name == name }) else {
            throw StoreError(.notFound, "there is no projection '\(name)': the projections are \(all.map(\.name).joined(separator: ", "))")
        }
        return projection
    }

    /// What a live commit may leave out of the AQL index's dictionaries,
    /// where the projection is kept.
    func dictionaryUse() async -> NodeDictionaryCache.Use? {
        guard all.contains(where: { $0 is AQLIndexProjection }) else { return nil }
        let known = await dictionaries.current { try await database.query(IndexSchema.generationRead).first?.int(0) }
        return known.map(NodeDictionaryCache.Use.init)
    }

    // MARK: State

    public func states() async throws -> [ProjectionState] {
        let rows = try await database.query("SELECT name, version, state, done, total, owner, heartbeat FROM projection ORDER BY name")
        return rows.map(Self.state)
    }

    public func state(_ name: String) async throws -> ProjectionState? {
        try await database.query("SELECT name, version, state, done, total, owner, heartbeat FROM projection WHERE name = ?", [.text(name)]).first
            .map(Self.state)
    }

    static func state(_ row: SQLRow) -> ProjectionState {
        ProjectionState(
            name: row.string(0) ?? "", version: Int(row.int(1) ?? 0), phase: ProjectionState.Phase(rawValue: row.string(2) ?? "") ?? .stale,
            done: Int(row.int(3) ?? 0), total: row.int(4).map(Int.init), owner: row.string(5), heartbeat: row.int(6))
    }

    /// Refuses (`StoreError.rebuilding`) unless the projection is current.
    func requireCurrent(_ name: String) async throws {
        let rows = try await database.query("SELECT state, done, total FROM projection WHERE name = ?", [.text(name)])
        guard let row = rows.first else { throw StoreError(.rebuilding, "the \(name) projection has not been built: run socle reindex --projection \(name)") }
        guard row.string(0) == ProjectionState.Phase.current.rawValue else {
            let progress = row.int(2).map { " (\(row.int(1) ?? 0) of \($0) records done)" } ?? ""
            throw StoreError(.rebuilding, "the \(name) projection is being rebuilt from the stored versions\(progress); try again shortly")
        }
    }

    // MARK: At start

    /// Checks every projection against the version its tables were built
    /// with. A projection met for the first time, or built by an older
    /// Socle, gets fresh tables: current at once when there is nothing to
    /// project, else stale until rebuilt (the server rebuilds it in the
    /// background; `socle reindex` in the foreground). A database built by a
    /// newer Socle is refused, as a newer schema is.
    @discardableResult
    public func prepare() async throws -> [ProjectionState] {
        for projection in all {
            let existing = try await state(projection.name)
            if let existing, existing.version > projection.version {
                throw StoreError(
                    .schemaTooNew,
                    "the \(projection.name) projection was built by a newer Socle (version \(existing.version); this binary has \(projection.version)): run a newer Socle")
            }
            if existing?.version == projection.version {
                let added = projection.currentStatements(database.kind).map { SQLStatement($0) }
                // Two nodes starting at once may both add: the second is refused, and finds it there.
                if !added.isEmpty { try? await database.transaction(added) }
                continue
            }
            let phase: ProjectionState.Phase = try await hasVersions(projection) ? .stale : .current
            let now = ISODateTime.now().microsecondsSinceEpoch
            let record: SQLStatement
            if let existing {
                // Only one node moves the projection to its new version.
                record = SQLStatement(
                    "UPDATE projection SET version = ?, state = ?, cursor = NULL, done = 0, total = NULL, owner = NULL, heartbeat = NULL, updated_at = ? WHERE name = ? AND version = ?",
                    [SQLValue(projection.version), .text(phase.rawValue), .integer(now), .text(projection.name), SQLValue(existing.version)],
                    mustChangeOneRow: StoreError(.changed, "prepared by another node"))
            } else {
                record = SQLStatement(
                    "INSERT INTO projection (name, version, state, done, updated_at) VALUES (?, ?, ?, 0, ?)",
                    [.text(projection.name), SQLValue(projection.version), .text(phase.rawValue), .integer(now)],
                    onUniqueViolation: StoreError(.changed, "prepared by another node"))
            }
            do {
                try await database.transaction([record] + tables(projection))
            } catch let error as StoreError where error.code == .changed {
                continue
            }
        }
        return try await states()
    }

    /// Drops and creates the projection's tables.
    func tables(_ projection: any Projection) -> [SQLStatement] {
        (projection.dropStatements(database.kind) + projection.createStatements(database.kind)).map { SQLStatement($0) }
    }

    func hasVersions(_ projection: any Projection) async throws -> Bool {
        let (condition, binds) = Self.rmTypeCondition(projection, column: "rm_type")
        return !(try await database.query("SELECT 1 FROM versioned_object\(condition.isEmpty ? "" : " WHERE " + condition) LIMIT 1", binds).isEmpty)
    }

    /// `rm_type IN (…)` for a projection that follows some types; empty for all.
    /// `creationOrder`: the condition written so that no index serves it
    /// (`column || ''`) when the projection follows several types, for a
    /// scan in creation order (`versioned_object_created_idx`) to filter with it.
    static func rmTypeCondition(_ projection: any Projection, column: String, creationOrder: Bool = false) -> (String, [SQLValue]) {
        guard let types = projection.rmTypes?.sorted() else { return ("", []) }
        let operand = creationOrder && types.count > 1 ? "(\(column) || '')" : column
        return ("\(operand) IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))", types.map(SQLValue.text))
    }
}
