extension VersionStore {
    /// Physically removes an EHR and everything in it, and every record that
    /// concerns its patient (the right to erasure), and records the erasure
    /// in the log and the change sequence, in one transaction. Throws
    /// `notFound` when there is no such EHR.
    public func erase(ehrID: String, erasureID: String, erasedAt: Int64, erasedBy: String) async throws {
        try await database.transaction(erasure(ehrID: ehrID, patientID: nil, erasureID: erasureID, erasedAt: erasedAt, erasedBy: erasedBy))
    }

    /// Physically removes every record that concerns a patient (by the
    /// versions naming them, whatever their EHR) and the EHR linked to them.
    /// Throws `notFound` when nothing concerns them.
    public func erase(patientID: String, erasureID: String, erasedAt: Int64, erasedBy: String) async throws {
        try await database.transaction(erasure(ehrID: nil, patientID: patientID, erasureID: erasureID, erasedAt: erasedAt, erasedBy: erasedBy))
    }

    /// The erasure's statements. The objects to erase are gathered first in
    /// a temporary table: those of the EHR (or of the EHR linked to the
    /// patient), and those any of whose versions names the patient (or the
    /// EHR's patient). A contribution goes when all its versions go; one that
    /// also committed versions of others stays (its audit holds no clinical content).
    func erasure(ehrID: String?, patientID: String?, erasureID: String, erasedAt: Int64, erasedBy: String) -> [SQLStatement] {
        let kind = database.kind
        let (e, p) = (SQLValue(ehrID), SQLValue(patientID))
        var statements = Self.erasureTables(kind)
        statements.append(
            SQLStatement(
                """
                INSERT INTO erased_object (object_id)
                SELECT object_id FROM versioned_object WHERE ehr_id IN (SELECT ehr_id FROM ehr WHERE ehr_id = ? OR patient_id = ?)
                UNION SELECT object_id FROM object_version WHERE patient_id = ? OR patient_id IN (SELECT patient_id FROM ehr WHERE ehr_id = ?)
                """, [e, p, p, e]))
        if ehrID == nil {
            statements.append(
                SQLStatement(
                    "SELECT 1 FROM erased_object", mustReturnRow: StoreError(.notFound, "no record concerns patient \(patientID ?? "")")))
        }
        statements.append(
            SQLStatement(
                """
                INSERT INTO erased_contribution (contribution_id)
                SELECT DISTINCT v.contribution_id FROM object_version v WHERE v.object_id IN (SELECT object_id FROM erased_object)
                AND NOT EXISTS (SELECT 1 FROM object_version w WHERE w.contribution_id = v.contribution_id
                    AND w.object_id NOT IN (SELECT object_id FROM erased_object))
                """))
        // Who was erased: the EHR and its patient, whichever was named.
        let erasedEHR = "COALESCE(?, (SELECT ehr_id FROM ehr WHERE patient_id = ?))"
        let erasedPatient = "COALESCE(?, (SELECT patient_id FROM ehr WHERE ehr_id = ?))"
        statements.append(
            SQLStatement(
                """
                INSERT INTO erasure_log (erasure_id, ehr_id, patient_id, erased_at, erased_by, versions_erased, contributions_erased)
                VALUES (?, \(erasedEHR), \(erasedPatient), ?, ?,
                    (SELECT COUNT(*) FROM object_version WHERE object_id IN (SELECT object_id FROM erased_object)),
                    (SELECT COUNT(*) FROM erased_contribution))
                """, [.text(erasureID), e, p, p, e, .integer(erasedAt), .text(erasedBy)]))
        statements += projections.all.flatMap { $0.erasureStatements(kind) }
        statements += [
            SQLStatement("DELETE FROM change_log WHERE contribution_id IN (SELECT contribution_id FROM erased_contribution)"),
            SQLStatement(
                """
                INSERT INTO change_log (position, kind, ehr_id, patient_id, time)
                SELECT \(ChangeLog.positionSQL(kind)), 'erasure', ehr_id, patient_id, erased_at FROM erasure_log WHERE erasure_id = ?
                """, [.text(erasureID)]),
            SQLStatement("DELETE FROM item_tag WHERE object_id IN (SELECT object_id FROM erased_object)"),
            SQLStatement("DELETE FROM item_tag_log WHERE object_id IN (SELECT object_id FROM erased_object)"),
            SQLStatement("DELETE FROM object_version WHERE object_id IN (SELECT object_id FROM erased_object)"),
            SQLStatement("DELETE FROM versioned_object WHERE object_id IN (SELECT object_id FROM erased_object)"),
            SQLStatement("DELETE FROM contribution WHERE contribution_id IN (SELECT contribution_id FROM erased_contribution)"),
        ]
        if let ehrID {
            statements.append(
                SQLStatement(
                    "DELETE FROM ehr WHERE ehr_id = ?", [.text(ehrID)], mustChangeOneRow: StoreError(.notFound, "EHR \(ehrID) does not exist")))
        } else {
            statements.append(SQLStatement("DELETE FROM ehr WHERE patient_id = ?", [p]))
        }
        if kind == .sqlite { statements += [SQLStatement("DELETE FROM erased_object"), SQLStatement("DELETE FROM erased_contribution")] }
        return statements
    }

    /// The temporary tables of an erasure: dropped at commit on PostgreSQL,
    /// emptied before and after on SQLite (where they live with the connection).
    static func erasureTables(_ kind: DatabaseKind) -> [SQLStatement] {
        switch kind {
        case .postgresql:
            [
                SQLStatement("CREATE TEMPORARY TABLE erased_object (object_id TEXT PRIMARY KEY) ON COMMIT DROP"),
                SQLStatement("CREATE TEMPORARY TABLE erased_contribution (contribution_id TEXT PRIMARY KEY) ON COMMIT DROP"),
            ]
        case .sqlite:
            [
                SQLStatement("CREATE TEMPORARY TABLE IF NOT EXISTS erased_object (object_id TEXT PRIMARY KEY)"),
                SQLStatement("CREATE TEMPORARY TABLE IF NOT EXISTS erased_contribution (contribution_id TEXT PRIMARY KEY)"),
                SQLStatement("DELETE FROM erased_object"),
                SQLStatement("DELETE FROM erased_contribution"),
            ]
        }
    }

    public func erasures(ehrID: String) async throws -> [ErasureRecord] {
        try await erasures(where: "ehr_id = ?", .text(ehrID))
    }

    public func erasures(patientID: String) async throws -> [ErasureRecord] {
        try await erasures(where: "patient_id = ?", .text(patientID))
    }

    func erasures(where condition: String, _ value: SQLValue) async throws -> [ErasureRecord] {
        try await database.query(
            """
            SELECT erasure_id, ehr_id, patient_id, erased_at, erased_by, versions_erased, contributions_erased
            FROM erasure_log WHERE \(condition) ORDER BY erased_at
            """, [value]
        ).map { row in
            ErasureRecord(
                erasureID: row.string(0) ?? "", ehrID: row.string(1), patientID: row.string(2), erasedAt: row.int(3) ?? 0, erasedBy: row.string(4) ?? "",
                versionsErased: Int(row.int(5) ?? 0), contributionsErased: Int(row.int(6) ?? 0))
        }
    }
}
