import OpenEHR
import SocleTestSupport
import Storage
import Testing

/// Versioned objects that belong to no EHR (the FHIR master data to come:
/// Patient, Practitioner …) in the same version store, with contributions
/// and audit; each version may name the patient it concerns, and erasing the
/// patient (or their EHR) erases every record about them.
@Suite("Records without an EHR")
struct RecordsWithoutEHRTests {
    static func audit(_ change: String = "249") -> AuditRecord {
        AuditRecord(systemID: "socle.test", committer: #"{"_type":"PARTY_IDENTIFIED","name":"tester"}"#, timeCommitted: ISODateTime.now().microsecondsSinceEpoch, changeType: change, description: nil)
    }

    /// A resource version of no EHR, concerning `patient`.
    static func resource(_ id: String, _ number: Int, patient: String?, contribution: ContributionRecord, body: String = "{}") -> VersionRecord {
        VersionRecord(
            objectID: id, versionNumber: number, ehrID: nil, patientID: patient, contributionID: contribution.contributionID, audit: contribution.audit,
            lifecycleState: "532", data: Array(body.utf8))
    }

    @Test(arguments: TestEngine.available)
    func areCommittedVersionedAndRead(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, projections: ProjectionTests.withLedger) { test in
            let store = test.store.versions
            let first = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, patientID: "Patient/1", audit: Self.audit())
            try await store.commit(first, versions: [.create(Self.resource("Patient/1", 1, patient: "Patient/1", contribution: first, body: #"{"v":1}"#), rmType: "Patient")])
            let second = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, patientID: "Patient/1", audit: Self.audit("251"))
            try await store.commit(
                second, versions: [.update(Self.resource("Patient/1", 2, patient: "Patient/1", contribution: second, body: #"{"v":2}"#), rmType: "Patient", precedingVersion: 1)])
            // Optimistic concurrency as for EHR content.
            await #expect(throws: StoreError.self) {
                try await store.commit(
                    second, versions: [.update(Self.resource("Patient/1", 2, patient: "Patient/1", contribution: second), rmType: "Patient", precedingVersion: 1)])
            }
            let object = try #require(try await store.versionedObject("Patient/1"))
            #expect(object.ehrID == nil && object.patientID == "Patient/1" && object.rmType == "Patient" && object.latestVersion == 2)
            #expect(try await store.latestVersion(objectID: "Patient/1")?.data == Array(#"{"v":2}"#.utf8))
            #expect(try await store.versionHistory(objectID: "Patient/1").map(\.audit.changeType) == ["249", "251"])
            #expect(try await store.contribution(first.contributionID)?.patientID == "Patient/1")
            #expect(try await store.contribution(first.contributionID)?.ehrID == nil)
            // Projections follow them as any other record.
            #expect(try await test.ledger()["Patient/1"] == 2)
        }
    }

    /// Erasing an EHR erases its patient's records too, wherever they are;
    /// a contribution that also committed another patient's record stays,
    /// with that record only. Erasing a patient without an EHR works alike.
    @Test(arguments: TestEngine.available)
    func areErasedWithTheirPatient(engine: TestEngine) async throws {
        try await TestDatabase.with(engine, projections: ProjectionTests.withLedger) { test in
            let store = test.store.versions
            // Patient/1 has an EHR linked to it; Patient/2 has none.
            var ehr = EHRFixture()
            ehr.patientID = "Patient/1"
            try await ehr.create(in: store)
            let masterData = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, audit: Self.audit())
            try await store.commit(
                masterData,
                versions: [
                    .create(Self.resource("Patient/1", 1, patient: "Patient/1", contribution: masterData), rmType: "Patient"),
                    .create(Self.resource("Patient/2", 1, patient: "Patient/2", contribution: masterData), rmType: "Patient"),
                ])
            let observation = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, patientID: "Patient/1", audit: Self.audit())
            try await store.commit(observation, versions: [.create(Self.resource("Observation/7", 1, patient: "Patient/1", contribution: observation), rmType: "Observation")])
            // A record moved from Patient/1 to Patient/2: its first version still names Patient/1.
            let moved = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, audit: Self.audit())
            try await store.commit(moved, versions: [.create(Self.resource("Observation/8", 1, patient: "Patient/1", contribution: moved), rmType: "Observation")])
            let move = ContributionRecord(contributionID: UUIDText.random(), ehrID: nil, audit: Self.audit("251"))
            try await store.commit(
                move, versions: [.update(Self.resource("Observation/8", 2, patient: "Patient/2", contribution: move), rmType: "Observation", precedingVersion: 1)])

            try await store.erase(ehrID: ehr.ehrID, erasureID: "erasure-1", erasedAt: 100, erasedBy: "admin")

            for id in [ehr.statusID, "Patient/1", "Observation/7", "Observation/8"] {
                #expect(try await store.versionedObject(id) == nil, "\(id)")
                #expect(try await store.versionHistory(objectID: id).isEmpty, "\(id)")
            }
            #expect(try await store.versionedObject("Patient/2")?.latestVersion == 1)
            #expect(try await store.ehr(ehr.ehrID) == nil)
            // The shared contribution stays, with Patient/2's version only; the others are gone.
            #expect(try await store.versions(inContribution: masterData.contributionID).map(\.objectID) == ["Patient/2"])
            #expect(try await store.contribution(observation.contributionID) == nil)
            #expect(try await store.contribution(moved.contributionID) == nil)
            #expect(try await test.ledger().keys.sorted() == ["Patient/2"])
            let log = try #require(try await store.erasures(ehrID: ehr.ehrID).first)
            #expect(log.patientID == "Patient/1" && log.versionsErased == 5 && log.contributionsErased == 4)

            // Patient/2, who has no EHR, by patient id.
            try await store.erase(patientID: "Patient/2", erasureID: "erasure-2", erasedAt: 200, erasedBy: "admin")
            #expect(try await store.versionedObject("Patient/2") == nil)
            #expect(try await store.contribution(masterData.contributionID) == nil)
            #expect(try await store.erasures(patientID: "Patient/2").first?.versionsErased == 1)
            await #expect(throws: StoreError(.notFound, "no record concerns patient Patient/2")) {
                try await store.erase(patientID: "Patient/2", erasureID: "erasure-3", erasedAt: 300, erasedBy: "admin")
            }
            for table in ["object_version", "versioned_object", "contribution", "ehr"] {
                #expect(try await test.database.query("SELECT COUNT(*) FROM \(table)").first?.int(0) == 0, "\(table)")
            }
        }
    }
}
