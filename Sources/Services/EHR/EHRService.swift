import JSONCore
import OpenEHR
import Storage

/// EHR and EHR_STATUS use cases (ITS-REST 1.0.3 §EHR, §EHR_STATUS; RM 1.1.0
/// ehr package §EHR creation semantics). Every write is one contribution.
public struct EHRService: Sendable {
    public let store: VersionStore
    public let systemID: String

    public init(store: VersionStore, systemID: String) {
        self.store = store
        self.systemID = systemID
    }

    /// An EHR as served (ITS-REST 1.0.3 §EHR, its example): its row and
    /// the latest versions of the objects it refers to.
    public struct Summary: Sendable {
        public var record: EHRRecord
        /// The latest EHR_STATUS version: the `If-Match` of the next status update.
        public var status: ObjectVersionID
        /// The EHR_ACCESS version (nil only for an EHR made before Socle kept one, until `createMissingAccess` runs).
        public var access: ObjectVersionID?
        /// The versioned object id of the EHR's directory, when it has one.
        public var directoryID: String?

        public var json: JSON {
            func reference(_ uid: ObjectVersionID, type: String) -> JSON {
                ["id": ["_type": "OBJECT_VERSION_ID", "value": .string(uid.description)], "namespace": "local", "type": .string(type)]
            }
            var object = JSONObject([
                ("system_id", ["_type": "HIER_OBJECT_ID", "value": .string(record.systemID)]),
                ("ehr_id", ["_type": "HIER_OBJECT_ID", "value": .string(record.ehrID)]),
                ("ehr_status", reference(status, type: "EHR_STATUS")),
            ])
            if let access { object["ehr_access"] = reference(access, type: "EHR_ACCESS") }
            if let directoryID {
                object["directory"] = ["id": ["_type": "HIER_OBJECT_ID", "value": .string(directoryID)], "namespace": "local", "type": "VERSIONED_FOLDER"]
            }
            object["time_created"] = ["_type": "DV_DATE_TIME", "value": .string(ISODateTime(microsecondsSinceEpoch: record.timeCreated).description)]
            return .object(object)
        }
    }

    /// One EHR_STATUS version: its uid and its canonical JSON as committed.
    public struct StatusVersion: Sendable {
        public var uid: ObjectVersionID
        public var json: [UInt8]
        public var record: VersionRecord
        public var ehrID: String { record.ehrID ?? "" }
    }

    /// Creates an EHR, with the client's EHR_STATUS or the default one, as a
    /// single contribution. `ehrID` is the client's id for PUT /ehr/{ehr_id}.
    public func createEHR(id ehrID: String? = nil, status: EHRStatus?, committal: Committal) async throws -> (Summary, StatusVersion) {
        let ehrID = try ehrID.map(Self.normalisedEHRID) ?? UUIDText.random()
        let audit = try committal.audit(systemID: systemID, at: ISODateTime.now(), defaultChange: .creation)
        let creation = creation(id: ehrID, status: status ?? EHRStatus(), audit: audit)
        do {
            try await store.commit(creation.commit.contribution, versions: creation.commit.versions, ehrChanges: creation.commit.ehrChanges)
        } catch let error as StoreError where error.code == .conflict {
            if try await store.ehr(ehrID) != nil { throw ServiceError(.conflict, "EHR \(ehrID) already exists") }
            let subject = creation.record.subjectID.map { "subject \($0) in namespace \(creation.record.subjectNamespace ?? "")" } ?? "this subject"
            throw ServiceError(.conflict, "an EHR already exists for \(subject)")
        }
        let access = creation.commit.versions.first { $0.rmType == "EHR_ACCESS" }.map { uid($0.record) }
        let status = creation.commit.versions[0].record
        return (Summary(record: creation.record, status: uid(status), access: access), statusVersion(status))
    }

    /// One contribution's worth of store writes.
    public typealias StoreCommit = (contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange])

    /// What creating an EHR writes (RM ehr package §EHR creation semantics):
    /// the EHR row (linked to `patientID` when given), the first EHR_STATUS
    /// and EHR_ACCESS versions, in one contribution.
    func creation(id ehrID: String, status input: EHRStatus, audit: AuditRecord, patientID: String? = nil) -> (commit: StoreCommit, record: EHRRecord) {
        var status = input
        let statusUID = ObjectVersionID(objectID: UUIDText.timeOrdered(), creatingSystemID: systemID, versionNumber: 1)
        status.uid = statusUID
        let subject = status.subject.externalRef
        let record = EHRRecord(
            ehrID: ehrID, systemID: systemID, timeCreated: audit.timeCommitted, statusObjectID: statusUID.objectID,
            subjectID: subject?.id.value, subjectNamespace: subject?.namespace, isQueryable: status.isQueryable, isModifiable: status.isModifiable,
            patientID: patientID)
        let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: ehrID, patientID: patientID, audit: audit)
        let version = VersionRecord(
            objectID: statusUID.objectID, versionNumber: 1, ehrID: ehrID, contributionID: contribution.contributionID, audit: audit,
            lifecycleState: VersionLifecycleState.complete.rawValue, data: JSONSerializer.bytes(status.json))
        let access = accessVersion(ehrID: ehrID, contributionID: contribution.contributionID, audit: audit)
        return ((contribution, [.create(version, rmType: "EHR_STATUS"), .create(access, rmType: "EHR_ACCESS")], [.create(record)]), record)
    }

    /// The first version of an EHR's EHR_ACCESS (RM ehr package §EHR creation semantics).
    func accessVersion(ehrID: String, contributionID: String, audit: AuditRecord) -> VersionRecord {
        let access = EHRAccess(uid: ObjectVersionID(objectID: UUIDText.timeOrdered(), creatingSystemID: systemID, versionNumber: 1))
        return VersionRecord(
            objectID: access.uid.objectID, versionNumber: 1, ehrID: ehrID, contributionID: contributionID, audit: audit,
            lifecycleState: VersionLifecycleState.complete.rawValue, data: JSONSerializer.bytes(access.json))
    }

    /// Gives an EHR_ACCESS to every EHR made before Socle created one with
    /// each EHR (schema version 6): one audited contribution per EHR,
    /// committed `batch` at a time; run at start. An EHR that another node
    /// served at the same moment, or that was erased meanwhile, is skipped
    /// (the database keeps one EHR_ACCESS per EHR). Returns how many were created.
    @discardableResult
    public func createMissingAccess(batch: Int = 500) async throws -> Int {
        let committal = Committal(committer: .identified(name: "Socle"), description: "EHR_ACCESS of an EHR created before Socle kept one")
        var created = 0
        var skipped: Set<String> = []
        while true {
            let ehrs = try await store.ehrsWithoutAccess(limit: batch + skipped.count).filter { !skipped.contains($0.ehrID) }
            if ehrs.isEmpty { return created }
            let commits = try ehrs.map { ehr in
                let audit = try committal.audit(systemID: systemID, at: ISODateTime.now(), defaultChange: .creation)
                let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: ehr.ehrID, audit: audit)
                let access = accessVersion(ehrID: ehr.ehrID, contributionID: contribution.contributionID, audit: audit)
                return (contribution: contribution, versions: [VersionWrite.create(access, rmType: "EHR_ACCESS")], ehrChanges: [EHRChange.requireExisting])
            }
            do {
                try await store.commit(batch: commits)
                created += commits.count
            } catch is StoreError {
                // One of them raced: each alone, keeping those that still can.
                for commit in commits {
                    do {
                        try await store.commit(commit.contribution, versions: commit.versions, ehrChanges: commit.ehrChanges)
                        created += 1
                    } catch is StoreError {
                        skipped.insert(commit.contribution.ehrID ?? "")
                    }
                }
            }
        }
    }

    public func ehr(_ ehrID: String) async throws -> Summary {
        try await summary(try await existingEHR(ehrID))
    }

    /// The EHR with its directory reference (RM ehr package: EHR.directory).
    func summary(_ record: EHRRecord) async throws -> Summary {
        let parts = try await store.ehrParts(ehrID: record.ehrID)
        func latest(_ rmType: String) -> ObjectVersionID? {
            parts.first { $0.rmType == rmType }.map { ObjectVersionID(objectID: $0.objectID, creatingSystemID: systemID, versionNumber: $0.latestVersion) }
        }
        return Summary(
            record: record, status: latest("EHR_STATUS") ?? ObjectVersionID(objectID: record.statusObjectID, creatingSystemID: systemID, versionNumber: 1),
            access: latest("EHR_ACCESS"), directoryID: parts.first { $0.rmType == "FOLDER" }?.objectID)
    }

    func uid(_ version: VersionRecord) -> ObjectVersionID {
        ObjectVersionID(objectID: version.objectID, creatingSystemID: systemID, versionNumber: version.versionNumber)
    }

    public func ehr(subjectID: String, subjectNamespace: String) async throws -> Summary {
        guard let record = try await store.ehr(subjectID: subjectID, subjectNamespace: subjectNamespace) else {
            throw ServiceError(.notFound, "no EHR has subject \(subjectID) in namespace \(subjectNamespace)")
        }
        return try await summary(record)
    }

    /// The latest EHR_STATUS, or the one extant at `time`.
    public func status(ehrID: String, at time: ISODateTime? = nil) async throws -> StatusVersion {
        let ehr = try await existingEHR(ehrID)
        let version: VersionRecord?
        if let time {
            version = try await store.version(objectID: ehr.statusObjectID, at: time.microsecondsSinceEpoch)
        } else {
            version = try await store.latestVersion(objectID: ehr.statusObjectID)
        }
        guard let version else {
            throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no EHR_STATUS version at \(time?.description ?? "this time")")
        }
        return statusVersion(version)
    }

    /// A given version of the EHR_STATUS, by its version uid.
    public func status(ehrID: String, versionUID: String) async throws -> StatusVersion {
        let ehr = try await existingEHR(ehrID)
        guard let uid = ObjectVersionID(versionUID) else {
            throw ServiceError(.badRequest, "'\(versionUID)' is not a version uid (uuid::system_id::version)")
        }
        guard uid.objectID == ehr.statusObjectID, uid.creatingSystemID == systemID,
            let version = try await store.version(objectID: uid.objectID, number: uid.versionNumber)
        else {
            throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no EHR_STATUS version \(versionUID)")
        }
        return statusVersion(version)
    }

    /// Commits a new EHR_STATUS version. `precedingVersionUID` (If-Match)
    /// must name the latest version, or the update is refused (412) and
    /// nothing is written.
    public func updateStatus(ehrID: String, precedingVersionUID: String, status newStatus: EHRStatus, committal: Committal) async throws
        -> StatusVersion
    {
        let ehr = try await existingEHR(ehrID)
        let audit = try committal.audit(systemID: systemID, at: ISODateTime.now(), defaultChange: .modification)
        let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: ehr.ehrID, audit: audit)
        var (write, change, version) = try await statusModification(
            ehr: ehr, precedingVersionUID: precedingVersionUID, status: newStatus, audit: audit, contributionID: contribution.contributionID)
        write.tags = committal.tagReplacements(ehrID: ehr.ehrID, uid: version.uid, audit: audit)
        do {
            try await store.commit(contribution, versions: [write], ehrChange: change)
        } catch let error as StoreError {
            throw try await serviceError(error, statusObjectID: ehr.statusObjectID)
        }
        return version
    }

    /// The write of a new EHR_STATUS version and the EHR row change it brings.
    func statusModification(ehr: EHRRecord, precedingVersionUID: String, status newStatus: EHRStatus, audit: AuditRecord, contributionID: String)
        async throws -> (VersionWrite, EHRChange, StatusVersion)
    {
        guard let preceding = ObjectVersionID(precedingVersionUID) else {
            throw ServiceError(.badRequest, "'\(precedingVersionUID)' is not a version uid (uuid::system_id::version)")
        }
        let latest = try await store.versionedObject(ehr.statusObjectID)
        let latestUID = latest.map { ObjectVersionID(objectID: $0.objectID, creatingSystemID: systemID, versionNumber: $0.latestVersion) }
        guard preceding.objectID == ehr.statusObjectID, preceding.creatingSystemID == systemID, preceding == latestUID else {
            throw ServiceError(
                .preconditionFailed, "\(precedingVersionUID) is not the latest EHR_STATUS version of EHR \(ehr.ehrID)", latestVersion: latestUID)
        }
        var status = newStatus
        let uid = ObjectVersionID(objectID: preceding.objectID, creatingSystemID: systemID, versionNumber: preceding.versionNumber + 1)
        status.uid = uid
        let version = VersionRecord(
            objectID: uid.objectID, versionNumber: uid.versionNumber, ehrID: ehr.ehrID, contributionID: contributionID, audit: audit,
            lifecycleState: VersionLifecycleState.complete.rawValue, data: JSONSerializer.bytes(status.json))
        let subject = status.subject.externalRef
        let change = EHRChange.status(
            subjectID: subject?.id.value, subjectNamespace: subject?.namespace, isQueryable: status.isQueryable, isModifiable: status.isModifiable)
        return (.update(version, rmType: "EHR_STATUS", precedingVersion: preceding.versionNumber), change, StatusVersion(uid: uid, json: version.data, record: version))
    }

    /// VERSIONED_EHR_STATUS (RM 1.1.0 ehr package).
    public func versionedStatus(ehrID: String) async throws -> JSON {
        let ehr = try await existingEHR(versioned: ehrID)
        guard let object = try await store.versionedObject(ehr.statusObjectID) else {
            throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no EHR_STATUS")
        }
        return OriginalVersionJSON.versionedObject(object, type: "VERSIONED_EHR_STATUS")
    }

    /// REVISION_HISTORY of the EHR_STATUS.
    public func statusRevisionHistory(ehrID: String) async throws -> JSON {
        let ehr = try await existingEHR(versioned: ehrID)
        return OriginalVersionJSON.revisionHistory(try await store.versionHistory(objectID: ehr.statusObjectID), systemID: systemID)
    }

    /// ORIGINAL_VERSION of the EHR_STATUS, latest or at a time.
    public func statusOriginalVersion(ehrID: String, at time: ISODateTime?) async throws -> (StatusVersion, [UInt8]) {
        _ = try await existingEHR(versioned: ehrID)
        let version = try await status(ehrID: ehrID, at: time)
        return (version, OriginalVersionJSON.bytes(version.record, systemID: systemID))
    }

    /// ORIGINAL_VERSION of the EHR_STATUS by version uid.
    public func statusOriginalVersion(ehrID: String, versionUID: String) async throws -> (StatusVersion, [UInt8]) {
        _ = try await existingEHR(versioned: ehrID)
        guard ObjectVersionID(versionUID) != nil else { throw ServiceError(.notFound, "there is no EHR_STATUS version \(versionUID)") }
        let version = try await status(ehrID: ehrID, versionUID: versionUID)
        return (version, OriginalVersionJSON.bytes(version.record, systemID: systemID))
    }

    // MARK: Helpers

    func existingEHR(_ ehrID: String) async throws -> EHRRecord {
        try await store.existingEHR(ehrID)
    }

    /// For the `versioned_ehr_status` resources, where ITS-REST 1.0.3 lists
    /// 200 and 404 only: an id that cannot name an EHR is a 404.
    func existingEHR(versioned ehrID: String) async throws -> EHRRecord {
        guard UUIDText.isValid(ehrID) else { throw ServiceError(.notFound, "there is no EHR \(ehrID)") }
        return try await store.existingEHR(ehrID)
    }

    static func normalisedEHRID(_ ehrID: String) throws -> String {
        guard UUIDText.isValid(ehrID) else {
            throw ServiceError(.badRequest, "'\(ehrID)' is not a valid EHR id: a UUID (HIER_OBJECT_ID) is expected")
        }
        return ehrID.lowercased()
    }

    func statusVersion(_ version: VersionRecord) -> StatusVersion {
        StatusVersion(
            uid: ObjectVersionID(objectID: version.objectID, creatingSystemID: systemID, versionNumber: version.versionNumber),
            json: version.data, record: version)
    }

    func serviceError(_ error: StoreError, statusObjectID: String) async throws -> ServiceError {
        try await store.serviceError(error, objectID: statusObjectID, systemID: systemID)
    }
}
