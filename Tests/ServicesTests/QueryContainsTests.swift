import AQL
import Foundation
import JSONCore
import OpenEHR
import Services
import SocleTestSupport
import Storage
import Testing

/// Issue 19 §2: CONTAINS over every RM class a composition holds (AQL 1.1
/// §4.2.3 and the "Containment" section: any class of the RM, abstract ones
/// matching their concrete subtypes), on the EHRbase conformance template's
/// maximal composition, which has one of each.
extension QueryServiceTests {
    static func conformanceMaximum(_ database: TestDatabase) async throws -> ServicesTests.Fixture {
        let services = ServicesTests.Fixture(database)
        let folder = Corpus.root.appendingPathComponent("openehr")
        _ = try await services.templates.upload(
            Array(try Data(contentsOf: folder.appendingPathComponent("templates/valid/aql_data_load/conformance_ehrbase.de.v0.opt"))))
        let ehr = try await services.ehrs.createEHR(status: nil, committal: services.committal).0.record.ehrID
        let composition = try JSONParser.parse(
            Array(try Data(contentsOf: folder.appendingPathComponent("compositions/canonical_json/aql_data_load/conformance_ehrbase.de.v0_max.json"))))
        _ = try await services.compositions.create(ehrID: ehr, json: composition, committal: services.committal)
        // And a composition without any of them but its context.
        _ = try await services.templates.upload(ServicesTests.bloodPressureOPT)
        _ = try await services.compositions.create(ehrID: ehr, json: ServicesTests.bloodPressure, committal: services.committal)
        return services
    }

    @Test(arguments: TestEngine.available)
    func containsEveryClassOfAComposition(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let services = try await Self.conformanceMaximum(database)
            let query = QueryService(store: services.all, systemID: "services.test")
            func run(_ q: String) async throws -> [[JSON]] {
                let result = try await query.execute(QueryService.Request(q: q))
                return result["rows"]?.arrayValue?.map { $0.arrayValue ?? [] } ?? []
            }
            func count(_ contained: String) async throws -> JSON? {
                try await run("SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c CONTAINS \(contained)").first?.first
            }
            // Concrete classes that are neither LOCATABLE nor data values.
            #expect(try await count("EVENT_CONTEXT x") == .number("2"))
            #expect(try await count("FEEDER_AUDIT fa") == .number("5"))
            #expect(try await count("ISM_TRANSITION i") == .number("1"))
            // LOCATABLE classes, and abstract classes by their subtypes.
            #expect(try await count("ITEM_TREE t") == .number("15"))
            #expect(try await count("ITEM_LIST t") == .number("1"))
            #expect(try await count("ITEM_STRUCTURE t") == .number("16"))
            #expect(try await count("ENTRY en") == .number("6"))
            #expect(try await count("CARE_ENTRY en") == .number("5"))
            #expect(try await count("EVENT ev") == .number("4"))
            #expect(try await count("ACTION a CONTAINS ISM_TRANSITION i") == .number("1"))
            #expect(try await count("OBSERVATION o CONTAINS ISM_TRANSITION i") == .number("0"))
            let contexts = try await run("SELECT x/location, x/setting/defining_code/code_string FROM EHR e CONTAINS COMPOSITION c CONTAINS EVENT_CONTEXT x WHERE x/location = 'microbiology lab 2'")
            #expect(contexts == [["microbiology lab 2", "238"]], "\(contexts)")
            let audits = try await run("SELECT fa/originating_system_audit/system_id FROM EHR e CONTAINS ACTION a CONTAINS FEEDER_AUDIT fa")
            #expect(audits == [["orig"]])
            let transition = try await run(
                "SELECT i/current_state/defining_code/code_string, i/transition/value FROM EHR e CONTAINS ACTION a CONTAINS ISM_TRANSITION i WHERE i/careflow_step/defining_code/code_string = 'at0006'")
            #expect(transition == [["532", "finish"]])
            let whole = try await run("SELECT i FROM EHR e CONTAINS COMPOSITION c CONTAINS ISM_TRANSITION i")
            #expect(whole.first?.first?["_type"] == "ISM_TRANSITION" && whole.first?.first?["reason"]?.arrayValue?.first?["value"] == "reason 1")
        }
    }

    /// EHR_STATUS contained in an EHR or alone in FROM: the latest version of
    /// each EHR's status, its attributes read from its stored JSON.
    @Test(arguments: TestEngine.available)
    func ehrStatusIsContained(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            let subject = PartyReference(id: ObjectID(rmType: "GENERIC_ID", value: "ins-42", scheme: "INS"), namespace: "patients", type: "PERSON")
            let (summary, first) = try await f.services.ehrs.createEHR(
                status: EHRStatus(subject: PartyProxy(kind: .self, externalRef: subject), isModifiable: false), committal: f.services.committal)
            let ehrC = summary.record.ehrID
            let found = try await f.run(
                "SELECT e/ehr_id/value, s/subject/external_ref/id/value, s/is_modifiable, s/uid/value FROM EHR e CONTAINS EHR_STATUS s WHERE s/subject/external_ref/id/value = 'ins-42'")
            #expect(found.count == 1 && found.first?[0] == .string(ehrC) && found.first?[1] == "ins-42" && found.first?[2] == false, "\(found)")
            #expect(found.first?[3].stringValue?.hasSuffix("::1") == true)
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e CONTAINS EHR_STATUS s") == [[.number("3")]])
            // Grouped by a value read from the stored JSON.
            #expect(try await f.run("SELECT s/is_modifiable AS modifiable, COUNT(*) AS n FROM EHR_STATUS s ORDER BY modifiable") == [[false, .number("1")], [true, .number("2")]])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR_STATUS s WHERE s/is_modifiable = true") == [[.number("2")]])
            let unmodifiable = try await f.run(
                "SELECT e/ehr_id/value FROM EHR e CONTAINS EHR_STATUS s[openEHR-EHR-EHR_STATUS.generic.v1] WHERE s/is_modifiable = false")
            #expect(unmodifiable == [[.string(ehrC)]])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e CONTAINS EHR_STATUS s[openEHR-EHR-EHR_STATUS.other.v1]") == [[.number("0")]])
            // Beside the compositions of the same EHR.
            let beside = try await f.run(
                "SELECT c/uid/value FROM EHR e CONTAINS (EHR_STATUS s AND COMPOSITION c) WHERE s/is_modifiable = true AND e/ehr_id/value = '\(f.ehrB)'")
            #expect(beside.count == 2)
            // The whole object, and the latest version once the status changes.
            let whole = try await f.run("SELECT s FROM EHR e[ehr_id/value = '\(ehrC)'] CONTAINS EHR_STATUS s")
            #expect(whole.first?.first?["_type"] == "EHR_STATUS" && whole.first?.first?["subject"]?["external_ref"]?["id"]?["value"] == "ins-42")
            _ = try await f.services.ehrs.updateStatus(
                ehrID: ehrC, precedingVersionUID: first.uid.description,
                status: EHRStatus(subject: PartyProxy(kind: .self, externalRef: subject), isModifiable: true), committal: f.services.committal)
            #expect(try await f.run("SELECT COUNT(*) FROM EHR_STATUS s WHERE s/is_modifiable = true") == [[.number("3")]])
            let latest = try await f.run("SELECT s/uid/value FROM EHR e[ehr_id/value = '\(ehrC)'] CONTAINS EHR_STATUS s")
            #expect(latest.count == 1 && latest.first?.first?.stringValue?.hasSuffix("::2") == true, "\(latest)")
        }
    }

    /// FOLDER (AQL 1.1 §4.2.3): the folders of each EHR's directory, at any
    /// depth, and the compositions their items (and their subfolders' items) name.
    @Test(arguments: TestEngine.available)
    func foldersContainTheirSubfoldersAndCompositions(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            func reference(_ systolic: String, version: Bool = false) -> JSON {
                let id = (f.compositions[systolic] ?? "") + (version ? "::services.test::1" : "")
                return ["_type": "OBJECT_REF", "namespace": "local", "type": "VERSIONED_COMPOSITION", "id": ["_type": version ? "OBJECT_VERSION_ID" : "HIER_OBJECT_ID", "value": .string(id)]]
            }
            func folder(_ nodeID: String, _ name: String, items: [JSON], folders: [JSON] = []) -> JSON {
                let folder: JSON = ["_type": "FOLDER", "archetype_node_id": .string(nodeID), "name": ["_type": "DV_TEXT", "value": .string(name)], "items": .array(items)]
                guard !folders.isEmpty, case .object(var object) = folder else { return folder }
                object["folders"] = .array(folders)
                return .object(object)
            }
            let visit = folder("at0001", "Visit", items: [reference("170")])
            let episode = folder("openEHR-EHR-FOLDER.episode_of_care.v1", "Episode 1", items: [reference("150"), reference("170", version: true)], folders: [visit])
            let root = folder("openEHR-EHR-FOLDER.generic.v1", "root", items: [reference("120")], folders: [episode])
            let created = try await f.services.directories.create(ehrID: f.ehrA, json: root, committal: f.services.committal)
            func systolics(_ from: String) async throws -> [Double] {
                try await f.numbers("SELECT \(Self.systolic) FROM EHR e CONTAINS \(from) CONTAINS COMPOSITION c CONTAINS \(Self.bloodPressure)").sorted()
            }
            #expect(try await f.run("SELECT f/name/value FROM EHR e CONTAINS FOLDER f ORDER BY f/name/value") == [["Episode 1"], ["Visit"], ["root"]])
            #expect(try await systolics("FOLDER f[openEHR-EHR-FOLDER.generic.v1]") == [120, 150, 170])
            // 170 is named twice under the episode (in it and in its subfolder): one row.
            #expect(try await systolics("FOLDER f[openEHR-EHR-FOLDER.episode_of_care.v1]") == [150, 170])
            #expect(try await systolics("FOLDER f[name/value = 'Visit']") == [170])
            #expect(try await systolics("FOLDER f[openEHR-EHR-FOLDER.generic.v1] CONTAINS FOLDER g[at0001]") == [170])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e CONTAINS FOLDER f CONTAINS FOLDER g") == [[.number("3")]])
            #expect(try await f.run("SELECT f/name/value AS folder, COUNT(c) AS n FROM EHR e CONTAINS FOLDER f CONTAINS COMPOSITION c ORDER BY folder") == [
                ["Episode 1", .number("2")], ["Visit", .number("1")], ["root", .number("3")],
            ])
            #expect(try await f.run("SELECT g/name/value FROM EHR e CONTAINS FOLDER f CONTAINS FOLDER g WHERE f/archetype_node_id = 'openEHR-EHR-FOLDER.episode_of_care.v1'") == [["Visit"]])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e CONTAINS FOLDER f WHERE e/ehr_id/value = '\(f.ehrB)'") == [[.number("0")]])
            let whole = try await f.run("SELECT f FROM EHR e CONTAINS FOLDER f[at0001]")
            #expect(whole.first?.first?["_type"] == "FOLDER" && whole.first?.first?["items"]?.arrayValue?.count == 1)
            // From the stored JSON: the root folder's uid, which the directory service gives it.
            let uid = try await f.run("SELECT f/uid/value FROM EHR e CONTAINS FOLDER f WHERE f/name/value = 'root'")
            #expect(uid.first?.first?.stringValue?.isEmpty == false, "\(uid)")
            // The latest version only: the episode closed, its subfolder gone.
            _ = try await f.services.directories.update(
                ehrID: f.ehrA, precedingVersionUID: created.uid.description,
                json: folder("openEHR-EHR-FOLDER.generic.v1", "root", items: [reference("120")], folders: [folder("openEHR-EHR-FOLDER.episode_of_care.v1", "Episode 1", items: [reference("150")])]),
                committal: f.services.committal)
            #expect(try await systolics("FOLDER f[openEHR-EHR-FOLDER.generic.v1]") == [120, 150])
            #expect(try await f.run("SELECT COUNT(*) FROM EHR e CONTAINS FOLDER f") == [[.number("2")]])
            // A projection: rebuilt from the versions to the same rows; erased with its EHR.
            let before = try await database.rowCounts()
            #expect(before["aql_folder"] == 2 && before["aql_folder_item"] == 2)
            #expect(try await database.store.projections.rebuild(AQLFolderProjection.name, owner: "test", force: true))
            #expect(try await database.rowCounts() == before)
            #expect(try await systolics("FOLDER f[openEHR-EHR-FOLDER.generic.v1]") == [120, 150])
            try await AdminService(store: f.services.all).eraseEHR(f.ehrA, by: "test")
            let after = try await database.rowCounts()
            #expect(after["aql_folder"] == 0 && after["aql_folder_item"] == 0)
        }
    }

    /// EHR_STATUS and FOLDER where they cannot stand, and what cannot be read
    /// from them: each a 400 that says why, on both engines.
    @Test(arguments: TestEngine.available)
    func statusesAndFoldersMisusedAreRefused(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let f = try await Fixture(database)
            let refusals = [
                ("SELECT s FROM EHR e CONTAINS COMPOSITION c CONTAINS EHR_STATUS s", "EHR_STATUS can only be contained in an EHR"),
                ("SELECT c FROM EHR e CONTAINS EHR_STATUS s CONTAINS COMPOSITION c", "COMPOSITION inside EHR_STATUS is not supported"),
                ("SELECT f FROM EHR e CONTAINS COMPOSITION c CONTAINS FOLDER f", "FOLDER can only be contained in an EHR or in a FOLDER"),
                ("SELECT s/other_details/items[at0001]/value FROM EHR_STATUS s", "a predicate inside EHR_STATUS is not supported"),
                ("SELECT f/details/items[at0001]/value FROM EHR e CONTAINS FOLDER f", "a predicate inside FOLDER is not supported"),
                ("SELECT f FROM EHR e CONTAINS FOLDER f[name/value > 'a']", "unsupported predicate on FOLDER"),
                ("SELECT s FROM EHR e CONTAINS EHR_STATUS s[name/value = 'x']", "unsupported predicate on EHR_STATUS"),
                ("SELECT f FROM EHR e CONTAINS FOLDER f WHERE f/items/id/value = 'x'", "crosses 'items', which holds a list"),
                ("SELECT MAX(s) FROM EHR_STATUS s", "MAX of 's', an RM object that is not a data value"),
            ]
            for (q, reason) in refusals {
                do {
                    _ = try await f.run(q)
                    Issue.record("accepted: \(q)")
                } catch let error as ServiceError {
                    #expect(error.kind == .badRequest && error.message.contains(reason), "\(q): \(error.message)")
                }
            }
        }
    }
}
