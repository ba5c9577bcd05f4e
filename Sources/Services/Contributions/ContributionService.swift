import JSONCore
import OpenEHR
import Storage

/// CONTRIBUTION use cases (ITS-REST 1.0.3 §CONTRIBUTION): several versions
/// (creations, modifications and deletions of compositions and of the
/// directory, a new EHR_STATUS) committed in one transaction. Each version goes through the
/// same validation as its own endpoint; one refused version and nothing is
/// committed, and the error names which version and why.
public struct ContributionService: Sendable {
    public let store: VersionStore
    public let compositions: CompositionService
    public let ehrs: EHRService
    public let directories: DirectoryService
    public let systemID: String

    public init(store: VersionStore, compositions: CompositionService, ehrs: EHRService, directories: DirectoryService, systemID: String) {
        self.store = store
        self.compositions = compositions
        self.ehrs = ehrs
        self.directories = directories
        self.systemID = systemID
    }

    /// POST /ehr/{ehr_id}/contribution. Returns the contribution id.
    public func commit(ehrID: String, json: JSON, committal: Committal) async throws -> String {
        let ehr = try await store.existingEHR(ehrID)
        return try await compositions.templates.retryingOnChange { try await commit(ehr, json: json, committal: committal) }
    }

    func commit(_ ehr: EHRRecord, json: JSON, committal: Committal) async throws -> String {
        guard case .object(let body) = json else { throw ServiceError(.badRequest, "a CONTRIBUTION must be a JSON object, found \(json.kindName)") }
        guard let versions = body["versions"]?.arrayValue, !versions.isEmpty else {
            throw ServiceError(
                .badRequest, "a contribution must hold at least one version",
                problems: [DecodingProblem(path: "/versions", message: "is mandatory and must not be empty")])
        }
        let now = ISODateTime.now()
        let contributionAudit = try audit(body["audit"], at: "/audit", fallback: committal, time: now, defaultChange: .creation)
        let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: ehr.ehrID, audit: contributionAudit)
        var writes: [VersionWrite] = []
        var changes: [EHRChange] = []
        var objects: Set<String> = []
        var addsClinicalContent = false
        for (index, version) in versions.enumerated() {
            let path = "/versions[\(index)]"
            do {
                let (write, change) = try await prepare(version, at: path, ehr: ehr, contribution: contribution, fallback: committal, time: now)
                guard objects.insert(write.record.objectID).inserted else {
                    throw ServiceError(.badRequest, "two versions of the same object \(write.record.objectID)")
                }
                writes.append(write)
                // Only an EHR_STATUS version changes the EHR row; every other one is clinical content.
                if let change { changes.append(change) } else { addsClinicalContent = true }
            } catch var error as ServiceError {
                error.message = "version \(index) (\(path)) was refused: \(error.message)"
                // ITS-REST 1.0.3 §CONTRIBUTION lists 400 for invalid content, validation
                // against a template included (the composition endpoints' 422 is not listed).
                if error.kind == .unprocessable { error.kind = .badRequest }
                error.problems = error.problems.map { DecodingProblem(path: path + ($0.path == "/" ? "" : $0.path), message: $0.message) }
                throw error
            }
        }
        // New clinical content needs a modifiable EHR, judged before a new EHR_STATUS of the same contribution applies.
        if addsClinicalContent { changes.insert(.requireModifiable, at: 0) }
        do {
            try await store.commit(contribution, versions: writes, ehrChanges: changes)
        } catch let error as StoreError where error.code != .changed {
            switch error.code {
            case .preconditionFailed, .conflict: throw ServiceError(.conflict, "the contribution was not committed: \(error.message)")
            default: throw ServiceError(error)
            }
        }
        return contribution.contributionID
    }

    /// One ORIGINAL_VERSION of the contribution, checked, as a write.
    func prepare(_ version: JSON, at path: String, ehr: EHRRecord, contribution: ContributionRecord, fallback: Committal, time: ISODateTime)
        async throws -> (VersionWrite, EHRChange?)
    {
        guard case .object(let object) = version else { throw ServiceError(.badRequest, "a version must be an object, found \(version.kindName)") }
        if let type = object["_type"]?.stringValue, type != "ORIGINAL_VERSION" {
            throw ServiceError(.badRequest, "\(type) is not accepted in a contribution: send ORIGINAL_VERSION")
        }
        let preceding = object["preceding_version_uid"]?["value"]?.stringValue
        let lifecycle = object["lifecycle_state"]?["defining_code"]?["code_string"]?.stringValue ?? VersionLifecycleState.complete.rawValue
        guard let lifecycleState = VersionLifecycleState(rawValue: lifecycle) else {
            throw ServiceError(.badRequest, "lifecycle_state \(lifecycle) is not in the openEHR 'version lifecycle state' group")
        }
        let defaultChange: AuditChangeType = lifecycle == VersionLifecycleState.deleted.rawValue ? .deleted : (preceding == nil ? .creation : .modification)
        var audit = try audit(object["commit_audit"], at: "/commit_audit", fallback: fallback, time: time, defaultChange: defaultChange)
        if object["commit_audit"]?["committer"] == nil { audit.committer = contribution.audit.committer }
        let change = AuditChangeType(rawValue: audit.changeType) ?? .unknown
        let isDeletion = change == .deleted || lifecycle == VersionLifecycleState.deleted.rawValue
        if change == .creation, preceding != nil {
            throw ServiceError(.badRequest, "change type creation, but preceding_version_uid \(preceding!) is given")
        }
        if change != .creation, preceding == nil {
            throw ServiceError(.badRequest, "change type \(change.rubric) needs preceding_version_uid, the version it replaces")
        }
        let data = object["data"]
        var type = data?["_type"]?.stringValue ?? ""
        if type.isEmpty, isDeletion, let preceding, let objectID = ObjectVersionID(preceding)?.objectID {
            // A deletion may come without data: the object it ends says what it is.
            type = try await store.versionedObject(objectID)?.rmType ?? "COMPOSITION"
        }
        switch type {
        case "COMPOSITION":
            if isDeletion {
                if let check = compositions.deletionCheck, let objectID = ObjectVersionID(preceding!)?.objectID { try await check(objectID) }
                return (try await compositions.deletion(ehr: ehr, precedingVersionUID: preceding!, audit: audit, contributionID: contribution.contributionID, stale: .conflict).0, nil)
            }
            guard let data else { throw ServiceError(.badRequest, "data is mandatory", problems: [DecodingProblem(path: "/data", message: "is mandatory")]) }
            do {
                if let preceding {
                    guard let objectID = ObjectVersionID(preceding)?.objectID else {
                        throw ServiceError(.badRequest, "'\(preceding)' is not a version uid (uuid::system_id::version)")
                    }
                    return (try await compositions.modification(ehr: ehr, objectID: objectID, precedingVersionUID: preceding, json: data, audit: audit, contributionID: contribution.contributionID, lifecycle: lifecycleState, stale: .conflict).0, nil)
                }
                let prepared = try await compositions.prepare(data)
                return (compositions.creation(ehr: ehr, prepared: prepared, audit: audit, contributionID: contribution.contributionID, lifecycle: lifecycleState).0, nil)
            } catch var error as ServiceError {
                error.problems = error.problems.map { DecodingProblem(path: "/data" + ($0.path == "/" ? "" : $0.path), message: $0.message) }
                throw error
            }
        case "EHR_STATUS":
            guard !isDeletion, let preceding, let data else {
                throw ServiceError(.badRequest, "an EHR has one EHR_STATUS: a contribution may only modify it (with preceding_version_uid)")
            }
            let status: EHRStatus
            do {
                status = try EHRStatus(json: data)
            } catch {
                throw ServiceError(.badRequest, "data is not a valid EHR_STATUS", problems: error.problems.map { DecodingProblem(path: "/data" + ($0.path == "/" ? "" : $0.path), message: $0.message) })
            }
            let (write, ehrChange, _) = try await ehrs.statusModification(ehr: ehr, precedingVersionUID: preceding, status: status, audit: audit, contributionID: contribution.contributionID)
            return (write, ehrChange)
        case "FOLDER":
            let id = contribution.contributionID
            if isDeletion {
                return (try await directories.deletion(ehr: ehr, precedingVersionUID: preceding!, audit: audit, contributionID: id, stale: .conflict).0, nil)
            }
            guard let data else { throw ServiceError(.badRequest, "data is mandatory", problems: [DecodingProblem(path: "/data", message: "is mandatory")]) }
            do {
                let tree = try directories.prepare(data)
                if let preceding {
                    return (try await directories.modification(ehr: ehr, precedingVersionUID: preceding, tree: tree, audit: audit, contributionID: id, stale: .conflict).0, nil)
                }
                return (try await directories.creation(ehr: ehr, tree: tree, audit: audit, contributionID: id).0, nil)
            } catch var error as ServiceError {
                error.problems = error.problems.map { DecodingProblem(path: "/data" + ($0.path == "/" ? "" : $0.path), message: $0.message) }
                throw error
            }
        case "":
            throw ServiceError(.badRequest, "data is mandatory and must carry _type", problems: [DecodingProblem(path: "/data/_type", message: "is mandatory")])
        default:
            throw ServiceError(.badRequest, "\(type) versions cannot be committed to an EHR", problems: [DecodingProblem(path: "/data/_type", message: "\(type) is not a versioned EHR object")])
        }
    }

    /// AUDIT_DETAILS of the request merged with the defaults: the committer
    /// from the request, else the signed-in user; the server's system id and time.
    func audit(_ json: JSON?, at path: String, fallback: Committal, time: ISODateTime, defaultChange: AuditChangeType) throws -> AuditRecord {
        var committal = fallback
        if let json, json != .null {
            var reader = RMReader()
            if let committer = json["committer"], committer != .null, let party = PartyProxy.read(committer, at: path + "/committer", declared: nil, with: &reader) {
                committal.committer = party
            }
            try? reader.finish("AUDIT_DETAILS")
            if !reader.problems.isEmpty { throw ServiceError(.badRequest, "invalid AUDIT_DETAILS", problems: reader.problems) }
            if let code = json["change_type"]?["defining_code"]?["code_string"]?.stringValue {
                guard let change = AuditChangeType(rawValue: code) else {
                    throw ServiceError(.badRequest, "change_type \(code) is not in the openEHR 'audit change type' group", problems: [DecodingProblem(path: path + "/change_type", message: "unknown code \(code)")])
                }
                committal.changeType = change
            }
            if let description = json["description"]?["value"]?.stringValue { committal.description = description }
            // audit.system_id is not the client's to set: the change is committed here and recorded with this
            // system's id (the EHRbase corpus files a contribution naming another system as valid).
        }
        return try committal.audit(systemID: systemID, at: time, defaultChange: defaultChange)
    }

    /// GET /ehr/{ehr_id}/contribution/{contribution_uid}.
    public func contribution(ehrID: String, contributionID: String) async throws -> JSON {
        let ehr = try await store.existingEHR(ehrID)
        guard UUIDText.isValid(contributionID), let contribution = try await store.contribution(contributionID.lowercased()), contribution.ehrID == ehr.ehrID else {
            throw ServiceError(.notFound, "EHR \(ehr.ehrID) has no contribution \(contributionID)")
        }
        let versions = try await store.versions(inContribution: contribution.contributionID)
        return [
            "_type": "CONTRIBUTION",
            "uid": ["_type": "HIER_OBJECT_ID", "value": .string(contribution.contributionID)],
            "versions": .array(versions.map { version in
                [
                    "id": ["_type": "OBJECT_VERSION_ID", "value": .string(ObjectVersionID(objectID: version.objectID, creatingSystemID: systemID, versionNumber: version.versionNumber).description)],
                    "namespace": "local", "type": "VERSION",
                ]
            }),
            "audit": OriginalVersionJSON.auditJSON(contribution.audit),
        ]
    }
}
