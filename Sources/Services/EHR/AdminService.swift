import JSONCore
import OpenEHR
import Storage

/// Administration (EHRbase-compatible admin paths): physical erasure, and
/// the change sequence.
public struct AdminService: Sendable {
    public let store: VersionStore
    public let changes: ChangeFeed

    public init(store: Store) {
        self.store = store.versions
        self.changes = store.changes
    }

    /// Erases an EHR and everything in it, and every record about its
    /// patient; the erasure log keeps who, when and which EHR id, and
    /// outlives the data.
    public func eraseEHR(_ ehrID: String, by user: String) async throws {
        guard UUIDText.isValid(ehrID) else { throw ServiceError(.badRequest, "'\(ehrID)' is not a valid EHR id: a UUID is expected") }
        do {
            try await store.erase(
                ehrID: ehrID.lowercased(), erasureID: UUIDText.random(), erasedAt: ISODateTime.now().microsecondsSinceEpoch, erasedBy: user)
        } catch let error as StoreError where error.code == .notFound {
            throw ServiceError(.notFound, "EHR \(ehrID) does not exist")
        }
    }

    /// DELETE /admin/patient/{id}: erases every record of FHIR `Patient/{id}`
    /// (the Patient's versions, every resource in its compartment) and the
    /// EHR linked to it with all its content; the erasure log keeps who,
    /// when and which patient. 404 when nothing concerns that patient.
    public func erasePatient(_ id: String, by user: String) async throws {
        try FHIRService.requireID(id)
        do {
            try await store.erase(
                patientID: "Patient/" + id, erasureID: UUIDText.random(), erasedAt: ISODateTime.now().microsecondsSinceEpoch, erasedBy: user)
        } catch let error as StoreError where error.code == .notFound {
            throw ServiceError(.notFound, "no record concerns Patient/\(id)")
        }
    }

    /// DELETE /admin/ehr/all?ehr_id=…&ehr_id=… (ITS-REST development
    /// §admin_ehr_delete_all): erases the EHRs named, each as `eraseEHR`
    /// does, once all are known to exist (404 naming those that do not,
    /// nothing erased). Returns how many were erased.
    public func eraseEHRs(_ ehrIDs: [String], by user: String) async throws -> Int {
        let ids = Array(Set(ehrIDs.map { $0.lowercased() })).sorted()
        if let bad = ehrIDs.first(where: { !UUIDText.isValid($0) }) {
            throw ServiceError(.badRequest, "'\(bad)' is not a valid EHR id: a UUID is expected")
        }
        var missing: [String] = []
        for id in ids where try await store.ehr(id) == nil { missing.append(id) }
        guard missing.isEmpty else { throw ServiceError(.notFound, "no EHR was erased: \(missing.joined(separator: ", ")) do not exist") }
        for id in ids { try await eraseEHR(id, by: user) }
        return ids.count
    }

    /// GET /admin/changes?after=N&limit=M: the positions of the change
    /// sequence after N (contributions with their versions, erasures),
    /// oldest first, and the position to ask after next.
    public func changes(after: Int64, limit: Int) async throws -> JSON {
        guard after >= 0 else { throw ServiceError(.badRequest, "after must be a position, 0 or more") }
        guard (1...1000).contains(limit) else { throw ServiceError(.badRequest, "limit must be between 1 and 1000") }
        let page: [Change]
        do {
            page = try await changes.changes(after: after, limit: limit)
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        return [
            "changes": .array(page.map(Self.json)),
            "next": .number(String(page.last?.position ?? after)),
            "more": .bool(page.count == limit),
        ]
    }

    static func json(_ change: Change) -> JSON {
        var object = JSONObject([
            ("position", .number(String(change.position))), ("type", .string(change.kind.rawValue)),
            ("time", .string(ISODateTime(microsecondsSinceEpoch: change.time).description)),
        ])
        if let id = change.contributionID { object["contribution"] = .string(id) }
        if let id = change.ehrID { object["ehr_id"] = .string(id) }
        if let id = change.patientID { object["patient_id"] = .string(id) }
        if change.kind == .contribution {
            object["versions"] = .array(
                change.versions.map { version in
                    [
                        "object_id": .string(version.objectID), "version": JSON(version.versionNumber), "type": .string(version.rmType),
                        "change_type": .string(version.changeType), "lifecycle_state": .string(version.lifecycleState),
                    ]
                })
        }
        return .object(object)
    }
}
