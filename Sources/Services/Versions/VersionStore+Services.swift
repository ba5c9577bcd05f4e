import JSONCore
import OpenEHR
import Storage

/// One version of a versioned object as stored: its uid and record.
public struct StoredVersion: Sendable {
    public var uid: ObjectVersionID
    public var record: VersionRecord
    public var isDeleted: Bool { record.lifecycleState == VersionLifecycleState.deleted.rawValue }
    /// The EHR of an openEHR object (composition, EHR_STATUS, directory).
    public var ehrID: String { record.ehrID ?? "" }
}

extension VersionStore {
    /// The EHR with this id; 400 when the id is not a UUID, 404 when unknown.
    func existingEHR(_ ehrID: String) async throws -> EHRRecord {
        guard UUIDText.isValid(ehrID) else { throw ServiceError(.badRequest, "'\(ehrID)' is not a valid EHR id: a UUID is expected") }
        guard let ehr = try await ehr(ehrID.lowercased()) else { throw ServiceError(.notFound, "EHR \(ehrID) does not exist") }
        return ehr
    }

    /// A store refusal in service terms; a stale version also names the latest.
    func serviceError(_ error: StoreError, objectID: String, systemID: String) async throws -> ServiceError {
        guard error.code == .preconditionFailed else { return ServiceError(error) }
        let latest = try await versionedObject(objectID).map {
            ObjectVersionID(objectID: $0.objectID, creatingSystemID: systemID, versionNumber: $0.latestVersion)
        }
        return ServiceError(.preconditionFailed, error.message, latestVersion: latest)
    }
}

extension VersionStore {
    /// Commits one contribution of an EHR that must be modifiable, with store
    /// refusals in service terms (`stale` for a version that is not the latest).
    /// A template the versions were validated against that changed meanwhile
    /// (`StoreError.changed`) is passed on as it is, for the caller to
    /// prepare the versions again (`TemplateService.retryingOnChange`).
    func commit(_ contribution: ContributionRecord, _ writes: [VersionWrite], objectID: String, systemID: String,
                stale: ServiceError.Kind = .preconditionFailed) async throws {
        do {
            try await commit(contribution, versions: writes, ehrChange: .requireModifiable)
        } catch let error as StoreError where error.code != .changed {
            var mapped = try await serviceError(error, objectID: objectID, systemID: systemID)
            if mapped.kind == .preconditionFailed { mapped.kind = stale }
            throw mapped
        }
    }
}

extension VersionStore {
    /// The version that logically deletes an object (RM common §VERSION:
    /// lifecycle state deleted): the preceding version's data under the next
    /// uid. The preceding version must exist (404 naming `what`) and not be a
    /// deletion itself (`alreadyDeleted`).
    func deletionRecord(
        ehr: EHRRecord, preceding: ObjectVersionID, what: String, alreadyDeleted: ServiceError, audit: AuditRecord, contributionID: String,
        systemID: String
    ) async throws -> (uid: ObjectVersionID, record: VersionRecord) {
        guard let previous = try await version(objectID: preceding.objectID, number: preceding.versionNumber) else {
            throw ServiceError(.notFound, "\(what) version \(preceding) does not exist")
        }
        if previous.lifecycleState == VersionLifecycleState.deleted.rawValue { throw alreadyDeleted }
        let uid = ObjectVersionID(objectID: preceding.objectID, creatingSystemID: systemID, versionNumber: preceding.versionNumber + 1)
        let data = (try? JSONParser.parse(previous.data)).map { CompositionService.storedBytes($0, uid) } ?? previous.data
        var record = VersionRecord.committed(ehr: ehr, uid: uid, data: data, audit: audit, contributionID: contributionID)
        record.lifecycleState = VersionLifecycleState.deleted.rawValue
        return (uid, record)
    }
}

extension ContributionRecord {
    /// A new contribution to an EHR, audited from the request's committal.
    static func new(_ ehr: EHRRecord, _ committal: Committal, _ change: AuditChangeType, systemID: String) throws -> ContributionRecord {
        ContributionRecord(
            contributionID: UUIDText.timeOrdered(), ehrID: ehr.ehrID, audit: try committal.audit(systemID: systemID, at: ISODateTime.now(), defaultChange: change))
    }
}

extension VersionRecord {
    /// A version of an object of an EHR, complete unless said otherwise;
    /// it names the patient the EHR is linked to, when it is.
    static func committed(
        ehr: EHRRecord, uid: ObjectVersionID, data: [UInt8], audit: AuditRecord, contributionID: String, lifecycle: VersionLifecycleState = .complete
    ) -> VersionRecord {
        VersionRecord(
            objectID: uid.objectID, versionNumber: uid.versionNumber, ehrID: ehr.ehrID, patientID: ehr.patientID, contributionID: contributionID, audit: audit,
            lifecycleState: lifecycle.rawValue, data: data)
    }
}

extension VersionedObjectRecord {
    /// The If-Match or preceding version uid, which must name the latest
    /// version (`what` names the object in the refusal).
    func precedingVersion(_ text: String, systemID: String, what: String, stale: ServiceError.Kind) throws -> ObjectVersionID {
        let latest = ObjectVersionID(objectID: objectID, creatingSystemID: systemID, versionNumber: latestVersion)
        guard let preceding = ObjectVersionID(text) else {
            throw ServiceError(.badRequest, "'\(text)' is not a version uid (uuid::system_id::version)")
        }
        guard preceding == latest else {
            throw ServiceError(stale, "\(text) is not the latest version of \(what); the latest is \(latest)", latestVersion: latest)
        }
        return preceding
    }
}
