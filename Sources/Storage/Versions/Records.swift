import AQL
import JSONCore
import OpenEHR
/// An EHR as the store holds it: identity, creation time, the id of its
/// EHR_STATUS versioned object and the status flags that writes consult.
public struct EHRRecord: Sendable, Equatable {
    public var ehrID: String
    public var systemID: String
    public var timeCreated: Int64
    public var statusObjectID: String
    public var subjectID: String?
    public var subjectNamespace: String?
    public var isQueryable: Bool
    public var isModifiable: Bool

    public init(
        ehrID: String, systemID: String, timeCreated: Int64, statusObjectID: String, subjectID: String?, subjectNamespace: String?,
        isQueryable: Bool, isModifiable: Bool
    ) {
        self.ehrID = ehrID
        self.systemID = systemID
        self.timeCreated = timeCreated
        self.statusObjectID = statusObjectID
        self.subjectID = subjectID
        self.subjectNamespace = subjectNamespace
        self.isQueryable = isQueryable
        self.isModifiable = isModifiable
    }
}

/// A CONTRIBUTION's row: its id and the audit of the commit as a whole.
public struct ContributionRecord: Sendable, Equatable {
    public var contributionID: String
    public var ehrID: String
    public var audit: AuditRecord

    public init(contributionID: String, ehrID: String, audit: AuditRecord) {
        self.contributionID = contributionID
        self.ehrID = ehrID
        self.audit = audit
    }
}

/// AUDIT_DETAILS as stored: the committer is its canonical JSON.
public struct AuditRecord: Sendable, Equatable {
    public var systemID: String
    public var committer: String
    public var timeCommitted: Int64
    public var changeType: String
    public var description: String?

    public init(systemID: String, committer: String, timeCommitted: Int64, changeType: String, description: String?) {
        self.systemID = systemID
        self.committer = committer
        self.timeCommitted = timeCommitted
        self.changeType = changeType
        self.description = description
    }
}

/// One ORIGINAL_VERSION: its place in its versioned object, its
/// contribution, its own audit, lifecycle state and canonical bytes.
public struct VersionRecord: Sendable, Equatable {
    public var objectID: String
    public var versionNumber: Int
    public var ehrID: String
    public var contributionID: String
    public var audit: AuditRecord
    public var lifecycleState: String
    /// The canonical JSON exactly as committed; empty in history listings.
    public var data: [UInt8]

    public init(
        objectID: String, versionNumber: Int, ehrID: String, contributionID: String, audit: AuditRecord, lifecycleState: String,
        data: [UInt8]
    ) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.ehrID = ehrID
        self.contributionID = contributionID
        self.audit = audit
        self.lifecycleState = lifecycleState
        self.data = data
    }
}

/// A VERSIONED_OBJECT: which EHR, which RM type, when, and its latest version.
public struct VersionedObjectRecord: Sendable, Equatable {
    public var objectID: String
    public var ehrID: String
    public var rmType: String
    public var timeCreated: Int64
    public var latestVersion: Int
}

/// One version to write in a contribution.
public enum VersionWrite: Sendable {
    /// The first version of a new versioned object of this RM type
    /// (a composition also names the template it follows).
    /// A composition carries its AQL index rows.
    case create(VersionRecord, rmType: String, templateID: String? = nil, index: CompositionIndex? = nil)
    /// A new version of an existing object; refused with 412 semantics
    /// unless `precedingVersion` is still the latest. The object's index rows
    /// are replaced by `index` (none for a deleted composition).
    case update(VersionRecord, precedingVersion: Int, index: CompositionIndex? = nil)

    /// The version written.
    public var record: VersionRecord {
        switch self {
        case .create(let record, _, _, _), .update(let record, _, _): record
        }
    }

    public var index: CompositionIndex? {
        switch self {
        case .create(_, _, _, let index), .update(_, _, let index): index
        }
    }
}

/// What the AQL index keeps of one composition version: the composition's
/// row and its nodes (AQL `NodeProjection`).
public struct CompositionIndex: Sendable {
    public var archetypeID: String
    public var templateID: String?
    public var composer: String?
    /// `context/start_time`, microseconds since the epoch.
    public var startTime: Int64?
    public var nodes: [IndexedNode]

    public init(archetypeID: String, templateID: String?, composer: String?, startTime: Int64?, nodes: [IndexedNode]) {
        self.archetypeID = archetypeID
        self.templateID = templateID
        self.composer = composer
        self.startTime = startTime
        self.nodes = nodes
    }

    /// The index of a decoded composition.
    public init(composition: JSON, templateID: String?) {
        self.init(
            archetypeID: composition["archetype_node_id"]?.stringValue ?? "", templateID: templateID,
            composer: composition["composer"]?["name"]?.stringValue,
            startTime: composition["context"]?["start_time"]?["value"]?.stringValue.flatMap(ISODateTime.init)?.microsecondsSinceEpoch,
            nodes: NodeProjection.rows(of: composition))
    }
}

/// What a contribution changes on the EHR row itself.
public enum EHRChange: Sendable {
    case create(EHRRecord)
    case status(subjectID: String?, subjectNamespace: String?, isQueryable: Bool, isModifiable: Bool)
    /// New clinical content: the EHR must exist and be modifiable when the
    /// contribution commits (its row is locked on PostgreSQL meanwhile).
    case requireModifiable
}

/// A row of the erasure log: which EHR was erased, when, by whom, how much.
public struct ErasureRecord: Sendable, Equatable {
    public var erasureID: String
    public var ehrID: String
    public var erasedAt: Int64
    public var erasedBy: String
    public var versionsErased: Int
    public var contributionsErased: Int
}
