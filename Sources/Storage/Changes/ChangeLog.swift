/// The change sequence (docs/architecture.md §Change sequence): every
/// committed contribution, and every erasure, takes a position in one
/// ordered sequence. A reader that has seen every change up to position N
/// never later finds a change at or before N.
///
/// SQLite commits one writer at a time, so a position taken inside the
/// commit's transaction is in commit order. PostgreSQL commits concurrent
/// transactions in an order of its own, so a position taken at insert time
/// could become visible after a higher one: there, rows are inserted without
/// a position and numbered afterwards, only once committed, by one
/// sequencer at a time (`ChangeFeed.sequence`).
enum ChangeLog {
    static func createStatements(_ kind: DatabaseKind) -> [String] {
        let key = kind == .postgresql ? "BIGSERIAL PRIMARY KEY" : "INTEGER PRIMARY KEY"
        var statements = [
            """
            CREATE TABLE change_log (
                change_id \(key),
                position BIGINT UNIQUE,
                kind TEXT NOT NULL,
                contribution_id TEXT,
                ehr_id TEXT,
                patient_id TEXT,
                time BIGINT NOT NULL
            )
            """,
            "CREATE INDEX change_log_contribution_idx ON change_log (contribution_id)",
            // Contributions committed before the sequence existed, in the order of their commit times.
            """
            INSERT INTO change_log (position, kind, contribution_id, ehr_id, patient_id, time)
            SELECT ROW_NUMBER() OVER (ORDER BY time_committed, contribution_id), 'contribution', contribution_id, ehr_id, patient_id, time_committed
            FROM contribution
            """,
        ]
        if kind == .postgresql {
            statements.append("CREATE INDEX change_log_pending_idx ON change_log (change_id) WHERE position IS NULL")
        }
        return statements
    }

    /// The position of a change inserted now: the next one on SQLite (in the
    /// writer's transaction, so in commit order), none yet on PostgreSQL.
    static func positionSQL(_ kind: DatabaseKind) -> String {
        kind == .sqlite ? "(SELECT COALESCE(MAX(position), 0) + 1 FROM change_log)" : "NULL"
    }

    static func insert(_ kind: DatabaseKind, change: Change.Kind, contributionID: String?, ehrID: String?, patientID: String?, time: Int64)
        -> SQLStatement
    {
        SQLStatement(
            "INSERT INTO change_log (position, kind, contribution_id, ehr_id, patient_id, time) VALUES (\(positionSQL(kind)), ?, ?, ?, ?, ?)",
            [.text(change.rawValue), SQLValue(contributionID), SQLValue(ehrID), SQLValue(patientID), .integer(time)])
    }
}

/// One position of the change sequence.
public struct Change: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case contribution
        case erasure
    }

    public var position: Int64
    public var kind: Kind
    /// The contribution committed (kind contribution).
    public var contributionID: String?
    /// The EHR it concerns, or the EHR erased.
    public var ehrID: String?
    /// The patient record it concerns, or the patient erased.
    public var patientID: String?
    /// Commit or erasure time, microseconds since the epoch.
    public var time: Int64
    /// The versions a contribution committed, by object id.
    public var versions: [ChangedVersion]
}

/// One version committed by a contribution.
public struct ChangedVersion: Sendable, Equatable {
    public var objectID: String
    public var versionNumber: Int
    public var rmType: String
    /// AUDIT_DETAILS.change_type (openEHR terminology code).
    public var changeType: String
    public var lifecycleState: String

    public init(objectID: String, versionNumber: Int, rmType: String, changeType: String, lifecycleState: String) {
        self.objectID = objectID
        self.versionNumber = versionNumber
        self.rmType = rmType
        self.changeType = changeType
        self.lifecycleState = lifecycleState
    }
}

/// Reads the change sequence.
public struct ChangeFeed: Sendable {
    let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    /// The changes after position `after`, oldest first, at most `limit`
    /// positions, each contribution with every version it committed.
    public func changes(after: Int64, limit: Int) async throws -> [Change] {
        try await sequence()
        let rows = try await database.query(
            "SELECT position, kind, contribution_id, ehr_id, patient_id, time FROM change_log WHERE position > ? ORDER BY position LIMIT ?",
            [.integer(after), SQLValue(max(0, limit))])
        var changes = rows.map { row in
            Change(
                position: row.int(0) ?? 0, kind: Change.Kind(rawValue: row.string(1) ?? "") ?? .contribution, contributionID: row.string(2),
                ehrID: row.string(3), patientID: row.string(4), time: row.int(5) ?? 0, versions: [])
        }
        let contributions = changes.compactMap(\.contributionID)
        guard !contributions.isEmpty else { return changes }
        var versions: [String: [ChangedVersion]] = [:]
        for batch in stride(from: 0, to: contributions.count, by: 500).map({ Array(contributions[$0..<min($0 + 500, contributions.count)]) }) {
            let rows = try await database.query(
                """
                SELECT v.contribution_id, v.object_id, v.version_number, o.rm_type, v.change_type, v.lifecycle_state
                FROM object_version v JOIN versioned_object o ON o.object_id = v.object_id
                WHERE v.contribution_id IN (\(Array(repeating: "?", count: batch.count).joined(separator: ", ")))
                ORDER BY v.contribution_id, v.object_id, v.version_number
                """, batch.map(SQLValue.text))
            for row in rows {
                versions[row.string(0) ?? "", default: []].append(
                    ChangedVersion(
                        objectID: row.string(1) ?? "", versionNumber: Int(row.int(2) ?? 0), rmType: row.string(3) ?? "",
                        changeType: row.string(4) ?? "", lifecycleState: row.string(5) ?? ""))
            }
        }
        for index in changes.indices {
            if let id = changes[index].contributionID { changes[index].versions = versions[id] ?? [] }
        }
        return changes
    }

    /// The highest position taken so far (0 when nothing has changed).
    public func lastPosition() async throws -> Int64 {
        try await sequence()
        return try await database.query("SELECT COALESCE(MAX(position), 0) FROM change_log").first?.int(0) ?? 0
    }

    /// PostgreSQL: numbers the committed changes that have no position yet,
    /// after every position already taken, one sequencer at a time (an
    /// advisory lock), so positions become visible in order.
    func sequence() async throws {
        guard database.kind == .postgresql else { return }
        try await database.transaction([
            SQLStatement("SELECT pg_advisory_xact_lock(7340238)"),
            SQLStatement(
                """
                UPDATE change_log SET position = numbered.position
                FROM (SELECT change_id, (SELECT COALESCE(MAX(position), 0) FROM change_log) + ROW_NUMBER() OVER (ORDER BY change_id) AS position
                      FROM change_log WHERE position IS NULL) numbered
                WHERE change_log.change_id = numbered.change_id
                """),
        ])
    }
}
