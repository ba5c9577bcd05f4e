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
    /// Brings its rows up to date with one committed version: the rows of
    /// the object replaced by this version's (none for a deleted version).
    /// For a first version (`isCreation`) there is nothing to replace.
    func statements(for version: ProjectedVersion, _ kind: DatabaseKind) -> [SQLStatement]
    /// Removes the rows of the objects being erased, whose ids are in the
    /// temporary table `erased_object (object_id)`; runs in the erasure's
    /// transaction, before the versions go.
    func erasureStatements(_ kind: DatabaseKind) -> [SQLStatement]
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
