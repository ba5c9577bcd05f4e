import Foundation
import Synchronization
import JSONCore

/// The append-only store of versions (ARCHITECTURE.md §Storage): versioned
/// objects, their original versions with canonical bytes, contributions and
/// their audits, the EHR rows, the change sequence and the erasure log.
/// Versions are never updated in place; the only deletion is `erase`.
/// Every commit also brings the projections up to date, in its own transaction.
public struct VersionStore: Sendable {
    let database: any SQLDatabase
    public let projections: Projections

    init(database: any SQLDatabase, projections: Projections) {
        self.database = database
        self.projections = projections
    }

    public var kind: DatabaseKind { database.kind }

    // MARK: Writing

    /// Commits one contribution atomically: the contribution row and its
    /// place in the change sequence, every version, the versioned-object
    /// bookkeeping, the EHR change and the projections' rows. Nothing is
    /// written if any part is refused.
    public func commit(_ contribution: ContributionRecord, versions: [VersionWrite], ehrChange: EHRChange? = nil) async throws {
        try await commit(contribution, versions: versions, ehrChanges: ehrChange.map { [$0] } ?? [])
    }

    /// The same, with several changes to the EHR row, applied in order.
    public func commit(_ contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange]) async throws {
        try await StoreMetrics.commit(versions: versions.count) {
            let use = versions.contains { $0.rmType == "COMPOSITION" } ? await projections.dictionaryUse() : nil
            do {
                try await database.transaction(statements(contribution, versions: versions, ehrChanges: ehrChanges, dictionaries: use))
            } catch let error as StoreError where use != nil && error == IndexSchema.dictionariesChanged {
                // Rebuilt since they were learnt: every entry, and the generation read again.
                projections.dictionaries.forget()
                try await database.transaction(statements(contribution, versions: versions, ehrChanges: ehrChanges))
                return
            }
            if let use { projections.dictionaries.learn(use.named.withLock { $0 }, generation: use.known.generation) }
        }
    }

    /// The statements of one commit, in order. The EHR's change, the
    /// contribution, its place in the change sequence, the template checks,
    /// the versions' rows and the independent rows of their projections
    /// touch distinct rows and read none the others write: they run together
    /// (`SQLStatement.together`, on PostgreSQL one statement, which a commit
    /// of one composition is whole), up to a statement that must come after
    /// them (a projection's that replaces rows, a FHIR condition's) or a
    /// second change to the same row.
    func statements(
        _ contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange], dictionaries: NodeDictionaryCache.Use? = nil
    ) -> [SQLStatement] {
        var batch = CommitStatements()
        let changes = ehrChanges.compactMap { change in contribution.ehrID.map { Self.statement(for: change, ehrID: $0) } }
        // Several changes to the EHR row apply in order, one after another.
        if changes.count > 1 { batch.after(changes) } else { batch.together(changes) }
        batch.together([
            Self.insertContribution(contribution),
            ChangeLog.insert(
                database.kind, change: .contribution, contributionID: contribution.contributionID, ehrID: contribution.ehrID,
                patientID: contribution.patientID, time: contribution.audit.timeCommitted),
        ])
        let projected = projectionStatements(versions, dictionaries: dictionaries)
        for (write, rows) in zip(versions, projected) {
            for condition in write.conditions {
                if case .templateRevision = condition { batch.together(Self.statements(for: condition, database.kind)) } else {
                    batch.after(Self.statements(for: condition, database.kind))
                }
            }
            batch.together([Self.versionedObjectStatement(write), Self.insertVersion(write.record, database.kind)], object: write.record.objectID)
            // A new object's projected rows are new rows (the AQL index's on PostgreSQL): they join the run.
            if !rows.isEmpty && rows.allSatisfy(\.independent) { batch.together(rows) } else { batch.after(rows) }
            batch.after(write.tags.flatMap(TagStore.statements))
        }
        return batch.finished()
    }

    /// The projections' statements of each write, in order. A large
    /// contribution (a FHIR transaction of a whole patient record) computes
    /// them on every core: the search index's values are FHIRPath work.
    func projectionStatements(_ versions: [VersionWrite], dictionaries: NodeDictionaryCache.Use? = nil) -> [[SQLStatement]] {
        guard versions.count >= 64 else { return versions.map { projectionStatements($0, dictionaries: dictionaries) } }
        let lanes = ProcessInfo.processInfo.activeProcessorCount
        let results = Mutex<[[SQLStatement]]>(Array(repeating: [], count: versions.count))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: versions.count, by: lanes) {
                let rows = projectionStatements(versions[index], dictionaries: dictionaries)
                results.withLock { $0[index] = rows }
            }
        }
        return results.withLock { $0 }
    }

    /// What every projection following the version's type makes of it.
    func projectionStatements(_ write: VersionWrite, dictionaries: NodeDictionaryCache.Use? = nil) -> [SQLStatement] {
        let following = projections.all.filter { $0.rmTypes?.contains(write.rmType) ?? true }
        guard !following.isEmpty else { return [] }
        let document = write.document ?? (write.record.data.isEmpty ? nil : try? JSONParser.parse(write.record.data))
        var version = ProjectedVersion(
            record: write.record, rmType: write.rmType, templateID: write.templateID, isCreation: write.kind == .create, document: document)
        version.dictionaries = dictionaries
        return following.flatMap { $0.statements(for: version, database.kind) }
    }

    static func versionedObjectStatement(_ write: VersionWrite) -> SQLStatement {
        let record = write.record
        switch write.kind {
        case .create:
            return SQLStatement(
                """
                INSERT INTO versioned_object (object_id, ehr_id, patient_id, rm_type, time_created, latest_version, template_id)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(record.objectID), SQLValue(record.ehrID), SQLValue(record.patientID), .text(write.rmType), .integer(record.audit.timeCommitted),
                    SQLValue(record.versionNumber), SQLValue(write.templateID),
                ],
                onUniqueViolation: StoreError(.conflict, "versioned object \(record.objectID) already exists"))
        case .update(let preceding):
            // The object must belong to the same EHR (or to none).
            return SQLStatement(
                "UPDATE versioned_object SET latest_version = ?, patient_id = ? WHERE object_id = ? AND COALESCE(ehr_id, '') = ? AND latest_version = ?",
                [SQLValue(record.versionNumber), SQLValue(record.patientID), .text(record.objectID), .text(record.ehrID ?? ""), SQLValue(preceding)],
                mustChangeOneRow: StoreError(
                    .preconditionFailed, "version \(preceding) of \(record.objectID) is not the latest version: it has been changed since"))
        }
    }

    static func statements(for condition: CommitCondition, _ kind: DatabaseKind) -> [SQLStatement] {
        switch condition {
        case .templateRevision(let templateID, let revision):
            [
                SQLStatement(
                    "SELECT 1 FROM template WHERE template_id = ? AND revision = ?", [.text(templateID), .text(revision)],
                    mustReturnRow: StoreError(.changed, "template \(templateID) was replaced or removed since it was read"))
            ]
        case .noFHIRMatch(let criteria):
            FHIRSearchStore.noMatchStatements(criteria, kind)
        }
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
        case .requireExisting:
            SQLStatement(
                "UPDATE ehr SET is_modifiable = is_modifiable WHERE ehr_id = ?", [.text(ehrID)],
                mustChangeOneRow: StoreError(.notFound, "EHR \(ehrID) no longer exists"))
        case .linkPatient(let patientID):
            SQLStatement(
                "UPDATE ehr SET patient_id = ? WHERE ehr_id = ? AND patient_id IS NULL", [.text(patientID), .text(ehrID)],
                mustChangeOneRow: StoreError(.conflict, "EHR \(ehrID) no longer exists or is already linked to a patient"),
                onUniqueViolation: StoreError(.conflict, "another EHR is already linked to \(patientID)"))
        }
    }

    static let subjectTaken = StoreError(.conflict, "another EHR already has this subject (subject_id and subject_namespace)")

    static func insertEHR(_ ehr: EHRRecord) -> SQLStatement {
        SQLStatement(
            """
            INSERT INTO ehr (ehr_id, system_id, time_created, status_object_id, subject_id, subject_namespace, is_queryable, is_modifiable, patient_id)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(ehr.ehrID), .text(ehr.systemID), .integer(ehr.timeCreated), .text(ehr.statusObjectID), SQLValue(ehr.subjectID),
                SQLValue(ehr.subjectNamespace), SQLValue(ehr.isQueryable), SQLValue(ehr.isModifiable), SQLValue(ehr.patientID),
            ],
            onUniqueViolation: StoreError(.conflict, "EHR \(ehr.ehrID) already exists, or another EHR already has this subject or patient"))
    }

    static func insertContribution(_ contribution: ContributionRecord) -> SQLStatement {
        let audit = contribution.audit
        return SQLStatement(
            """
            INSERT INTO contribution (contribution_id, ehr_id, patient_id, system_id, committer, time_committed, change_type, description)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(contribution.contributionID), SQLValue(contribution.ehrID), SQLValue(contribution.patientID), .text(audit.systemID),
                .text(audit.committer), .integer(audit.timeCommitted), .text(audit.changeType), SQLValue(audit.description),
            ],
            onUniqueViolation: StoreError(.conflict, "contribution \(contribution.contributionID) already exists"))
    }

    static func insertVersion(_ version: VersionRecord, _ kind: DatabaseKind) -> SQLStatement {
        let audit = version.audit
        return SQLStatement(
            """
            INSERT INTO object_version (object_id, version_number, ehr_id, patient_id, contribution_id, system_id, committer, time_committed,
                change_type, description, lifecycle_state, data)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                .text(version.objectID), SQLValue(version.versionNumber), SQLValue(version.ehrID), SQLValue(version.patientID),
                .text(version.contributionID), .text(audit.systemID), .text(audit.committer), .integer(audit.timeCommitted), .text(audit.changeType),
                SQLValue(audit.description), .text(version.lifecycleState), .blob(StoredDocument.encode(version.data, kind)),
            ],
            onUniqueViolation: StoreError(.preconditionFailed, "version \(version.versionNumber) of \(version.objectID) already exists"))
    }

    /// Several contributions in one transaction, each written as `commit`
    /// writes it (bulk loads: all of them or none).
    public func commit(batch: [(contribution: ContributionRecord, versions: [VersionWrite], ehrChanges: [EHRChange])]) async throws {
        try await StoreMetrics.commit(versions: batch.reduce(0) { $0 + $1.versions.count }) {
            try await database.transaction(batch.flatMap { statements($0.contribution, versions: $0.versions, ehrChanges: $0.ehrChanges) })
        }
    }
}

/// A commit's statements, those that may run together gathered into runs
/// (`SQLStatement.together`).
struct CommitStatements {
    private var statements: [SQLStatement] = []
    private var run: [SQLStatement] = []
    private var objects: Set<String> = []
    /// The names of the run's WITH queries, one list on PostgreSQL.
    private var names: Set<String> = []

    /// Statements that join the current run; a second version of an object
    /// already in it, or a WITH query of a name already in it, starts a new one.
    mutating func together(_ more: [SQLStatement], object: String? = nil) {
        let named = more.flatMap { $0.withQueries.map(\.name) }
        if object.map(objects.contains) == true || !names.isDisjoint(with: named) { close() }
        if let object { objects.insert(object) }
        names.formUnion(named)
        run += more
    }

    /// Statements that run after everything before them, one by one.
    mutating func after(_ more: [SQLStatement]) {
        guard !more.isEmpty else { return }
        close()
        statements += more
    }

    private mutating func close() {
        if !run.isEmpty { statements.append(.together(run)) }
        run = []
        objects = []
        names = []
    }

    mutating func finished() -> [SQLStatement] {
        close()
        return statements
    }
}
