import OpenEHR

/// The versioned schema. Each migration is applied once, in order, in its
/// own transaction, and recorded in `schema_migration`. A database whose
/// schema is newer than the binary is refused: an older Socle must not
/// write to tables it does not know.
public enum Migrations {
    struct Migration: Sendable {
        var version: Int
        var description: String
        var statements: @Sendable (DatabaseKind) -> [String]
    }

    static let all: [Migration] = [
        Migration(version: 1, description: "version store, EHRs, erasure log") { kind in
            let blob = kind == .postgresql ? "BYTEA" : "BLOB"
            return [
                """
                CREATE TABLE ehr (
                    ehr_id TEXT PRIMARY KEY,
                    system_id TEXT NOT NULL,
                    time_created BIGINT NOT NULL,
                    status_object_id TEXT NOT NULL,
                    subject_id TEXT,
                    subject_namespace TEXT,
                    is_queryable INTEGER NOT NULL,
                    is_modifiable INTEGER NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX ehr_subject_idx ON ehr (subject_namespace, subject_id)",
                """
                CREATE TABLE contribution (
                    contribution_id TEXT PRIMARY KEY,
                    ehr_id TEXT NOT NULL,
                    system_id TEXT NOT NULL,
                    committer TEXT NOT NULL,
                    time_committed BIGINT NOT NULL,
                    change_type TEXT NOT NULL,
                    description TEXT
                )
                """,
                "CREATE INDEX contribution_ehr_idx ON contribution (ehr_id)",
                """
                CREATE TABLE versioned_object (
                    object_id TEXT PRIMARY KEY,
                    ehr_id TEXT NOT NULL,
                    rm_type TEXT NOT NULL,
                    time_created BIGINT NOT NULL,
                    latest_version INTEGER NOT NULL
                )
                """,
                "CREATE INDEX versioned_object_ehr_idx ON versioned_object (ehr_id, rm_type)",
                """
                CREATE TABLE object_version (
                    object_id TEXT NOT NULL,
                    version_number INTEGER NOT NULL,
                    ehr_id TEXT NOT NULL,
                    contribution_id TEXT NOT NULL,
                    system_id TEXT NOT NULL,
                    committer TEXT NOT NULL,
                    time_committed BIGINT NOT NULL,
                    change_type TEXT NOT NULL,
                    description TEXT,
                    lifecycle_state TEXT NOT NULL,
                    data \(blob),
                    PRIMARY KEY (object_id, version_number)
                )
                """,
                "CREATE INDEX object_version_ehr_idx ON object_version (ehr_id)",
                "CREATE INDEX object_version_contribution_idx ON object_version (contribution_id)",
                """
                CREATE TABLE erasure_log (
                    erasure_id TEXT PRIMARY KEY,
                    ehr_id TEXT NOT NULL,
                    erased_at BIGINT NOT NULL,
                    erased_by TEXT NOT NULL,
                    versions_erased INTEGER NOT NULL,
                    contributions_erased INTEGER NOT NULL
                )
                """,
            ]
        },
        Migration(version: 2, description: "operational templates") { kind in
            let blob = kind == .postgresql ? "BYTEA" : "BLOB"
            return [
                """
                CREATE TABLE template (
                    template_id TEXT PRIMARY KEY,
                    concept TEXT NOT NULL,
                    archetype_id TEXT NOT NULL,
                    created_at BIGINT NOT NULL,
                    opt \(blob) NOT NULL
                )
                """,
                // Which template a versioned composition follows: templates in use cannot be removed.
                "ALTER TABLE versioned_object ADD COLUMN template_id TEXT",
                "CREATE INDEX versioned_object_template_idx ON versioned_object (template_id)",
            ]
        },
        // The AQL node index created here until version 5 is now a projection's own (Projections).
        Migration(version: 3, description: "stored queries") { _ in
            [
                """
                CREATE TABLE stored_query (
                    qualified_name TEXT NOT NULL,
                    version TEXT NOT NULL,
                    query_type TEXT NOT NULL,
                    q TEXT NOT NULL,
                    saved_at BIGINT NOT NULL,
                    PRIMARY KEY (qualified_name, version)
                )
                """
            ]
        },
        Migration(version: 4, description: "one directory per EHR") { _ in
            // RM ehr package: EHR.directory is one VERSIONED_FOLDER; two concurrent
            // creations cannot both pass a check, so the database refuses the second.
            ["CREATE UNIQUE INDEX versioned_object_directory_idx ON versioned_object (ehr_id) WHERE rm_type = 'FOLDER'"]
        },
        Migration(version: 5, description: "records without an EHR, change sequence, projections, template revisions") { kind in
            RecordsWithoutEHR.statements(kind) + ChangeLog.createStatements(kind) + ProjectionCatalog.createStatements
                + [
                    // The AQL index is rebuilt by its projection from the versions (Projections).
                    "DROP TABLE IF EXISTS aql_node",
                    "DROP TABLE IF EXISTS aql_composition",
                    "ALTER TABLE template ADD COLUMN revision TEXT",
                    "UPDATE template SET revision = template_id || ':' || created_at",
                ]
        },
        Migration(version: 6, description: "one EHR_ACCESS per EHR") { _ in
            // RM ehr package §EHR: EHR.ehr_access is one VERSIONED_EHR_ACCESS. The EHRs
            // made before it get theirs from the services, as audited contributions.
            ["CREATE UNIQUE INDEX versioned_object_access_idx ON versioned_object (ehr_id) WHERE rm_type = 'EHR_ACCESS'"]
        },
        Migration(version: 7, description: "item tags and their log") { _ in TagStore.createStatements },
        Migration(version: 8, description: "records in creation order") { _ in
            // A rebuild of a projection that follows many types (FHIR search: every
            // resource type) reads the records in creation order through this
            // index; through the one on (rm_type, …) each page sorted every
            // record left (914,000 FHIR resources: 100 a second, measured).
            ["CREATE INDEX versioned_object_created_idx ON versioned_object (time_created, object_id)"]
        },
        Migration(version: 9, description: "EHRs that are not queryable") { _ in
            // Population queries leave them out (EHR_STATUS.is_queryable): the
            // list is read once per query, from this index of the few there are.
            ["CREATE INDEX ehr_unqueryable_idx ON ehr (ehr_id) WHERE is_queryable = 0"]
        },
        Migration(version: 10, description: "commits checked in one statement") { kind in
            // PostgreSQL: a commit's statements run as one, which raises the
            // error of the first guard that fails through this function
            // (`PostgreSQLDatabase.runTogether`). SQLite runs them one by one.
            kind == .postgresql ? [PostgreSQLDatabase.refusalFunctionStatement] : []
        },
        Migration(version: 11, description: "documents compressed with LZ4 on PostgreSQL") { kind in
            // TOAST's default, pglz, was a tenth of the machine's time on IPS
            // commits; LZ4 compresses 8 times faster, and smaller (BENCHMARKS.md
            // §A commit in one statement, LZ4 documents, node rows as binary
            // arrays). Values already stored keep pglz; a server built without
            // LZ4 keeps pglz for all (SQLite compresses documents itself,
            // StoredDocument).
            kind == .postgresql
                ? [
                    """
                    DO $$ BEGIN
                        EXECUTE 'ALTER TABLE object_version ALTER COLUMN data SET COMPRESSION lz4';
                    EXCEPTION WHEN feature_not_supported THEN NULL;
                    END $$
                    """
                ] : []
        },
    ]

    /// The schema version this binary writes.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    /// Tables that hold one EHR's data, each with an `ehr_id` column.
    public static let ehrTables = ["object_version", "versioned_object", "contribution", "ehr", "item_tag", "item_tag_log"]

    /// Brings the schema up to date; returns the version it is at.
    @discardableResult
    public static func migrate(_ database: any SQLDatabase) async throws -> Int {
        try await database.migrate([
            "CREATE TABLE IF NOT EXISTS schema_migration (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)"
        ])
        var current = try await currentVersion(database)
        if current > latestVersion {
            throw StoreError(.schemaTooNew, "the database schema is at version \(current), newer than this Socle binary supports (\(latestVersion)); run a newer Socle")
        }
        for migration in all where migration.version > current {
            // The version row goes first: a second node migrating at the same
            // moment fails on its primary key and finds the work done.
            let now = ISODateTime.now().microsecondsSinceEpoch
            let statements =
                ["INSERT INTO schema_migration (version, description, applied_at) VALUES (\(migration.version), '\(migration.description)', \(now))"]
                + migration.statements(database.kind)
            do {
                try await database.migrate(statements)
            } catch {
                if try await currentVersion(database) < migration.version { throw error }
            }
            current = migration.version
        }
        return current
    }

    public static func currentVersion(_ database: any SQLDatabase) async throws -> Int {
        let rows = try await database.query("SELECT MAX(version) FROM schema_migration")
        return Int(rows.first?.int(0) ?? 0)
    }
}
