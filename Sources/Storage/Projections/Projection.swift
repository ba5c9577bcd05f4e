import JSONCore
import OpenEHR

/// Derived state kept beside the versions (docs/architecture.md §Projections):
/// the AQL node index, and next the FHIR search index, the FHIR view of
/// mapped compositions, the OMOP export state. A projection turns each
/// committed version into the statements that replace (or remove) its
/// rows; they run inside the commit's own transaction, so a projection is
/// never behind its versions. Because it is derived, it can be dropped and
/// rebuilt from the stored versions (`Projections.rebuild`, `socle reindex`).
///
/// A projection owns its tables: it creates and drops them, and a new
/// `version` makes every database built with another one rebuild it.
public protocol Projection: Sendable {
    /// Unique among projections; `socle reindex --projection NAME`.
    var name: String { get }
    /// Changes whenever the rows or the tables change meaning.
    var version: Int { get }
    /// The RM types (or FHIR resource types) whose versions it projects;
    /// nil for every versioned object.
    var rmTypes: Set<String>? { get }
    /// Its tables, whose planner statistics are refreshed after a rebuild
    /// and as they grow (`Projections.refreshStatistics`).
    var tables: [String] { get }
    /// Its tables and indexes, in creation order.
    func createStatements(_ kind: DatabaseKind) -> [String]
    /// Drops them (`IF EXISTS`).
    func dropStatements(_ kind: DatabaseKind) -> [String]
    /// Run at start on tables already at `version`: what a projection adds
    /// to them without a rebuild; each statement runs only when needed
    /// (`IF NOT EXISTS`, `ON CONFLICT DO NOTHING`).
    func currentStatements(_ kind: DatabaseKind) -> [String]
    /// Brings its rows up to date with one committed version: the rows of
    /// the object replaced by this version's (none for a deleted version).
    /// For a first version (`isCreation`) there is nothing to replace.
    func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement]
    /// Removes the rows of the objects being erased, whose ids are in the
    /// temporary table `erased_object (object_id)`; runs in the erasure's
    /// transaction, before the versions go.
    func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement]
    /// How many objects it holds (`SELECT COUNT(*) …` on its tables), to
    /// compare with how many it should (`liveObjects`); nil when it keeps no
    /// row per object (`socle verify`).
    func objectCountStatement(_ kind: DatabaseKind) -> String?
    /// Whose objects it projects, of those of its RM types.
    var records: ProjectedRecords { get }
    /// How many objects it should hold (`objectCountStatement`'s count);
    /// by default the live objects of its RM types and `records`.
    func liveObjectsStatement() -> SQLStatement
}

/// The versioned objects a projection follows: those of an EHR (openEHR
/// content), those without one (FHIR resources), or both.
public enum ProjectedRecords: Sendable {
    case ofEHRs, withoutEHR, all
}

extension Projection {
    public func currentStatements(_ kind: DatabaseKind) -> [String] { [] }
    public func objectCountStatement(_ kind: DatabaseKind) -> String? { nil }
    public var records: ProjectedRecords { .all }

    public func liveObjectsStatement() -> SQLStatement { Self.liveStatement(records: records, rmTypes: rmTypes) }

    /// The count of the live (latest version not deleted) versioned objects
    /// of these RM types and records.
    static func liveStatement(records: ProjectedRecords, rmTypes: Set<String>?) -> SQLStatement {
        var sql = """
            SELECT COUNT(*) FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
            WHERE v.lifecycle_state <> ?
            """
        var binds: [SQLValue] = [.text(VersionLifecycleState.deleted.rawValue)]
        switch records {
        case .ofEHRs: sql += " AND o.ehr_id IS NOT NULL"
        case .withoutEHR: sql += " AND o.ehr_id IS NULL"
        case .all: break
        }
        if let types = rmTypes?.sorted() {
            sql += " AND o.rm_type IN (\(Array(repeating: "?", count: types.count).joined(separator: ", ")))"
            binds += types.map(SQLValue.text)
        }
        return SQLStatement(sql, binds)
    }
}

/// A committed version as a projection sees it.
public struct ProjectedVersion: Sendable {
    public var record: VersionRecord
    public var rmType: String
    /// The template a composition follows.
    public var templateID: String?
    /// The object's first version: it has no rows to replace yet.
    public var isCreation: Bool
    /// The canonical document, parsed once by the writer (or from the stored
    /// bytes during a rebuild); nil when there is none.
    public var document: JSON?
    /// The shapes and places the AQL index may leave out (a live commit).
    var dictionaries: NodeDictionaryCache.Use?

    public init(record: VersionRecord, rmType: String, templateID: String?, isCreation: Bool, document: JSON?) {
        self.record = record
        self.rmType = rmType
        self.templateID = templateID
        self.isCreation = isCreation
        self.document = document
    }

    /// A version whose lifecycle state is deleted (RM common §VERSION).
    public var isDeleted: Bool { record.lifecycleState == VersionLifecycleState.deleted.rawValue }
}
