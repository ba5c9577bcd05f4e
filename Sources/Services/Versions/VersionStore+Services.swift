import OpenEHR
import Storage

extension VersionStore {
    /// The EHR with this id; 400 when the id is not a UUID, 404 when unknown.
    func existingEHR(_ ehrID: String) async throws -> EHRRecord {
        guard UUIDText.isValid(ehrID) else { throw ServiceError(.badRequest, "'\(ehrID)' is not a valid EHR id: a UUID is expected") }
        guard let ehr = try await ehr(ehrID.lowercased()) else { throw ServiceError(.notFound, "EHR \(ehrID) does not exist") }
        return ehr
    }

    /// A store refusal in service terms; a stale version also names the latest.
    func serviceError(_ error: StoreError, objectID: String, systemID: String) async throws -> ServiceError {
        switch error.code {
        case .preconditionFailed:
            let latest = try await versionedObject(objectID).map {
                ObjectVersionID(objectID: $0.objectID, creatingSystemID: systemID, versionNumber: $0.latestVersion)
            }
            return ServiceError(.preconditionFailed, error.message, latestVersion: latest)
        case .conflict: return ServiceError(.conflict, error.message)
        case .notFound: return ServiceError(.notFound, error.message)
        case .unavailable, .schemaTooNew: return ServiceError(.unavailable, error.message)
        case .invalidValue: return ServiceError(.badRequest, error.message)
        }
    }
}
