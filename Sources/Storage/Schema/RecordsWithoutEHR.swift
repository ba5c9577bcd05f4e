/// Migration 5, first part: versioned objects, versions, contributions and
/// erasures that belong to no EHR (FHIR master data: Patient, Practitioner,
/// Organization …), and the patient a record concerns (`patient_id`, as the
/// face names it: `Patient/123`), so that erasing a patient finds every
/// record about them. `ehr_id` becomes nullable; SQLite cannot drop a NOT
/// NULL constraint, so its tables are rebuilt (copied) once.
enum RecordsWithoutEHR {
    static func statements(_ kind: DatabaseKind) -> [String] {
        let blob = kind == .postgresql ? "BYTEA" : "BLOB"
        let tables: [(name: String, columns: String, copied: String)] = [
            (
                "contribution",
                """
                contribution_id TEXT PRIMARY KEY, ehr_id TEXT, patient_id TEXT, system_id TEXT NOT NULL, committer TEXT NOT NULL,
                time_committed BIGINT NOT NULL, change_type TEXT NOT NULL, description TEXT
                """,
                "contribution_id, ehr_id, system_id, committer, time_committed, change_type, description"
            ),
            (
                "versioned_object",
                """
                object_id TEXT PRIMARY KEY, ehr_id TEXT, patient_id TEXT, rm_type TEXT NOT NULL, time_created BIGINT NOT NULL,
                latest_version INTEGER NOT NULL, template_id TEXT
                """,
                "object_id, ehr_id, rm_type, time_created, latest_version, template_id"
            ),
            (
                "object_version",
                """
                object_id TEXT NOT NULL, version_number INTEGER NOT NULL, ehr_id TEXT, patient_id TEXT, contribution_id TEXT NOT NULL,
                system_id TEXT NOT NULL, committer TEXT NOT NULL, time_committed BIGINT NOT NULL, change_type TEXT NOT NULL, description TEXT,
                lifecycle_state TEXT NOT NULL, data \(blob), PRIMARY KEY (object_id, version_number)
                """,
                "object_id, version_number, ehr_id, contribution_id, system_id, committer, time_committed, change_type, description, lifecycle_state, data"
            ),
            (
                "erasure_log",
                """
                erasure_id TEXT PRIMARY KEY, ehr_id TEXT, patient_id TEXT, erased_at BIGINT NOT NULL, erased_by TEXT NOT NULL,
                versions_erased INTEGER NOT NULL, contributions_erased INTEGER NOT NULL
                """,
                "erasure_id, ehr_id, erased_at, erased_by, versions_erased, contributions_erased"
            ),
        ]
        var statements: [String] = []
        switch kind {
        case .postgresql:
            for table in tables {
                statements += [
                    "ALTER TABLE \(table.name) ALTER COLUMN ehr_id DROP NOT NULL",
                    "ALTER TABLE \(table.name) ADD COLUMN patient_id TEXT",
                ]
            }
        case .sqlite:
            for table in tables {
                statements += [
                    "CREATE TABLE \(table.name)_v5 (\(table.columns))",
                    "INSERT INTO \(table.name)_v5 (\(table.copied)) SELECT \(table.copied) FROM \(table.name)",
                    "DROP TABLE \(table.name)",
                    "ALTER TABLE \(table.name)_v5 RENAME TO \(table.name)",
                ]
            }
            // Dropped with their tables: the indexes of migrations 1, 2 and 4.
            statements += [
                "CREATE INDEX contribution_ehr_idx ON contribution (ehr_id)",
                "CREATE INDEX versioned_object_ehr_idx ON versioned_object (ehr_id, rm_type)",
                "CREATE INDEX versioned_object_template_idx ON versioned_object (template_id)",
                "CREATE UNIQUE INDEX versioned_object_directory_idx ON versioned_object (ehr_id) WHERE rm_type = 'FOLDER'",
                "CREATE INDEX object_version_ehr_idx ON object_version (ehr_id)",
                "CREATE INDEX object_version_contribution_idx ON object_version (contribution_id)",
            ]
        }
        return statements + [
            "CREATE INDEX contribution_patient_idx ON contribution (patient_id) WHERE patient_id IS NOT NULL",
            "CREATE INDEX versioned_object_patient_idx ON versioned_object (patient_id) WHERE patient_id IS NOT NULL",
            // A projection's rebuild reads its types' objects in creation order.
            "CREATE INDEX versioned_object_rm_type_idx ON versioned_object (rm_type, time_created, object_id)",
            "CREATE INDEX object_version_patient_idx ON object_version (patient_id) WHERE patient_id IS NOT NULL",
            // The patient record an EHR belongs to: one EHR per patient.
            "ALTER TABLE ehr ADD COLUMN patient_id TEXT",
            "CREATE UNIQUE INDEX ehr_patient_idx ON ehr (patient_id) WHERE patient_id IS NOT NULL",
        ]
    }
}
