import JSONCore
import OpenEHR
import Storage

/// FHIRconnect files an administrator added or replaced through the API
/// (issue 15 §6, docs/architecture.md §Mapping administration): each file is
/// a versioned object of its own, outside any EHR (`FHIRconnect/{file}`), so
/// every change is a contribution with its committer, time, change type and
/// description, and no earlier text is lost. The folder of `SOCLE_MAPPINGS`
/// is the set shipped with a deployment; a stored file of the same name
/// replaces the folder's.
public struct MappingFileService: Sendable {
    public let store: VersionStore
    public let systemID: String

    public init(store: VersionStore, systemID: String) {
        self.store = store
        self.systemID = systemID
    }

    /// The type of the versioned objects that hold mapping files.
    public static let rmType = "FHIRCONNECT_FILE"

    static func objectID(_ file: String) -> String { "FHIRconnect/" + file }

    /// A stored file: its text and the audit of its latest version.
    public struct StoredFile: Sendable {
        public var file: String
        public var text: String
        public var version: Int
        public var committer: String
        public var timeCommitted: ISODateTime
        public var isDeleted: Bool
    }

    /// A file name the API takes: letters, digits, `.`, `_`, `-`, ending in `.yml` or `.yaml`.
    public static func isValidName(_ file: String) -> Bool {
        let allowed = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")
        return (1...200).contains(file.count) && file.allSatisfy(allowed.contains) && !file.hasPrefix(".")
            && (file.hasSuffix(".yml") || file.hasSuffix(".yaml"))
    }

    /// The latest version of every stored file, deleted ones too, by name.
    public func files() async throws -> [StoredFile] {
        let ids = try await store.objects(rmType: Self.rmType).map(\.objectID)
        return try await store.latestVersions(objectIDs: ids).values.map(Self.stored).sorted { $0.file < $1.file }
    }

    /// Every version of a stored file, oldest first, each with its audit; empty when there is none.
    public func history(file: String) async throws -> [(file: StoredFile, changeType: String, description: String?)] {
        let records = try await store.versionHistory(objectID: Self.objectID(file))
        let texts = try await store.documents(Set(records.map { VersionKey(objectID: $0.objectID, versionNumber: $0.versionNumber) }))
        return records.map { record in
            var record = record
            record.data = texts[VersionKey(objectID: record.objectID, versionNumber: record.versionNumber)] ?? []
            let change = AuditChangeType(rawValue: record.audit.changeType)?.rubric ?? record.audit.changeType
            return (Self.stored(record), change, record.audit.description)
        }
    }

    /// Stores a file's text as a new version (the first when there is none).
    public func put(file: String, text: String, committal: Committal) async throws -> StoredFile {
        let latest = try await store.latestVersion(objectID: Self.objectID(file))
        let change: AuditChangeType = latest == nil ? .creation : .modification
        return try await write(file, text: text, latest: latest, change: change, committal: committal)
    }

    /// Marks a stored file deleted (its versions stay); nil when there is none to delete.
    public func delete(file: String, committal: Committal) async throws -> StoredFile? {
        guard let latest = try await store.latestVersion(objectID: Self.objectID(file)),
            latest.lifecycleState != VersionLifecycleState.deleted.rawValue
        else { return nil }
        return try await write(file, text: String(decoding: latest.data, as: UTF8.self), latest: latest, change: .deleted, committal: committal)
    }

    func write(_ file: String, text: String, latest: VersionRecord?, change: AuditChangeType, committal: Committal) async throws -> StoredFile {
        let audit = try committal.audit(systemID: systemID, at: ISODateTime.now(), defaultChange: change)
        let contribution = ContributionRecord(contributionID: UUIDText.timeOrdered(), ehrID: nil, audit: audit)
        let record = VersionRecord(
            objectID: Self.objectID(file), versionNumber: (latest?.versionNumber ?? 0) + 1, ehrID: nil, contributionID: contribution.contributionID,
            audit: audit, lifecycleState: (change == .deleted ? VersionLifecycleState.deleted : .complete).rawValue, data: Array(text.utf8))
        let write: VersionWrite =
            latest.map { .update(record, rmType: Self.rmType, precedingVersion: $0.versionNumber) } ?? .create(record, rmType: Self.rmType)
        do {
            try await store.commit(contribution, versions: [write])
        } catch let error as StoreError {
            throw ServiceError(error)
        }
        return Self.stored(record)
    }

    /// The name of a commit audit's committer (a PARTY_PROXY as stored).
    static func committerName(_ stored: String) -> String {
        (try? JSONParser.parse(Array(stored.utf8)))?["name"]?.stringValue ?? stored
    }

    static func stored(_ record: VersionRecord) -> StoredFile {
        StoredFile(
            file: String(record.objectID.dropFirst("FHIRconnect/".count)), text: String(decoding: record.data, as: UTF8.self),
            version: record.versionNumber, committer: committerName(record.audit.committer), timeCommitted: ISODateTime(microsecondsSinceEpoch: record.audit.timeCommitted),
            isDeleted: record.lifecycleState == VersionLifecycleState.deleted.rawValue)
    }
}
