import JSONCore

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
    /// The patient record the EHR belongs to (FHIR `Patient/{id}`), when one is linked.
    public var patientID: String?

    public init(
        ehrID: String, systemID: String, timeCreated: Int64, statusObjectID: String, subjectID: String?, subjectNamespace: String?,
        isQueryable: Bool, isModifiable: Bool, patientID: String? = nil
    ) {
        self.ehrID = ehrID
        self.systemID = systemID
        self.timeCreated = timeCreated
        self.statusObjectID = statusObjectID
        self.subjectID = subjectID
        self.subjectNamespace = subjectNamespace
        self.isQueryable = isQueryable
        self.isModifiable = isModifiable
        self.patientID = patientID
    }
}

/// A CONTRIBUTION's row: its id and the audit of the commit as a whole.
public struct ContributionRecord: Sendable, Equatable {
    public var contributionID: String
    /// The EHR it changes; nil for records that belong to no EHR.
    public var ehrID: String?
    /// The patient record it concerns, when all its versions concern one.
    public var patientID: String?
    public var audit: AuditRecord

    public init(contributionID: String, ehrID: String?, patientID: String? = nil, audit: AuditRecord) {
        self.contributionID = contributionID
        self.ehrID = ehrID
        self.patientID = patientID
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
    /// The EHR the object belongs to; nil for records without an EHR.
    public var ehrID: String?
    /// The patient record this version concerns (FHIR `Patient/{id}`), so
    /// that erasing the patient finds it.
    public var patientID: String?
    public var contributionID: String
    public var audit: AuditRecord
    public var lifecycleState: String
    /// The canonical document exactly as committed; empty in history listings.
    public var data: [UInt8]

    public init(
        objectID: String, versionNumber: Int, ehrID: String?, patientID: String? = nil, contributionID: String, audit: AuditRecord,
        lifecycleState: String, data: [UInt8]
    ) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.ehrID = ehrID
        self.patientID = patientID
        self.contributionID = contributionID
        self.audit = audit
        self.lifecycleState = lifecycleState
        self.data = data
    }
}

/// A VERSIONED_OBJECT: which EHR (or patient), which RM type, when, and its latest version.
public struct VersionedObjectRecord: Sendable, Equatable {
    public var objectID: String
    public var ehrID: String?
    public var patientID: String?
    public var rmType: String
    public var timeCreated: Int64
    public var latestVersion: Int
}

/// One version to write in a contribution.
public struct VersionWrite: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The first version of a new versioned object.
        case create
        /// A new version, refused with 412 semantics unless
        /// `precedingVersion` is still the latest.
        case update(precedingVersion: Int)
    }

    public var record: VersionRecord
    public var kind: Kind
    /// The RM type (or FHIR resource type) of the versioned object.
    public var rmType: String
    /// The template a composition follows (so that a template in use cannot be removed).
    public var templateID: String?
    /// The canonical document already parsed, for the projections; nil:
    /// parsed from `record.data` when a projection needs it.
    public var document: JSON?
    /// What must still hold when the version commits.
    public var conditions: [CommitCondition]
    /// Tags set with the version (ITS-REST `openehr-item-tag`,
    /// `openehr-version-item-tag`), in the commit's transaction.
    public var tags: [TagReplacement] = []

    public static func create(
        _ record: VersionRecord, rmType: String, templateID: String? = nil, document: JSON? = nil, conditions: [CommitCondition] = []
    ) -> VersionWrite {
        VersionWrite(record: record, kind: .create, rmType: rmType, templateID: templateID, document: document, conditions: conditions)
    }

    public static func update(
        _ record: VersionRecord, rmType: String, precedingVersion: Int, templateID: String? = nil, document: JSON? = nil,
        conditions: [CommitCondition] = []
    ) -> VersionWrite {
        VersionWrite(
            record: record, kind: .update(precedingVersion: precedingVersion), rmType: rmType, templateID: templateID, document: document,
            conditions: conditions)
    }
}

/// A condition checked inside the commit's transaction.
public enum CommitCondition: Sendable, Equatable {
    /// The template is still at the revision the version was validated
    /// against (another node may have replaced or removed it): otherwise
    /// the commit fails with `StoreError.changed`.
    case templateRevision(templateID: String, revision: String)
    /// No FHIR resource meets the criteria (a conditional create's
    /// `If-None-Exist`): otherwise the commit fails with `conflict`.
    case noFHIRMatch(FHIRCriteria)
}

/// What a contribution changes on the EHR row itself.
public enum EHRChange: Sendable {
    case create(EHRRecord)
    case status(subjectID: String?, subjectNamespace: String?, isQueryable: Bool, isModifiable: Bool)
    /// New clinical content: the EHR must exist and be modifiable when the
    /// contribution commits (its row is locked on PostgreSQL meanwhile).
    case requireModifiable
    /// The EHR must still exist when the contribution commits (its row is
    /// locked on PostgreSQL meanwhile), whether or not it is modifiable.
    case requireExisting
    /// Links the EHR to a patient record (`Patient/{id}`); refused when
    /// it is already linked, or another EHR is linked to that patient.
    case linkPatient(String)
}

/// A row of the erasure log: which EHR or patient was erased, when, by whom, how much.
public struct ErasureRecord: Sendable, Equatable {
    public var erasureID: String
    public var ehrID: String?
    public var patientID: String?
    public var erasedAt: Int64
    public var erasedBy: String
    public var versionsErased: Int
    public var contributionsErased: Int
}
