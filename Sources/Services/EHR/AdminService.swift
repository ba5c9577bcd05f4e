import OpenEHR
import Storage

/// Administration (EHRbase-compatible admin paths): physical erasure.
public struct AdminService: Sendable {
    public let store: VersionStore

    public init(store: VersionStore) {
        self.store = store
    }

    /// Erases an EHR and everything in it; the erasure log keeps who, when
    /// and which EHR id, and outlives the data.
    public func eraseEHR(_ ehrID: String, by user: String) async throws {
        guard UUIDText.isValid(ehrID) else { throw ServiceError(.badRequest, "'\(ehrID)' is not a valid EHR id: a UUID is expected") }
        do {
            try await store.erase(
                ehrID: ehrID.lowercased(), erasureID: UUIDText.random(), erasedAt: ISODateTime.now().microsecondsSinceEpoch, erasedBy: user)
        } catch let error as StoreError where error.code == .notFound {
            throw ServiceError(.notFound, "EHR \(ehrID) does not exist")
        }
    }
}
