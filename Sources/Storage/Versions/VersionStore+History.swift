/// Which versions a history lists (FHIR R4 §history: instance, type or
/// system level, `_since`, `_at`, paging), among the records without an EHR.
public struct HistoryQuery: Sendable, Equatable {
    /// One versioned object; nil for all of `rmType`'s (or all).
    public var objectID: String?
    /// One type (`Patient`); nil for every type.
    public var rmType: String?
    /// Only versions committed at or after this time (µs since the epoch).
    public var since: Int64?
    /// Only the versions current at this time: the last of each object
    /// committed at or before it.
    public var at: Int64?
    public var limit: Int
    public var offset: Int

    public init(objectID: String? = nil, rmType: String? = nil, since: Int64? = nil, at: Int64? = nil, limit: Int, offset: Int = 0) {
        self.objectID = objectID
        self.rmType = rmType
        self.since = since
        self.at = at
        self.limit = limit
        self.offset = offset
    }
}

extension VersionStore {
    /// The versions a history lists, newest first, with their data, and how
    /// many there are in all (for paging).
    public func history(_ query: HistoryQuery) async throws -> (versions: [VersionRecord], total: Int) {
        var conditions = ["v.ehr_id IS NULL"]
        var binds: [SQLValue] = []
        if let objectID = query.objectID {
            conditions.append("v.object_id = ?")
            binds.append(.text(objectID))
        }
        if let rmType = query.rmType {
            conditions.append("v.object_id IN (SELECT object_id FROM versioned_object WHERE rm_type = ? AND ehr_id IS NULL)")
            binds.append(.text(rmType))
        }
        if let since = query.since {
            conditions.append("v.time_committed >= ?")
            binds.append(.integer(since))
        }
        if let at = query.at {
            conditions.append(
                """
                v.time_committed <= ? AND NOT EXISTS (SELECT 1 FROM object_version w
                    WHERE w.object_id = v.object_id AND w.version_number > v.version_number AND w.time_committed <= ?)
                """)
            binds += [.integer(at), .integer(at)]
        }
        let filter = conditions.joined(separator: " AND ")
        let total = try await database.query("SELECT COUNT(*) FROM object_version v WHERE \(filter)", binds).first?.int(0) ?? 0
        let columns = Self.versionColumns.split(separator: ",").map { "v." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")
        let rows = try await database.query(
            """
            SELECT \(columns), v.data FROM object_version v WHERE \(filter)
            ORDER BY v.time_committed DESC, v.object_id, v.version_number DESC LIMIT ? OFFSET ?
            """, binds + [.integer(Int64(query.limit)), .integer(Int64(query.offset))])
        return (rows.map(Self.version), Int(total))
    }
}
