import OpenEHR

extension VersionStore {
    // MARK: EHRs

    static let ehrColumns = "ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable, patient_id"

    public func ehr(_ ehrID: String) async throws -> EHRRecord? {
        try await database.query("SELECT \(Self.ehrColumns) FROM ehr WHERE ehr_id = ?", [.text(ehrID)]).first.map(Self.ehr)
    }

    public func ehr(subjectID: String, subjectNamespace: String) async throws -> EHRRecord? {
        try await database.query(
            "SELECT \(Self.ehrColumns) FROM ehr WHERE subject_namespace = ? AND subject_id = ?", [.text(subjectNamespace), .text(subjectID)]
        ).first.map(Self.ehr)
    }

    /// The EHR linked to a patient record.
    public func ehr(patientID: String) async throws -> EHRRecord? {
        try await database.query("SELECT \(Self.ehrColumns) FROM ehr WHERE patient_id = ?", [.text(patientID)]).first.map(Self.ehr)
    }

    /// Every EHR id, in id order (benchmarks pick patients from it).
    public func ehrIDs() async throws -> [String] {
        try await database.query("SELECT ehr_id FROM ehr ORDER BY ehr_id").compactMap { $0.string(0) }
    }

    static func ehr(_ row: SQLRow) -> EHRRecord {
        EHRRecord(
            ehrID: row.string(0) ?? "", systemID: row.string(1) ?? "", timeCreated: row.int(2) ?? 0, statusObjectID: row.string(3) ?? "",
            subjectID: row.string(4), subjectNamespace: row.string(5), isQueryable: row.bool(6), isModifiable: row.bool(7), patientID: row.string(8))
    }

    // MARK: Versioned objects

    static let objectColumns = "object_id, ehr_id, patient_id, rm_type, time_created, latest_version"

    public func versionedObject(_ objectID: String) async throws -> VersionedObjectRecord? {
        try await database.query("SELECT \(Self.objectColumns) FROM versioned_object WHERE object_id = ?", [.text(objectID)]).first
            .map(Self.versionedObject)
    }

    static func versionedObject(_ row: SQLRow) -> VersionedObjectRecord {
        VersionedObjectRecord(
            objectID: row.string(0) ?? "", ehrID: row.string(1), patientID: row.string(2), rmType: row.string(3) ?? "", timeCreated: row.int(4) ?? 0,
            latestVersion: Int(row.int(5) ?? 0))
    }

    /// The EHR's directory (its one versioned FOLDER), if it has one.
    public func directory(ehrID: String) async throws -> VersionedObjectRecord? {
        try await database.query(
            "SELECT \(Self.objectColumns) FROM versioned_object WHERE ehr_id = ? AND rm_type = 'FOLDER'", [.text(ehrID)]
        ).first.map(Self.versionedObject)
    }

    /// The objects the EHR resource refers to (RM ehr package §EHR): its
    /// EHR_STATUS, its EHR_ACCESS and its directory, in one read.
    public func ehrParts(ehrID: String) async throws -> [VersionedObjectRecord] {
        try await database.query(
            "SELECT \(Self.objectColumns) FROM versioned_object WHERE ehr_id = ? AND rm_type IN ('EHR_STATUS', 'EHR_ACCESS', 'FOLDER')", [.text(ehrID)]
        ).map(Self.versionedObject)
    }

    /// Up to `limit` EHRs that have no EHR_ACCESS (made before Socle created one with each EHR).
    public func ehrsWithoutAccess(limit: Int) async throws -> [EHRRecord] {
        try await database.query(
            """
            SELECT \(Self.ehrColumns) FROM ehr WHERE NOT EXISTS
            (SELECT 1 FROM versioned_object v WHERE v.ehr_id = ehr.ehr_id AND v.rm_type = 'EHR_ACCESS') ORDER BY ehr_id LIMIT ?
            """, [.integer(Int64(limit))]
        ).map(Self.ehr)
    }

    /// How many versioned objects of an RM type the store holds.
    public func count(rmType: String) async throws -> Int {
        Int(try await database.query("SELECT COUNT(*) FROM versioned_object WHERE rm_type = ?", [.text(rmType)]).first?.int(0) ?? 0)
    }

    /// The versioned objects of an RM type and their EHRs, in object id order.
    public func objects(rmType: String) async throws -> [VersionedObjectRecord] {
        try await database.query("SELECT \(Self.objectColumns) FROM versioned_object WHERE rm_type = ? ORDER BY object_id", [.text(rmType)])
            .map(Self.versionedObject)
    }

    // MARK: Versions

    static let versionColumns =
        "object_id, version_number, ehr_id, patient_id, contribution_id, system_id, committer, time_committed, change_type, description, lifecycle_state"

    public func version(objectID: String, number: Int) async throws -> VersionRecord? {
        try await database.query(
            "SELECT \(Self.versionColumns), data FROM object_version WHERE object_id = ? AND version_number = ?", [.text(objectID), SQLValue(number)]
        ).first.map(Self.version)
    }

    public func latestVersion(objectID: String) async throws -> VersionRecord? {
        try await database.query(
            "SELECT \(Self.versionColumns), data FROM object_version WHERE object_id = ? ORDER BY version_number DESC LIMIT 1", [.text(objectID)]
        ).first.map(Self.version)
    }

    /// The latest version of an object of this EHR and RM type, in one query
    /// (the read-by-id path); nil when there is no such object.
    public func latestVersion(objectID: String, ehrID: String, rmType: String) async throws -> VersionRecord? {
        try await database.query(
            """
            SELECT v.object_id, v.version_number, v.ehr_id, v.patient_id, v.contribution_id, v.system_id, v.committer, v.time_committed,
                v.change_type, v.description, v.lifecycle_state, v.data
            FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
            WHERE o.object_id = ? AND o.ehr_id = ? AND o.rm_type = ?
            """, [.text(objectID), .text(ehrID), .text(rmType)]
        ).first.map(Self.version)
    }

    /// Which of `objectIDs` name records without an EHR whose latest version
    /// is not a deletion (FHIR resources that exist), without their data.
    public func liveRecords(objectIDs: [String]) async throws -> Set<String> {
        var found: Set<String> = []
        let ids = Array(Set(objectIDs)).sorted()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = Array(ids[start..<min(start + 500, ids.count)])
            let rows = try await database.query(
                """
                SELECT o.object_id, o.ehr_id FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
                WHERE o.object_id IN (\(Array(repeating: "?", count: batch.count).joined(separator: ", "))) AND v.lifecycle_state <> ?
                """, batch.map(SQLValue.text) + [.text(VersionLifecycleState.deleted.rawValue)])
            // `ehr_id IS NULL` is checked here: in the statement, with many ids, SQLite
            // chose the index on ehr_id and read every record without an EHR (1.7 s
            // for one patient's $everything among 914,000 resources, measured).
            for row in rows where row.string(1) == nil { if let id = row.string(0) { found.insert(id) } }
        }
        return found
    }

    /// The latest versions of several objects, by object id, 500 ids a query; the ids of no object are left out.
    public func latestVersions(objectIDs: [String]) async throws -> [String: VersionRecord] {
        var found: [String: VersionRecord] = [:]
        let ids = Array(Set(objectIDs)).sorted()
        for start in stride(from: 0, to: ids.count, by: 500) {
            let batch = Array(ids[start..<min(start + 500, ids.count)])
            let rows = try await database.query(
                """
                SELECT v.object_id, v.version_number, v.ehr_id, v.patient_id, v.contribution_id, v.system_id, v.committer, v.time_committed,
                    v.change_type, v.description, v.lifecycle_state, v.data
                FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
                WHERE o.object_id IN (\(Array(repeating: "?", count: batch.count).joined(separator: ", ")))
                """, batch.map(SQLValue.text))
            for row in rows {
                let record = Self.version(row)
                found[record.objectID] = record
            }
        }
        return found
    }

    /// The version extant at a time: the last one committed at or before it.
    public func version(objectID: String, at time: Int64) async throws -> VersionRecord? {
        try await database.query(
            """
            SELECT \(Self.versionColumns), data FROM object_version
            WHERE object_id = ? AND time_committed <= ? ORDER BY version_number DESC LIMIT 1
            """, [.text(objectID), .integer(time)]
        ).first.map(Self.version)
    }

    /// Every version of an object, oldest first, without their data.
    public func versionHistory(objectID: String) async throws -> [VersionRecord] {
        try await database.query("SELECT \(Self.versionColumns), NULL FROM object_version WHERE object_id = ? ORDER BY version_number", [.text(objectID)])
            .map(Self.version)
    }

    /// The data of several versions at once, by `(object id, version)`; the
    /// versions asked for that do not exist are left out.
    public func documents(_ wanted: Set<VersionKey>) async throws -> [VersionKey: [UInt8]] {
        var found: [VersionKey: [UInt8]] = [:]
        let objectIDs = Array(Set(wanted.map(\.objectID))).sorted()
        for start in stride(from: 0, to: objectIDs.count, by: 500) {
            let batch = Array(objectIDs[start..<min(start + 500, objectIDs.count)])
            let rows = try await database.query(
                "SELECT object_id, version_number, data FROM object_version WHERE object_id IN (\(Array(repeating: "?", count: batch.count).joined(separator: ", ")))",
                batch.map(SQLValue.text))
            for row in rows {
                guard let objectID = row.string(0), let number = row.int(1), let data = StoredDocument.decode(row, 2) else { continue }
                let key = VersionKey(objectID: objectID, versionNumber: Int(number))
                if wanted.contains(key) { found[key] = data }
            }
        }
        return found
    }

    static func version(_ row: SQLRow) -> VersionRecord {
        VersionRecord(
            objectID: row.string(0) ?? "", versionNumber: Int(row.int(1) ?? 0), ehrID: row.string(2), patientID: row.string(3),
            contributionID: row.string(4) ?? "",
            audit: AuditRecord(
                systemID: row.string(5) ?? "", committer: row.string(6) ?? "", timeCommitted: row.int(7) ?? 0, changeType: row.string(8) ?? "",
                description: row.string(9)),
            lifecycleState: row.string(10) ?? "", data: StoredDocument.decode(row, 11) ?? [])
    }

    // MARK: Contributions

    public func contribution(_ contributionID: String) async throws -> ContributionRecord? {
        try await database.query(
            """
            SELECT contribution_id, ehr_id, patient_id, system_id, committer, time_committed, change_type, description
            FROM contribution WHERE contribution_id = ?
            """, [.text(contributionID)]
        ).first.map { row in
            ContributionRecord(
                contributionID: row.string(0) ?? "", ehrID: row.string(1), patientID: row.string(2),
                audit: AuditRecord(
                    systemID: row.string(3) ?? "", committer: row.string(4) ?? "", timeCommitted: row.int(5) ?? 0, changeType: row.string(6) ?? "",
                    description: row.string(7)))
        }
    }

    /// The versions a contribution committed, without their data.
    public func versions(inContribution contributionID: String) async throws -> [VersionRecord] {
        try await database.query(
            "SELECT \(Self.versionColumns), NULL FROM object_version WHERE contribution_id = ? ORDER BY object_id, version_number", [.text(contributionID)]
        ).map(Self.version)
    }
}

/// A version's identity: its object and its number.
public struct VersionKey: Sendable, Hashable {
    public var objectID: String
    public var versionNumber: Int

    public init(objectID: String, versionNumber: Int) {
        self.objectID = objectID
        self.versionNumber = versionNumber
    }
}
