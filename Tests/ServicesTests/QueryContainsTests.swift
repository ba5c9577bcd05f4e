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
}
