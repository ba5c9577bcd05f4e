import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// One record, two faces (issue 15 §3, docs/architecture.md §Mapped reads):
/// a composition of a template a loaded FHIRconnect context maps is a set of
/// FHIR resources, found by FHIR search as soon as the openEHR commit returns,
/// read with the composition version's `meta`, changed and deleted with it,
/// and not writable through FHIR (its composition is).
@Suite("FHIR REST: compositions seen through their mappings")
struct FHIRMappedReadsTests {
    static let json = FHIRRoutesTests.json
    static let template = "Blood Pressure"

    /// openFHIR's blood-pressure composition (three events, "First bp" …), in FLAT, without its uid.
    static func flat(systolic: Double? = nil) throws -> String {
        let file = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/blood_pressure/blood-pressure_flat.json")
        guard case .object(var flat) = try JSONParser.parse(Array(try Data(contentsOf: file))) else { return "" }
        flat["blood_pressure/_uid"] = nil  // a new composition each time
        if let systolic { flat["blood_pressure/blood_pressure/any_event:0/systolic|magnitude"] = .number(String(systolic)) }
        return JSONSerializer.string(.object(flat))
    }

    /// A server with openFHIR's blood-pressure mappings and template, and a
    /// Patient with its EHR.
    static func withMappedServer(_ engine: TestEngine, _ body: @Sendable (TestServer, _ ehrID: String) async throws -> Void) async throws {
        let folder = try MappingsAdminTests.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await TestServer.with(engine, configure: { $0.mappings = .folder(folder) }) { server in
            let opt = try String(contentsOf: Corpus.root.appendingPathComponent("fhir/mappings/openfhir/blood_pressure/Blood Pressure.opt"), encoding: .utf8)
            let upload = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: opt)
            #expect(upload.status == .created, "\(upload.body)")
            let patient = try await server.send(.put, "/fhir/Patient/bp-1", headers: Self.json, body: #"{"resourceType": "Patient", "id": "bp-1"}"#)
            #expect(patient.status == .created, "\(patient.body)")
            let ehr = try await FHIRPatientEHRTests.ehr(server, patient: "bp-1")
            try await body(server, try #require(ehr.json["ehr_id"]?["value"]?.stringValue))
        }
    }

    static func observations(_ server: TestServer, _ query: String) async throws -> [JSON] {
        let reply = try await server.send(.get, "/fhir/Observation?\(query)", headers: Self.json)
        #expect(reply.status == .ok, "\(reply.body)")
        return reply.json["entry"]?.arrayValue?.compactMap { $0["resource"] } ?? []
    }

    static func systolic(_ observation: JSON?) -> String? {
        let component = observation?["component"]?.arrayValue?.first { $0["code"]?["coding"]?.arrayValue?.first?["code"] == "8480-6" }
        if case .number(let value)? = component?["valueQuantity"]?["value"] { return value }
        return nil
    }

    @Test(arguments: TestEngine.available)
    func aCompositionCommittedThroughOpenEHRIsFoundByFHIRSearch(engine: TestEngine) async throws {
        try await Self.withMappedServer(engine) { server, ehrID in
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=\(Self.template.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")",
                body: try Self.flat())
            #expect(created.status == .created, "\(created.body)")
            let uid = try #require(created.eTag)
            let objectID = String(uid.prefix { $0 != ":" })

            // The patient's observations: the three events, with their components, subject and version.
            let found = try await Self.observations(server, "patient=Patient/bp-1")
            #expect(found.count == 3)
            #expect(Set(found.compactMap { $0["id"]?.stringValue }) == ["\(objectID)-1", "\(objectID)-2", "\(objectID)-3"])
            let first = try #require(found.first { $0["code"]?["text"] == "First bp" })
            #expect(first["subject"]?["reference"] == "Patient/bp-1")
            #expect(first["meta"]?["versionId"] == "1")
            #expect(first["component"]?.arrayValue?.count == 3)
            #expect(Self.systolic(first) == "500.0")
            // By a component's LOINC code and value (R4 Observation search parameters); openFHIR's
            // mapping writes the code without its system.
            #expect(try await Self.observations(server, "component-code=8480-6&patient=bp-1").count == 3)
            #expect(try await Self.observations(server, "component-value-quantity=gt650&code:text=third").count == 1)
            // Read by id; its compartment lists it.
            let id = try #require(first["id"]?.stringValue)
            let read = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(read.status == .ok && read.json["code"]?["text"] == "First bp", "\(read.body)")
            #expect(read.eTag?.contains("1") == true)
            #expect(try await server.send(.get, "/fhir/Patient/bp-1/Observation", headers: Self.json).json["total"] == 3)
            // An openEHR update is a new version of the same resources.
            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)?format=FLAT&templateId=\(Self.template.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")",
                headers: ["If-Match": uid], body: try Self.flat(systolic: 123))
            #expect(updated.status == .noContent, "\(updated.body)")
            let after = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(Self.systolic(after.json) == "123.0" && after.json["meta"]?["versionId"] == "2", "\(after.body)")
            #expect(try await Self.observations(server, "component-value-quantity=500&patient=bp-1").isEmpty)
            #expect(try await Self.observations(server, "component-value-quantity=123&patient=bp-1").count == 1)
            // Its earlier version is mapped again from the composition's (R4 §vread, §history).
            let first1 = try await server.send(.get, "/fhir/Observation/\(id)/_history/1", headers: Self.json)
            #expect(first1.status == .ok && Self.systolic(first1.json) == "500.0" && first1.json["meta"]?["versionId"] == "1", "\(first1.body)")
            #expect(try await server.send(.get, "/fhir/Observation/\(id)/_history/3", headers: Self.json).status == .notFound)
            // And an openEHR deletion removes them.
            let deleted = try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(try #require(updated.eTag))")
            #expect(deleted.status == .noContent, "\(deleted.body)")
            #expect(try await Self.observations(server, "patient=bp-1").isEmpty)
            #expect(try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json).status == .gone)
            let history = try await server.send(.get, "/fhir/Observation/\(id)/_history", headers: Self.json)
            #expect(history.json["total"] == 3, "\(history.body)")
            let entries = history.json["entry"]?.arrayValue ?? []
            #expect(entries.map { $0["request"]?["method"]?.stringValue ?? "" } == ["DELETE", "PUT", "POST"])
            #expect(Self.systolic(entries.dropFirst().first?["resource"]) == "123.0")
        }
    }

    /// The resources are written through their composition: a FHIR update,
    /// patch, delete or transaction entry on one is a 409 naming the composition.
    @Test(arguments: TestEngine.available)
    func aSeenResourceIsNotWrittenThroughFHIR(engine: TestEngine) async throws {
        try await Self.withMappedServer(engine) { server, ehrID in
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=Blood%20Pressure", body: try Self.flat())
            let objectID = String(try #require(created.eTag).prefix { $0 != ":" })
            let id = "\(objectID)-1"
            let body = #"{"resourceType": "Observation", "id": "\#(id)", "status": "final", "code": {"text": "x"}}"#
            let put = try await server.send(.put, "/fhir/Observation/\(id)", headers: Self.json, body: body)
            #expect(put.status == .conflict, "\(put.body)")
            #expect(put.json["resourceType"] == "OperationOutcome")
            #expect(put.body.contains(objectID))
            #expect(try await server.send(.delete, "/fhir/Observation/\(id)", headers: Self.json).status == .conflict)
            let patch = try await server.send(
                .patch, "/fhir/Observation/\(id)", headers: ["Content-Type": "application/json-patch+json"],
                body: #"[{"op": "add", "path": "/status", "value": "amended"}]"#)
            #expect(patch.status == .conflict, "\(patch.body)")
            let transaction = """
                {"resourceType": "Bundle", "type": "transaction", "entry": [{"resource": \(body), "request": {"method": "PUT", "url": "Observation/\(id)"}}]}
                """
            #expect(try await server.send(.post, "/fhir", headers: Self.json, body: transaction).status == .conflict)
            // Nothing changed: still the composition's first version.
            let read = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(read.json["meta"]?["versionId"] == "1" && read.json["status"] != "amended")
        }
    }

    /// The view is a projection: rebuilt from the compositions it gives the
    /// same resources, and erasing the patient takes them with the EHR.
    @Test(arguments: TestEngine.available)
    func theViewRebuildsAndIsErasedWithThePatient(engine: TestEngine) async throws {
        try await Self.withMappedServer(engine) { server, ehrID in
            for _ in 0..<2 {
                let created = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=Blood%20Pressure", body: try Self.flat())
                #expect(created.status == .created, "\(created.body)")
            }
            let before = try await Self.observations(server, "patient=bp-1&_sort=_id").compactMap { $0["id"]?.stringValue }
            #expect(before.count == 6)
            let database = server.database.database
            func count(_ table: String) async throws -> Int64 { try await database.query("SELECT COUNT(*) FROM \(table)").first?.int(0) ?? -1 }
            let rows = (try await count("fhir_token"), try await count("fhir_number"), try await count("fhir_reference"))
            try await server.database.store.projections.rebuild("fhir_search", owner: "test", force: true)
            #expect(try await Self.observations(server, "patient=bp-1&_sort=_id").compactMap { $0["id"]?.stringValue } == before)
            #expect(try await (count("fhir_token"), count("fhir_number"), count("fhir_reference")) == rows)
            #expect(try await count("fhir_view") == 6)

            let erased = try await server.send(.delete, "/admin/patient/bp-1")
            #expect(erased.status == .noContent || erased.status == .ok, "\(erased.body)")
            #expect(try await count("fhir_view") == 0)
            #expect(try await count("fhir_resource") == 0)
            #expect(try await count("fhir_number") == 0)
            #expect(try await server.send(.get, "/fhir/Observation/\(before[0])", headers: Self.json).status == .notFound)
        }
    }
}
