import Foundation
import JSONCore
import OpenEHR
import Services
import SocleTestSupport
import Storage
import Testing

/// The use cases without HTTP: what each refuses, and with which kind of error.
@Suite("Services")
struct ServicesTests {
    struct Fixture {
        let ehrs: EHRService
        let templates: TemplateService
        let compositions: CompositionService
        let contributions: ContributionService
        let directories: DirectoryService
        let store: VersionStore
        let all: Store
        let committal = Committal(committer: .identified(name: "service-test"))

        init(_ database: TestDatabase) {
            all = database.store
            store = database.store.versions
            ehrs = EHRService(store: store, systemID: "services.test")
            templates = TemplateService(store: database.store.templates)
            compositions = CompositionService(store: store, templates: templates, systemID: "services.test")
            directories = DirectoryService(store: store, systemID: "services.test")
            contributions = ContributionService(store: store, compositions: compositions, ehrs: ehrs, directories: directories, systemID: "services.test")
        }
    }

    static let bloodPressure: JSON = {
        let url = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json")
        return try! JSONParser.parse(Array(try! Data(contentsOf: url)))
    }()
    static let bloodPressureOPT = Array(
        try! Data(contentsOf: Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")))

    @Test(arguments: TestEngine.available)
    func ehrCreationRefusesATakenIDOrSubject(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = Fixture(database)
            let id = UUIDText.random()
            let subject = PartyReference(id: ObjectID(rmType: "GENERIC_ID", value: "ins-42", scheme: "INS"), namespace: "patients", type: "PERSON")
            let (summary, status) = try await services.ehrs.createEHR(id: id, status: EHRStatus(subject: PartyProxy(kind: .self, externalRef: subject)), committal: services.committal)
            #expect(summary.record.ehrID == id)
            #expect(status.uid.versionNumber == 1)
            await #expect(throws: ServiceError(.conflict, "EHR \(id) already exists")) {
                try await services.ehrs.createEHR(id: id, status: nil, committal: services.committal)
            }
            do {
                _ = try await services.ehrs.createEHR(status: EHRStatus(subject: PartyProxy(kind: .self, externalRef: subject)), committal: services.committal)
                Issue.record("a second EHR for the same subject was created")
            } catch let error as ServiceError {
                #expect(error.kind == .conflict)
                #expect(error.message.contains("ins-42"))
            }
            #expect(try await services.ehrs.ehr(subjectID: "ins-42", subjectNamespace: "patients").record.ehrID == id)
        }
    }

    @Test(arguments: TestEngine.available)
    func compositionsNeedAKnownTemplate(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = Fixture(database)
            let (ehr, _) = try await services.ehrs.createEHR(status: nil, committal: services.committal)
            do {
                _ = try await services.compositions.create(ehrID: ehr.record.ehrID, json: Self.bloodPressure, committal: services.committal)
                Issue.record("a composition with an unknown template was committed")
            } catch let error as ServiceError {
                #expect(error.kind == .unprocessable)
                #expect(error.problems.map(\.path) == ["/archetype_details/template_id/value"])
            }
            try await services.templates.upload(Self.bloodPressureOPT)
            let version = try await services.compositions.create(ehrID: ehr.record.ehrID, json: Self.bloodPressure, committal: services.committal)
            #expect(version.uid.creatingSystemID == "services.test")
            #expect(version.record.audit.changeType == AuditChangeType.creation.rawValue)
            // The stored bytes carry the assigned uid and explicit types.
            let stored = try JSONParser.parse(version.record.data)
            #expect(stored["uid"]?["value"]?.stringValue == version.uid.description)
            #expect(stored["archetype_details"]?["_type"]?.stringValue == "ARCHETYPED")
        }
    }

    /// The ids Socle assigns inside an EHR (versioned objects, contributions) are
    /// time-ordered (RFC 9562 version 7), so that commits append to their indexes;
    /// an EHR's own id stays random (version 4): it leaves the record, and its
    /// creation time with it would.
    @Test(arguments: TestEngine.available)
    func idsInsideAnEHRAreTimeOrderedTheEHRsIsRandom(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = Fixture(database)
            try await services.templates.upload(Self.bloodPressureOPT)
            let before = ISODateTime.now().microsecondsSinceEpoch / 1000
            let (ehr, status) = try await services.ehrs.createEHR(status: nil, committal: services.committal)
            let version = try await services.compositions.create(ehrID: ehr.record.ehrID, json: Self.bloodPressure, committal: services.committal)
            let after = ISODateTime.now().microsecondsSinceEpoch / 1000
            func kind(_ id: String) -> Character { Array(id)[14] }
            func millis(_ id: String) -> Int64? { Int64(id.replacingOccurrences(of: "-", with: "").prefix(12), radix: 16) }
            #expect(kind(ehr.record.ehrID) == "4")
            for id in [version.uid.objectID, version.record.contributionID, status.uid.objectID] {
                #expect(kind(id) == "7", "\(id)")
                #expect(millis(id).map { $0 >= before && $0 <= after } == true, "\(id)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func templatesInMemoryFollowTheStore(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = Fixture(database)
            let template = try await services.templates.upload(Self.bloodPressureOPT)
            #expect(try await services.templates.template(template.templateID)?.concept == template.concept)
            // A second service on the same database reads it from the store.
            let other = TemplateService(store: database.store.templates)
            #expect(try await other.template(template.templateID)?.rootArchetypeID == "openEHR-EHR-COMPOSITION.sample_encounter.v1")
            try await services.templates.delete(templateID: template.templateID)
            #expect(try await services.templates.template(template.templateID) == nil)
            await #expect(throws: ServiceError.self) { try await services.templates.upload([UInt8]("<template/>".utf8)) }
        }
    }

    @Test(arguments: TestEngine.available)
    func contributionAuditNamesItsCommitter(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = Fixture(database)
            try await services.templates.upload(Self.bloodPressureOPT)
            let (ehr, _) = try await services.ehrs.createEHR(status: nil, committal: services.committal)
            let body: JSON = [
                "versions": [["data": Self.bloodPressure, "commit_audit": ["description": ["value": "from the lab"]]]],
                "audit": ["committer": ["_type": "PARTY_IDENTIFIED", "name": "Lab feed"]],
            ]
            let id = try await services.contributions.commit(ehrID: ehr.record.ehrID, json: body, committal: services.committal)
            let contribution = try #require(try await services.store.contribution(id))
            #expect(contribution.audit.committer.contains("Lab feed"))
            let versions = try await services.store.versions(inContribution: id)
            #expect(versions.count == 1)
            #expect(versions.first?.audit.committer.contains("Lab feed") == true)
            #expect(versions.first?.audit.description == "from the lab")
        }
    }
}

@Suite("Services: EHR_ACCESS")
struct EHRAccessTests {
    /// RM 1.1.0 ehr package §EHR creation semantics: an EHR is created with
    /// its EHR_STATUS and its EHR_ACCESS. EHRs made before Socle kept one
    /// (schema 5) get theirs at start, each as an audited contribution.
    @Test(arguments: TestEngine.available)
    func everyEHRGetsItsAccessObjectOnce(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = ServicesTests.Fixture(database)
            let (made, _) = try await services.ehrs.createEHR(status: nil, committal: services.committal)
            let access = try #require(made.access)
            #expect(access.versionNumber == 1)
            #expect(try await services.store.versionedObject(access.objectID)?.rmType == "EHR_ACCESS")
            #expect(try await services.ehrs.createMissingAccess() == 0)

            // An EHR as schema 5 made them: its row and its EHR_STATUS only.
            let old = UUIDText.random()
            let statusID = UUIDText.random()
            let audit = AuditRecord(systemID: "services.test", committer: "{}", timeCommitted: 1, changeType: "creation", description: nil)
            let contribution = ContributionRecord(contributionID: UUIDText.random(), ehrID: old, audit: audit)
            let status = VersionRecord(
                objectID: statusID, versionNumber: 1, ehrID: old, contributionID: contribution.contributionID, audit: audit,
                lifecycleState: "532", data: JSONSerializer.bytes(EHRStatus().json))
            try await services.store.commit(
                contribution, versions: [.create(status, rmType: "EHR_STATUS")],
                ehrChange: .create(
                    EHRRecord(
                        ehrID: old, systemID: "services.test", timeCreated: 1, statusObjectID: statusID, subjectID: nil, subjectNamespace: nil,
                        isQueryable: true, isModifiable: false)))
            #expect(try await services.ehrs.ehr(old).access == nil)
            #expect(try await services.ehrs.createMissingAccess(batch: 1) == 1)
            let given = try #require(try await services.ehrs.ehr(old).access)
            let version = try #require(try await services.store.latestVersion(objectID: given.objectID))
            #expect(version.audit.committer.contains("Socle"))
            #expect(version.audit.changeType == AuditChangeType.creation.rawValue)
            #expect(try JSONParser.parse(version.data)["_type"]?.stringValue == "EHR_ACCESS")
            #expect(try await services.ehrs.createMissingAccess() == 0)
        }
    }
}
