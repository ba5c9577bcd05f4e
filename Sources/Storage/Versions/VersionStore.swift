/// The append-only store of versions (ARCHITECTURE.md §Storage): versioned
/// objects, their original versions with canonical bytes, contributions and
/// their audits, the EHR rows, and the erasure log. Versions are never
/// updated in place; the only deletion is `erase`.
public struct VersionStore: Sendable {
    public let database: any SQLDatabase

    public init(database: any SQLDatabase) {
        self.database = database
    }

    // MARK: Writing

    /// Commits one contribution atomically: the contribution row, every
    /// version, the versioned-object bookkeeping and the EHR change. Nothing
    /// is written if any part is refused.
    public func commit(_ contribution: ContributionRecord, versions: [VersionWrite], ehrChange: EHRChange? = nil) async throws {
        try await commit(contribution, versions: versions, ehrChanges: ehrChange.map { [$0] } ?? [])
    }

    /// The same, with several changes to the EHR row, applied in order.
    public func commit(_ contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange]) async throws {
        var statements: [SQLStatement] = []
        for change in ehrChanges { statements.append(Self.statement(for: change, ehrID: contribution.ehrID)) }
        statements.append(Self.insertContribution(contribution))
        for write in versions {
            let record = write.record
            switch write {
            case .create(_, let rmType, let templateID, _):
                statements.append(
                    SQLStatement(
                        "INSERT INTO versioned_object (object_id, ehr_id, rm_type, time_created, latest_version, template_id) VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            .text(record.objectID), .text(record.ehrID), .text(rmType), .integer(record.audit.timeCommitted), SQLValue(record.versionNumber),
                            SQLValue(templateID),
                        ],
                        onUniqueViolation: StoreError(.conflict, "versioned object \(record.objectID) already exists")))
            case .update(_, let preceding, _):
                statements.append(
                    SQLStatement(
                        "UPDATE versioned_object SET latest_version = ? WHERE object_id = ? AND ehr_id = ? AND latest_version = ?",
                        [SQLValue(record.versionNumber), .text(record.objectID), .text(record.ehrID), SQLValue(preceding)],
                        mustChangeOneRow: StoreError(
                            .preconditionFailed, "version \(preceding) of \(record.objectID) is not the latest version: it has been changed since")))
            }
            statements.append(Self.insertVersion(record))
            if case .update = write { statements += Self.removeIndex(objectID: record.objectID) }
            if let index = write.index { statements += insertIndex(index, record) }
        }
        try await database.transaction(statements)
    }

    // MARK: AQL index (derived: dropped and rebuilt from the versions)

    static func removeIndex(objectID: String) -> [SQLStatement] {
        [
            SQLStatement("DELETE FROM aql_node WHERE cid IN (SELECT cid FROM aql_composition WHERE object_id = ?)", [.text(objectID)]),
            SQLStatement("DELETE FROM aql_composition WHERE object_id = ?", [.text(objectID)]),
        ]
    }

    /// Rows per node insert: 13 binds each, well under both engines' limits.
    static let nodesPerStatement = 400

    /// The composition row, then its nodes in multi-row inserts that take
    /// the composition's key from the insert just made (`last_insert_rowid()`
    /// on SQLite, `lastval()` on PostgreSQL: both per connection, so inside
    /// this transaction).
    public func insertIndex(_ index: CompositionIndex, _ record: VersionRecord) -> [SQLStatement] {
        var statements = [
            SQLStatement(
                """
                INSERT INTO aql_composition (object_id, version_number, ehr_id, template_id, archetype_id, composer, start_time, time_committed)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(record.objectID), SQLValue(record.versionNumber), .text(record.ehrID), SQLValue(index.templateID), .text(index.archetypeID),
                    SQLValue(index.composer), index.startTime.map(SQLValue.integer) ?? .null, .integer(record.audit.timeCommitted),
                ])
        ]
        let key = database.kind == .postgresql ? "lastval()" : "last_insert_rowid()"
        var start = 0
        while start < index.nodes.count {
            let chunk = index.nodes[start..<min(start + Self.nodesPerStatement, index.nodes.count)]
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * 13)
            for node in chunk {
                binds += [
                    SQLValue(node.num), SQLValue(node.numCap), SQLValue(node.rootNum), .text(node.rmType), SQLValue(node.archetypeNodeID),
                    .text(node.archetypeID ?? index.archetypeID), .text(node.archetypePath), SQLValue(node.name), node.number.map(SQLValue.real) ?? .null,
                    SQLValue(node.string), SQLValue(node.code), SQLValue(node.terminology), SQLValue(node.units),
                ]
            }
            let row = "(\(key), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            statements.append(
                SQLStatement(
                    "INSERT INTO aql_node (cid, num, num_cap, root_num, rm_type, node_id, archetype_id, apath, name, num_value, str_value, code, terminology, units) VALUES "
                        + Array(repeating: row, count: chunk.count).joined(separator: ", "), binds))
            start += Self.nodesPerStatement
        }
        return statements
    }

    static func statement(for change: EHRChange, ehrID: String) -> SQLStatement {
        switch change {
        case .create(let ehr):
            Self.insertEHR(ehr)
        case .status(let subjectID, let subjectNamespace, let isQueryable, let isModifiable):
            SQLStatement(
                "UPDATE ehr SET subject_id = ?, subject_namespace = ?, is_queryable = ?, is_modifiable = ? WHERE ehr_id = ?",
                [SQLValue(subjectID), SQLValue(subjectNamespace), SQLValue(isQueryable), SQLValue(isModifiable), .text(ehrID)],
                mustChangeOneRow: StoreError(.notFound, "EHR \(ehrID) does not exist"),
                onUniqueViolation: subjectTaken)
        case .requireModifiable:
            SQLStatement(
                "UPDATE ehr SET is_modifiable = is_modifiable WHERE ehr_id = ? AND is_modifiable = 1", [.text(ehrID)],
                mustChangeOneRow: StoreError(.conflict, "EHR \(ehrID) is not modifiable (EHR_STATUS.is_modifiable is false) or no longer exists"))
        }
    }

    static let subjectTaken = StoreError(.conflict, "another EHR already has this subject (subject_id and subject_namespace)")

    static func insertEHR(_ ehr: EHRRecord) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO ehr (ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(ehr.ehrID), .text(ehr.systemID), .integer(ehr.timeCreated), .text(ehr.statusObjectID), SQLValue(ehr.subjectID),
                SQLValue(ehr.subjectNamespace), SQLValue(ehr.isQueryable), SQLValue(ehr.isModifiable),
            ],
            onUniqueViolation: StoreError(.conflict, "EHR \(ehr.ehrID) already exists, or another EHR already has this subject"))
    }

    static func insertContribution(_ contribution: ContributionRecord) -> SQLStatement {
        let audit = contribution.audit
        return SQLStatement(
            """
            INSERT INTO contribution (contribution_id, ehr_id, system_id, committer, time_committed, change_type, description)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(contribution.contributionID), .text(contribution.ehrID), .text(audit.systemID), .text(audit.committer),
                .integer(audit.timeCommitted), .text(audit.changeType), SQLValue(audit.description),
            ],
            onUniqueViolation: StoreError(.conflict, "contribution \(contribution.contributionID) already exists"))
    }

    static func insertVersion(_ version: VersionRecord) -> SQLStatement {
        let audit = version.audit
        return SQLStatement(
            """
            INSERT INTO object_version (object_id, version_number, ehr_id, contribution_id, system_id, committer, time_committed,
                change_type, description, lifecycle_state, data)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(version.objectID), SQLValue(version.versionNumber), .text(version.ehrID), .text(version.contributionID),
                .text(audit.systemID), .text(audit.committer), .integer(audit.timeCommitted), .text(audit.changeType),
                SQLValue(audit.description), .text(version.lifecycleState), .blob(version.data),
            ],
            onUniqueViolation: StoreError(.preconditionFailed, "version \(version.versionNumber) of \(version.objectID) already exists"))
    }

    /// Physically removes an EHR and everything in it (the right to
    /// erasure), and records the erasure in the log in the same transaction.
    /// Throws `notFound` when there is no such EHR.
    public func erase(ehrID: String, erasureID: String, erasedAt: Int64, erasedBy: String) async throws {
        var statements = [
            SQLStatement(
                """
                INSERT INTO erasure_log (erasure_id, ehr_id, erased_at, erased_by, versions_erased, contributions_erased)
                VALUES (?, ?, ?, ?, (SELECT COUNT(*) FROM object_version WHERE ehr_id = ?), (SELECT COUNT(*) FROM contribution WHERE ehr_id = ?))
                """,
                [.text(erasureID), .text(ehrID), .integer(erasedAt), .text(erasedBy), .text(ehrID), .text(ehrID)])
        ]
        statements += Migrations.derivedEHRStatements.map { SQLStatement($0, [.text(ehrID)]) }
        for table in Migrations.ehrTables {
            statements.append(
                SQLStatement(
                    "DELETE FROM \(table) WHERE ehr_id = ?", [.text(ehrID)],
                    mustChangeOneRow: table == "ehr" ? StoreError(.notFound, "EHR \(ehrID) does not exist") : nil))
        }
        try await database.transaction(statements)
    }

    // MARK: Reading

    static let ehrColumns = "ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable"

    public func ehr(_ ehrID: String) async throws -> EHRRecord? {
        try await database.query("SELECT \(Self.ehrColumns) FROM ehr WHERE ehr_id = ?", [.text(ehrID)]).first.map(Self.ehr)
    }

    public func ehr(subjectID: String, subjectNamespace: String) async throws -> EHRRecord? {
        try await database.query(
            "SELECT \(Self.ehrColumns) FROM ehr WHERE subject_namespace = ? AND subject_id = ?", [.text(subjectNamespace), .text(subjectID)]
        ).first.map(Self.ehr)
    }

    static func ehr(_ row: SQLRow) -> EHRRecord {
        EHRRecord(
            ehrID: row.string(0) ?? "", systemID: row.string(1) ?? "", timeCreated: row.int(2) ?? 0, statusObjectID: row.string(3) ?? "",
            subjectID: row.string(4), subjectNamespace: row.string(5), isQueryable: row.bool(6), isModifiable: row.bool(7))
    }

    public func versionedObject(_ objectID: String) async throws -> VersionedObjectRecord? {
        try await database.query(
            "SELECT object_id, ehr_id, rm_type, time_created, latest_version FROM versioned_object WHERE object_id = ?", [.text(objectID)]
        ).first.map(Self.versionedObject)
    }

    static func versionedObject(_ row: SQLRow) -> VersionedObjectRecord {
        VersionedObjectRecord(
            objectID: row.string(0) ?? "", ehrID: row.string(1) ?? "", rmType: row.string(2) ?? "", timeCreated: row.int(3) ?? 0,
            latestVersion: Int(row.int(4) ?? 0))
    }

    /// The EHR's directory (its one versioned FOLDER), if it has one.
    public func directory(ehrID: String) async throws -> VersionedObjectRecord? {
        try await database.query(
            "SELECT object_id, ehr_id, rm_type, time_created, latest_version FROM versioned_object WHERE ehr_id = ? AND rm_type = 'FOLDER'",
            [.text(ehrID)]
        ).first.map(Self.versionedObject)
    }

    static let versionColumns =
        "object_id, version_number, ehr_id, contribution_id, system_id, committer, time_committed, change_type, description, lifecycle_state"

    public func version(objectID: String, number: Int) async throws -> VersionRecord? {
        try await database.query(
            "SELECT \(Self.versionColumns), data FROM object_version WHERE object_id = ? AND version_number = ?",
            [.text(objectID), SQLValue(number)]
        ).first.map(Self.version)
    }

    public func latestVersion(objectID: String) async throws -> VersionRecord? {
        try await database.query(
            """
            SELECT \(Self.versionColumns), data FROM object_version
            WHERE object_id = ? ORDER BY version_number DESC LIMIT 1
            """, [.text(objectID)]
        ).first.map(Self.version)
    }

    /// The latest version of an object of this EHR and RM type, in one query
    /// (the read-by-id path); nil when there is no such object.
    public func latestVersion(objectID: String, ehrID: String, rmType: String) async throws -> VersionRecord? {
        try await database.query(
            """
            SELECT v.object_id, v.version_number, v.ehr_id, v.contribution_id, v.system_id, v.committer, v.time_committed, v.change_type,
                v.description, v.lifecycle_state, v.data
            FROM versioned_object o JOIN object_version v ON v.object_id = o.object_id AND v.version_number = o.latest_version
            WHERE o.object_id = ? AND o.ehr_id = ? AND o.rm_type = ?
            """, [.text(objectID), .text(ehrID), .text(rmType)]
        ).first.map(Self.version)
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
        try await database.query(
            "SELECT \(Self.versionColumns), NULL FROM object_version WHERE object_id = ? ORDER BY version_number",
            [.text(objectID)]
        ).map(Self.version)
    }

    static func version(_ row: SQLRow) -> VersionRecord {
        VersionRecord(
            objectID: row.string(0) ?? "", versionNumber: Int(row.int(1) ?? 0), ehrID: row.string(2) ?? "", contributionID: row.string(3) ?? "",
            audit: AuditRecord(
                systemID: row.string(4) ?? "", committer: row.string(5) ?? "", timeCommitted: row.int(6) ?? 0, changeType: row.string(7) ?? "",
                description: row.string(8)),
            lifecycleState: row.string(9) ?? "", data: row.bytes(10) ?? [])
    }

    public func contribution(_ contributionID: String) async throws -> ContributionRecord? {
        try await database.query(
            "SELECT contribution_id, ehr_id, system_id, committer, time_committed, change_type, description FROM contribution WHERE contribution_id = ?",
            [.text(contributionID)]
        ).first.map { row in
            ContributionRecord(
                contributionID: row.string(0) ?? "", ehrID: row.string(1) ?? "",
                audit: AuditRecord(
                    systemID: row.string(2) ?? "", committer: row.string(3) ?? "", timeCommitted: row.int(4) ?? 0, changeType: row.string(5) ?? "",
                    description: row.string(6)))
        }
    }

    /// The versions a contribution committed, without their data.
    public func versions(inContribution contributionID: String) async throws -> [VersionRecord] {
        try await database.query(
            "SELECT \(Self.versionColumns), NULL FROM object_version WHERE contribution_id = ? ORDER BY object_id, version_number",
            [.text(contributionID)]
        ).map(Self.version)
    }

    public func erasures(ehrID: String) async throws -> [ErasureRecord] {
        try await database.query(
            """
            SELECT erasure_id, ehr_id, erased_at, erased_by, versions_erased, contributions_erased
            FROM erasure_log WHERE ehr_id = ? ORDER BY erased_at
            """, [.text(ehrID)]
        ).map { row in
            ErasureRecord(
                erasureID: row.string(0) ?? "", ehrID: row.string(1) ?? "", erasedAt: row.int(2) ?? 0, erasedBy: row.string(3) ?? "",
                versionsErased: Int(row.int(4) ?? 0), contributionsErased: Int(row.int(5) ?? 0))
        }
    }
}
