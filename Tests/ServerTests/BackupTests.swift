import Foundation
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// `socle backup`, `restore` and `verify` underneath: a SQLite backup taken
/// while writes go on is consistent (it verifies clean: every projection
/// agrees with its versions); a restore is refused while the database is
/// open, and for a damaged or newer backup; verify reports a version whose
/// bytes no longer parse and a projection that lost a row, on both engines.
@Suite("Backup, restore and verify")
struct BackupTests {
    static let committal = Committal(committer: .identified(name: "t"))

    static func patient(_ index: Int) throws -> JSON {
        try JSONParser.parse(#"{"resourceType": "Patient", "name": [{"family": "Backup\#(index)"}], "gender": "female"}"#)
    }

    @Test
    func aBackupDuringWritesIsConsistentAndRestores() async throws {
        try await TestDatabase.with(.sqlite) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test")
            for index in 0..<50 { _ = try await service.create(type: "Patient", resource: try Self.patient(index), committal: Self.committal) }
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-backup-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let copy = folder.appendingPathComponent("copy.sqlite").path
            // Writers keep committing while the backup runs.
            let writers = Task {
                var written = 0
                while !Task.isCancelled, written < 400 {
                    _ = try await service.create(type: "Patient", resource: try Self.patient(1000 + written), committal: Self.committal)
                    written += 1
                }
                return written
            }
            try await Task.sleep(for: .milliseconds(30))
            let summary = try database.store.backup(to: copy)
            let written = try await writers.value
            // Each FHIR Patient is several versions (its own, its EHR's); the patients are counted below.
            #expect(summary.versions >= 50, "\(summary.versions)")
            #expect(throws: StoreError.self) { try database.store.backup(to: copy) }

            // The copy is a consistent database: its projections agree with its versions.
            let restoredPath = folder.appendingPathComponent("restored.sqlite").path
            #expect(try SQLiteFiles.restore(from: copy, to: restoredPath).versions == summary.versions)
            let restored = Store(database: try SQLiteDatabase(path: restoredPath))
            let report = try await restored.verify()
            #expect(report.isClean && report.versionsRead == summary.versions, "\(report)")
            // A snapshot: the 50 patients made before, and some of the writers', none half-written (the projection agrees, above).
            let patients = report.projections.first { $0.name == "fhir_search" }?.projected ?? 0
            #expect(patients >= 50 && patients <= 50 + written, "\(patients) of \(50 + written)")
            // Refused while the target is open (here by `restored`), and for a backup that is not a Socle database.
            #expect(throws: StoreError.self) { try SQLiteFiles.restore(from: copy, to: restoredPath) }
            try await restored.close()
            let notSocle = folder.appendingPathComponent("other.txt").path
            try Data("hello".utf8).write(to: URL(fileURLWithPath: notSocle))
            #expect(throws: StoreError.self) { try SQLiteFiles.restore(from: notSocle, to: folder.appendingPathComponent("x.sqlite").path) }
        }
    }

    @Test
    func aBackupOfANewerSchemaIsRefused() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-backup-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("newer.sqlite").path
        let database = try SQLiteDatabase(path: path)
        let store = Store(database: database)
        try await store.prepare()
        try await database.transaction([
            SQLStatement("INSERT INTO schema_migration (version, description, applied_at) VALUES (?, 'from the future', 0)", [.integer(Int64(Migrations.latestVersion + 1))])
        ])
        try await store.close()
        do {
            _ = try SQLiteFiles.restore(from: path, to: folder.appendingPathComponent("target.sqlite").path)
            Issue.record("a newer schema was restored")
        } catch let error as StoreError {
            #expect(error.code == .schemaTooNew, "\(error)")
        }
    }

    /// A database without Socle's schema is refused with the reason, not a SQL error.
    @Test(arguments: TestEngine.available)
    func verifyRefusesADatabaseWithoutTheSchema(engine: TestEngine) async throws {
        let database = try await TestDatabase.make(engine, migrate: false)
        defer { Task { await database.remove() } }
        let error = await #expect(throws: StoreError.self) { _ = try await database.store.verify() }
        #expect(error?.message.contains("holds no Socle schema") == true, "\(String(describing: error))")
    }

    @Test(arguments: TestEngine.available)
    func verifyReportsDamageAndDisagreement(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test")
            var ids: [String] = []
            for index in 0..<3 { ids.append(try await service.create(type: "Patient", resource: try Self.patient(index), committal: Self.committal).id) }
            _ = try await service.delete(type: "Patient", id: ids[2], committal: Self.committal)
            let clean = try await database.store.verify(pageSize: 2)
            // The versions of the patients, the deletion, and of the EHR each FHIR Patient is given.
            #expect(clean.isClean && clean.versionsRead >= 4, "\(clean.damaged) \(clean.projections) \(clean.versionsRead)")
            #expect(clean.projections.first { $0.name == "fhir_search" } == .init(name: "fhir_search", projected: 2, expected: 2))
            #expect(clean.projections.first { $0.name == "aql_index" } == .init(name: "aql_index", projected: 0, expected: 0))

            try await database.database.transaction([
                SQLStatement("UPDATE object_version SET data = ? WHERE object_id = ?", [.blob(Array("{\"resourceType\": ".utf8)), .text("Patient/" + ids[0])]),
                SQLStatement("DELETE FROM fhir_resource WHERE id = ?", [.text(ids[1])]),
            ])
            let damaged = try await database.store.verify()
            #expect(!damaged.isClean)
            #expect(damaged.damaged.map(\.objectID) == ["Patient/" + ids[0]] && damaged.damaged.first?.versionNumber == 1, "\(damaged.damaged)")
            #expect(damaged.projections.first { $0.name == "fhir_search" } == .init(name: "fhir_search", projected: 1, expected: 2))
        }
    }
}
