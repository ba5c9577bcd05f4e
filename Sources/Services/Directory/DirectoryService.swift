import JSONCore
import OpenEHR
import Storage

/// The EHR directory (ITS-REST 1.0.3 §DIRECTORY; RM 1.1.0 ehr package:
/// EHR.directory, a VERSIONED_FOLDER): one FOLDER tree per EHR whose items
/// are OBJECT_REFs to compositions and other objects, versioned and audited
/// like every other object, each write a contribution.
public struct DirectoryService: Sendable {
    public let store: VersionStore
    public let systemID: String
    let decoder = CanonicalDecoder()

    public init(store: VersionStore, systemID: String) {
        self.store = store
        self.systemID = systemID
    }

    /// One version of the directory as stored.
    public typealias DirectoryVersion = StoredVersion

    /// A FOLDER checked against the RM (400 with every problem).
    func prepare(_ json: JSON) throws -> JSON {
        do {
            return try decoder.decode(json, as: "FOLDER")
        } catch {
            throw ServiceError(.badRequest, "the request body is not a valid FOLDER", problems: error.problems)
        }
    }

    /// POST /ehr/{ehr_id}/directory: the first version; 409 when the EHR has one.
    public func create(ehrID: String, json: JSON, committal: Committal) async throws -> DirectoryVersion {
        let ehr = try await store.existingEHR(ehrID)
        let contribution = try ContributionRecord.new(ehr, committal, .creation, systemID: systemID)
        let (write, version) = try await creation(ehr: ehr, tree: try prepare(json), audit: contribution.audit, contributionID: contribution.contributionID)
        try await store.commit(contribution, [write], objectID: version.uid.objectID, systemID: systemID)
        return version
    }

    func creation(ehr: EHRRecord, tree: JSON, audit: AuditRecord, contributionID: String) async throws -> (VersionWrite, DirectoryVersion) {
        if let existing = try await store.directory(ehrID: ehr.ehrID) {
            throw ServiceError(
                .conflict, "EHR \(ehr.ehrID) already has a directory (\(existing.objectID)); update it with PUT and If-Match",
                latestVersion: ObjectVersionID(objectID: existing.objectID, creatingSystemID: systemID, versionNumber: existing.latestVersion))
        }
        let uid = ObjectVersionID(objectID: CompositionService.clientObjectID(tree) ?? UUIDText.timeOrdered(), creatingSystemID: systemID, versionNumber: 1)
        let record = VersionRecord.committed(ehr: ehr, uid: uid, data: CompositionService.storedBytes(tree, uid), audit: audit, contributionID: contributionID)
        return (.create(record, rmType: "FOLDER"), DirectoryVersion(uid: uid, record: record))
    }

    /// PUT /ehr/{ehr_id}/directory with If-Match: a new version replacing the tree.
    public func update(ehrID: String, precedingVersionUID: String, json: JSON, committal: Committal) async throws -> DirectoryVersion {
        let ehr = try await store.existingEHR(ehrID)
        let contribution = try ContributionRecord.new(ehr, committal, .modification, systemID: systemID)
        let (write, version) = try await modification(
            ehr: ehr, precedingVersionUID: precedingVersionUID, tree: try prepare(json), audit: contribution.audit,
            contributionID: contribution.contributionID, stale: .preconditionFailed)
        try await store.commit(contribution, [write], objectID: version.uid.objectID, systemID: systemID)
        return version
    }

    func modification(ehr: EHRRecord, precedingVersionUID: String, tree: JSON, audit: AuditRecord, contributionID: String, stale: ServiceError.Kind)
        async throws -> (VersionWrite, DirectoryVersion)
    {
        let object = try await requireDirectory(ehr, missing: stale)
        let preceding = try object.precedingVersion(precedingVersionUID, systemID: systemID, what: "the directory", stale: stale)
        if let sent = CompositionService.clientObjectID(tree), sent != object.objectID {
            throw ServiceError(.badRequest, "the folder's uid \(sent) is not the directory \(object.objectID)")
        }
        let uid = ObjectVersionID(objectID: object.objectID, creatingSystemID: systemID, versionNumber: preceding.versionNumber + 1)
        let record = VersionRecord.committed(ehr: ehr, uid: uid, data: CompositionService.storedBytes(tree, uid), audit: audit, contributionID: contributionID)
        return (.update(record, rmType: "FOLDER", precedingVersion: preceding.versionNumber), DirectoryVersion(uid: uid, record: record))
    }

    /// DELETE /ehr/{ehr_id}/directory with If-Match: a version whose
    /// lifecycle state is deleted (the tree stays readable in earlier versions).
    public func delete(ehrID: String, precedingVersionUID: String, committal: Committal) async throws -> DirectoryVersion {
        let ehr = try await store.existingEHR(ehrID)
        let contribution = try ContributionRecord.new(ehr, committal, .deleted, systemID: systemID)
        let (write, version) = try await deletion(
            ehr: ehr, precedingVersionUID: precedingVersionUID, audit: contribution.audit, contributionID: contribution.contributionID,
            stale: .preconditionFailed)
        try await store.commit(contribution, [write], objectID: version.uid.objectID, systemID: systemID)
        return version
    }

    func deletion(ehr: EHRRecord, precedingVersionUID: String, audit: AuditRecord, contributionID: String, stale: ServiceError.Kind) async throws
        -> (VersionWrite, DirectoryVersion)
    {
        let object = try await requireDirectory(ehr, missing: stale)
        let preceding = try object.precedingVersion(precedingVersionUID, systemID: systemID, what: "the directory", stale: stale)
        let (uid, record) = try await store.deletionRecord(
            ehr: ehr, preceding: preceding, what: "directory", alreadyDeleted: ServiceError(.conflict, "the directory of EHR \(ehr.ehrID) is already deleted"),
            audit: audit, contributionID: contributionID, systemID: systemID)
        return (.update(record, rmType: "FOLDER", precedingVersion: preceding.versionNumber), DirectoryVersion(uid: uid, record: record))
    }

    /// GET /ehr/{ehr_id}/directory[/{version_uid}]: the latest version, the
    /// one extant at `time`, or a given version.
    public func directory(ehrID: String, versionUID: String? = nil, at time: ISODateTime? = nil) async throws -> DirectoryVersion {
        let ehr = try await store.existingEHR(ehrID)
        let object = try await requireDirectory(ehr)
        let record: VersionRecord?
        if let versionUID {
            guard let uid = ObjectVersionID(versionUID) else {
                throw ServiceError(.badRequest, "'\(versionUID)' is not a version uid (uuid::system_id::version)")
            }
            guard uid.objectID == object.objectID, uid.creatingSystemID == systemID else {
                throw ServiceError(.notFound, "\(versionUID) is not a version of the directory of EHR \(ehr.ehrID)")
            }
            record = try await store.version(objectID: object.objectID, number: uid.versionNumber)
        } else if let time {
            record = try await store.version(objectID: object.objectID, at: time.microsecondsSinceEpoch)
        } else {
            record = try await store.latestVersion(objectID: object.objectID)
        }
        guard let record else {
            throw ServiceError(.notFound, "the directory of EHR \(ehr.ehrID) has no version \(versionUID ?? time.map { "at \($0)" } ?? "")")
        }
        return DirectoryVersion(uid: ObjectVersionID(objectID: object.objectID, creatingSystemID: systemID, versionNumber: record.versionNumber), record: record)
    }

    /// The folder at `path` below the root (`episodes/2024`: sub-folder
    /// names, slash-separated, ITS-REST §DIRECTORY `path`); 404 when there is none.
    public static func folder(at path: String?, in version: DirectoryVersion) throws -> JSON {
        guard let root = try? JSONParser.parse(version.record.data) else {
            throw ServiceError(.notFound, "the directory version \(version.uid) cannot be read")
        }
        guard let path, !path.trimmingCharacters(in: .init(charactersIn: "/")).isEmpty else { return root }
        var current = root
        for name in path.split(separator: "/", omittingEmptySubsequences: true) {
            guard let next = current["folders"]?.arrayValue?.first(where: { $0["name"]?["value"]?.stringValue == String(name) }) else {
                throw ServiceError(.notFound, "the directory has no folder at '\(path)' ('\(name)' not found)")
            }
            current = next
        }
        return current
    }

    // MARK: Helpers

    /// The EHR's directory. `missing`: how to refuse when it has none — a
    /// 404 for a read; for PUT and DELETE, whose precondition (ITS-REST 1.0.3
    /// §Directory: If-Match names the latest version) cannot hold, a 412.
    func requireDirectory(_ ehr: EHRRecord, missing: ServiceError.Kind = .notFound) async throws -> VersionedObjectRecord {
        guard let object = try await store.directory(ehrID: ehr.ehrID) else {
            throw ServiceError(missing, "EHR \(ehr.ehrID) has no directory\(missing == .notFound ? "" : ": no If-Match can name its latest version")")
        }
        return object
    }

}
