import Foundation
import JSONCore
import OpenEHR
import Server
import ShippedMappings
import SocleTestSupport
import Testing

/// The mappings Socle ships (issue 15 §5, docs/architecture.md §Shipped
/// mappings): the vital signs of the FHIR R4 vital signs profiles (R4
/// §observation-vitalsigns) onto two of openFHIR's templates, in force by
/// default, their templates installed at start. One write shows on both
/// faces; the Synthea set's counts are checked by `SyntheaImportTests`.
@Suite("FHIR: the shipped vital signs mappings")
struct ShippedMappingsTests {
    static let json = FHIRRoutesTests.json

    /// The server with the shipped set, and Patient/p1 with its EHR.
    static func withServer(_ engine: TestEngine, _ body: @Sendable (TestServer, _ ehrID: String) async throws -> Void) async throws {
        try await TestServer.with(engine, configure: { $0.mappings = .shipped }) { server in
            #expect(try await server.send(.put, "/fhir/Patient/p1", headers: Self.json, body: #"{"resourceType": "Patient", "id": "p1"}"#).status == .created)
            let ehr = try await FHIRPatientEHRTests.ehr(server, patient: "p1")
            try await body(server, try #require(ehr.json["ehr_id"]?["value"]?.stringValue))
        }
    }

    /// A vital sign as Synthea writes it, for Patient/p1.
    static func vitalSign(_ loinc: String, profile: String, value: JSON? = nil, components: [JSON] = []) -> JSON {
        var object = JSONObject([
            ("resourceType", "Observation"),
            ("meta", ["profile": [.string("http://hl7.org/fhir/StructureDefinition/" + profile)]]),
            ("status", "final"),
            ("category", [["coding": [["system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"]]]]),
            ("code", ["coding": [["system": "http://loinc.org", "code": .string(loinc)]]]),
            ("subject", ["reference": "Patient/p1"]),
            ("effectiveDateTime", "2020-03-07T11:21:06+01:00"),
        ])
        if let value { object["valueQuantity"] = value }
        if !components.isEmpty { object["component"] = .array(components) }
        return .object(object)
    }

    static func quantity(_ value: String, _ unit: String) -> JSON {
        ["value": .number(value), "unit": .string(unit), "system": "http://unitsofmeasure.org", "code": .string(unit)]
    }

    static func rows(_ server: TestServer, _ query: String) async throws -> [[JSON]] {
        let reply = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(.object(JSONObject([("q", .string(query))]))))
        #expect(reply.status == .ok, "\(reply.body)")
        return reply.json["rows"]?.arrayValue?.compactMap(\.arrayValue) ?? []
    }

    /// The shipped templates are openFHIR's (corpus `fhir/mappings/openfhir`),
    /// the vital signs ones with their magnitude precision constraints taken
    /// out, nothing else.
    @Test func theShippedTemplatesAreOpenFHIRsWithoutPrecisionConstraints() throws {
        let corpus = [
            "Growth chart.opt": "growth_chart", "NEWS2 Encounter Parent.opt": "news2", "KDS_Diagnose.opt": "kds/diagnose",
            "KDS_Laborbericht.opt": "kds/laborbericht",
        ]
        #expect(Set(ShippedMappings.templates.map(\.file)) == Set(corpus.keys))
        for (file, text) in ShippedMappings.templates {
            let original = try String(
                contentsOf: Corpus.root.appendingPathComponent("fhir/mappings/openfhir/\(try #require(corpus[file]))/\(file)"), encoding: .utf8)
            #expect(original.contains("<precision>") == !file.hasPrefix("KDS_") && !text.contains("<precision>"), "\(file)")
            #expect(original.replacing(#/\n\s*<precision>[\s\S]*?</precision>/#, with: "") == text, "\(file)")
        }
    }

    @Test func everyShippedFileLoadsIntoTenContexts() throws {
        let library = try MappingFolder.load(.shipped)
        #expect(library.files.allSatisfy { $0.loaded }, "\(library.files.flatMap { $0.problems })")
        #expect(library.files.count == 21)
        #expect(Set(library.contexts.map(\.context.profileURL)) == Set(
            ["bodyweight", "bodyheight", "bmi", "bp", "heartrate", "resprate", "bodytemp", "oxygensat", "Condition", "DiagnosticReport"].map {
                "http://hl7.org/fhir/StructureDefinition/" + $0
            }))
        #expect(Set(library.contexts.map(\.context.templateID)) == ["Growth chart", "NEWS2 Encounter Parent", "KDS_Diagnose", "KDS_Laborbericht"])
    }

    /// The templates are installed at start (again at the next start: nothing
    /// changes); the administration lists the shipped set; a shipped file
    /// cannot be deleted through the API (409), only replaced.
    @Test(arguments: TestEngine.available)
    func theShippedSetIsInForceWithItsTemplates(engine: TestEngine) async throws {
        try await TestServer.with(engine, configure: { $0.mappings = .shipped }) { server in
            let templates = try await server.send(.get, "/openehr/v1/definition/template/adl1.4", headers: ["Accept": "application/json"])
            let ids = Set(templates.json.arrayValue?.compactMap { $0["template_id"]?.stringValue } ?? [])
            #expect(ids == ["Growth chart", "NEWS2 Encounter Parent", "KDS_Diagnose", "KDS_Laborbericht"], "\(templates.body)")
            // Installing again (the next start) changes nothing: the same templates, made when they were.
            try await SocleServer.installShippedTemplates(try #require(server.components?.templateService))
            let again = try await server.send(.get, "/openehr/v1/definition/template/adl1.4", headers: ["Accept": "application/json"])
            #expect(again.json == templates.json, "\(again.body)")

            let report = try await server.send(.get, "/admin/mappings")
            #expect(report.json["folder"] == "shipped")
            #expect(report.json["files"]?.arrayValue?.allSatisfy { $0["source"] == "shipped" && $0["loaded"] == true } == true, "\(report.body.prefix(500))")
            let contexts = report.json["contexts"]?.arrayValue ?? []
            #expect(contexts.count == 10 && contexts.allSatisfy { $0["template_loaded"] == true }, "\(report.body.prefix(500))")
            let delete = try await server.send(.delete, "/admin/mappings/body_weight.model.yml")
            #expect(delete.status == .conflict && delete.body.contains("shipped mapping file"), "\(delete.body)")

            // A shipped file replaced by one that does not load: 422 at its line, the shipped one still in force.
            let broken = ShippedMappings.files.first { $0.file == "body_weight.model.yml" }.map { $0.text.replacingOccurrences(of: "\"one of\"", with: "\"among\"") }
            let refused = try await server.send(.put, "/admin/mappings/body_weight.model.yml", body: try #require(broken))
            #expect(refused.status == .unprocessableContent && refused.body.contains("body_weight.model.yml:"), "\(refused.body)")
            let unchanged = try await server.send(.get, "/admin/mappings")
            let weight = unchanged.json["files"]?.arrayValue?.first { $0["file"] == "body_weight.model.yml" }
            #expect(weight?["source"] == "shipped" && weight?["loaded"] == true, "\(weight.map { JSONSerializer.string($0) } ?? "")")
            #expect(try await server.send(.get, "/admin/mappings/body_weight.model.yml/history").status == .notFound)
            // A good one replaces it: stored through the API, said to replace a file of the set.
            let replacement = ShippedMappings.files.first { $0.file == "body_weight.model.yml" }.map { $0.text.replacingOccurrences(of: "version: 1.0.0", with: "version: 1.0.1") }
            let replaced = try await server.send(.put, "/admin/mappings/body_weight.model.yml", body: try #require(replacement))
            #expect(replaced.status == .ok && replaced.json["replaces_folder_file"] == true, "\(replaced.body)")
            let listed = try await server.send(.get, "/admin/mappings").json["files"]?.arrayValue?.first { $0["file"] == "body_weight.model.yml" }
            #expect(listed?["source"] == "api" && listed?["version"] == 1, "\(listed.map { JSONSerializer.string($0) } ?? "")")
        }
    }

    /// A blood pressure committed through openEHR (FLAT) is an Observation
    /// FHIR search finds by its LOINC code and patient, with its systolic and
    /// diastolic components; an openEHR update shows in FHIR, a FHIR delete
    /// removes the composition.
    @Test(arguments: TestEngine.available)
    func aBloodPressureCommittedThroughOpenEHRIsFoundByFHIRSearch(engine: TestEngine) async throws {
        try await Self.withServer(engine) { server, ehrID in
            func flat(systolic: Int) -> String {
                JSONSerializer.string(.object(JSONObject([
                    ("ctx/language", "en"), ("ctx/territory", "FR"), ("ctx/composer_name", "Dr Martin"),
                    ("news2_encounter_parent/blood_pressure/any_event:0/time", "2020-03-07T11:21:06+01:00"),
                    ("news2_encounter_parent/blood_pressure/any_event:0/systolic|magnitude", .number(String(systolic))),
                    ("news2_encounter_parent/blood_pressure/any_event:0/systolic|unit", "mm[Hg]"),
                    ("news2_encounter_parent/blood_pressure/any_event:0/diastolic|magnitude", 82),
                    ("news2_encounter_parent/blood_pressure/any_event:0/diastolic|unit", "mm[Hg]"),
                ])))
            }
            let path = "/openehr/v1/ehr/\(ehrID)/composition?templateId=NEWS2%20Encounter%20Parent&format=FLAT"
            let created = try await server.send(.post, path, headers: ["Content-Type": "application/json", "Prefer": "return=representation"], body: flat(systolic: 128))
            #expect(created.status == .created, "\(created.body)")
            let versionID = try #require(created.headers[.eTag]?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))

            func search() async throws -> [JSON] {
                let reply = try await server.send(.get, "/fhir/Observation?code=http://loinc.org%7C85354-9&patient=p1", headers: Self.json)
                #expect(reply.status == .ok, "\(reply.body)")
                return reply.json["entry"]?.arrayValue?.compactMap { $0["resource"] } ?? []
            }
            func components(_ resource: JSON?) -> [String: JSON] {
                Dictionary(uniqueKeysWithValues: (resource?["component"]?.arrayValue ?? []).compactMap { component in
                    component["code"]?["coding"]?.arrayValue?.first?["code"]?.stringValue.map { ($0, component["valueQuantity"]?["value"] ?? .null) }
                })
            }
            let found = try await search()
            #expect(found.count == 1)
            #expect(found.first?["subject"]?["reference"] == "Patient/p1")
            #expect(found.first?["effectiveDateTime"] == "2020-03-07T11:21:06+01:00")
            #expect(components(found.first) == ["8480-6": .number("128"), "8462-4": .number("82")], "\(found)")
            #expect(found.first?["meta"]?["profile"]?.arrayValue?.contains("http://hl7.org/fhir/StructureDefinition/bp") == true)

            // openEHR update: FHIR shows version 2 with the new systolic.
            let uid = try #require(versionID.split(separator: ":").first.map(String.init))
            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)?templateId=NEWS2%20Encounter%20Parent&format=FLAT",
                headers: ["Content-Type": "application/json", "If-Match": "\"\(versionID)\""], body: flat(systolic: 135))
            #expect(updated.status == .noContent || updated.status == .ok, "\(updated.body)")
            let after = try await search()
            #expect(components(after.first) == ["8480-6": .number("135"), "8462-4": .number("82")])
            #expect(after.first?["meta"]?["versionId"] == "2")

            // FHIR delete: the composition is deleted.
            let id = try #require(after.first?["id"]?.stringValue)
            let deleted = try await server.send(.delete, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(deleted.status == .noContent || deleted.status == .ok, "\(deleted.body)")
            let pressures = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.blood_pressure.v2]"
            #expect(try await Self.rows(server, pressures).isEmpty)
            #expect(try await search().isEmpty)
        }
    }

    /// Each vital sign posted through FHIR as Synthea writes it is a
    /// composition AQL finds with its value, and reads back as sent: an
    /// oxygen saturation in % is a DV_PROPORTION percent (RM data types
    /// §DV_PROPORTION, type 2); a temperature of three decimals is kept whole.
    @Test(arguments: TestEngine.available)
    func vitalSignsPostedThroughFHIRAreCompositionsWithTheirValues(engine: TestEngine) async throws {
        try await Self.withServer(engine) { server, _ in
            let saturation = Self.vitalSign("2708-6", profile: "oxygensat", value: Self.quantity("96.5", "%"))
            let temperature = Self.vitalSign("8310-5", profile: "bodytemp", value: Self.quantity("37.956", "Cel"))
            let bmi = Self.vitalSign("39156-5", profile: "bmi", value: Self.quantity("27.91", "kg/m2"))
            var ids: [String] = []
            for resource in [saturation, temperature, bmi] {
                let created = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: JSONSerializer.string(resource))
                #expect(created.status == .created, "\(created.body)")
                ids.append(try #require(created.json["id"]?.stringValue))
            }
            let spo2 = try await Self.rows(server, """
                SELECT o/data[at0001]/events[at0002]/data[at0003]/items[at0006]/value FROM EHR e CONTAINS COMPOSITION c
                CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.pulse_oximetry.v1]
                """)
            let proportion = try #require(spo2.first?.first)
            #expect(proportion["_type"] == "DV_PROPORTION" && proportion["numerator"] == .number("96.5"), "\(spo2)")
            #expect(proportion["denominator"] == .number("100") && proportion["type"] == .number("2"), "\(spo2)")
            let celsius = try await Self.rows(server, """
                SELECT o/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude FROM EHR e CONTAINS COMPOSITION c
                CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.body_temperature.v2]
                """)
            #expect(celsius.first?.first == .number("37.956"))
            // The history starts at the Observation's time, not at the write's.
            let origins = try await Self.rows(server, """
                SELECT o/data[at0001]/origin/value FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.body_mass_index.v2]
                """)
            #expect(origins.first?.first?.stringValue.flatMap(ISODateTime.init) == ISODateTime("2020-03-07T11:21:06+01:00"), "\(origins)")

            for (id, sent) in zip(ids, [saturation, temperature, bmi]) {
                let read = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
                #expect(read.json["valueQuantity"] == sent["valueQuantity"], "\(read.body)")
                #expect(read.json["code"]?["coding"]?.arrayValue?.first?["code"] == sent["code"]?["coding"]?.arrayValue?.first?["code"])
            }
            let search = try await server.send(.get, "/fhir/Observation?category=vital-signs&patient=p1&_summary=count", headers: Self.json)
            #expect(search.json["total"] == 3, "\(search.body)")
        }
    }

    /// A Synthea Condition (problem or diagnosis, SNOMED CT coded) is a
    /// composition of KDS_Diagnose with its problem_diagnosis: AQL finds its
    /// code, onset, resolution, clinical and verification status; FHIR search
    /// by code and patient finds it, as sent (category and recorded date kept
    /// from the original, the statuses' codes without a display as sent);
    /// one entered in error, or a differential diagnosis, stays a FHIR resource.
    @Test(arguments: TestEngine.available)
    func aConditionIsAProblemDiagnosisComposition(engine: TestEngine) async throws {
        try await Self.withServer(engine) { server, _ in
            let condition: JSON = [
                "resourceType": "Condition",
                "clinicalStatus": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "resolved"]]],
                "verificationStatus": ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"]]],
                "category": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": "encounter-diagnosis"]]]],
                "code": ["coding": [["system": "http://snomed.info/sct", "code": "444814009", "display": "Viral sinusitis (disorder)"]], "text": "Viral sinusitis (disorder)"],
                "subject": ["reference": "Patient/p1"],
                "onsetDateTime": "2018-06-01T22:21:06+02:00", "abatementDateTime": "2018-06-15T22:21:06+02:00", "recordedDate": "2018-06-01T22:21:06+02:00",
            ]
            let created = try await server.send(.post, "/fhir/Condition", headers: Self.json, body: JSONSerializer.string(condition))
            #expect(created.status == .created, "\(created.body)")
            let rows = try await Self.rows(server, """
                SELECT d/data[at0001]/items[at0002]/value/defining_code/code_string, d/data[at0001]/items[at0077]/value/value,
                d/data[at0001]/items[at0030]/value/value, q/items[at0003]/value/defining_code/code_string, q/items[at0004]/value/defining_code/code_string
                FROM EHR e CONTAINS COMPOSITION c CONTAINS EVALUATION d[openEHR-EHR-EVALUATION.problem_diagnosis.v1]
                CONTAINS CLUSTER q[openEHR-EHR-CLUSTER.problem_qualifier.v2]
                """)
            #expect(rows == [["444814009", "2018-06-01T22:21:06+02:00", "2018-06-15T22:21:06+02:00", "resolved", "at0018"]], "\(rows)")
            let found = try await server.send(.get, "/fhir/Condition?code=http://snomed.info/sct%7C444814009&patient=p1", headers: Self.json)
            let resource = found.json["entry"]?.arrayValue?.first?["resource"]
            #expect(found.json["entry"]?.arrayValue?.count == 1, "\(found.body)")
            for element in ["clinicalStatus", "verificationStatus", "category", "code", "onsetDateTime", "abatementDateTime", "recordedDate"] {
                #expect(resource?[element] == condition[element], "\(element)")
            }

            guard case .object(var withdrawn) = condition else { return }
            withdrawn["verificationStatus"] = ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"]]]
            withdrawn["clinicalStatus"] = nil  // R4 con-5: none when entered in error, so not abated either (con-4)
            withdrawn["abatementDateTime"] = nil
            let withdrawnCreated = try await server.send(.post, "/fhir/Condition", headers: Self.json, body: JSONSerializer.string(.object(withdrawn)))
            #expect(withdrawnCreated.status == .created, "\(withdrawnCreated.body)")
            // A differential diagnosis has no code in the archetype: it stays a FHIR resource too.
            guard case .object(var differential) = condition else { return }
            differential["verificationStatus"] = ["coding": [["system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "differential"]]]
            #expect(try await server.send(.post, "/fhir/Condition", headers: Self.json, body: JSONSerializer.string(.object(differential))).status == .created)
            #expect(try await Self.rows(server, "SELECT d/uid/value FROM EHR e CONTAINS EVALUATION d[openEHR-EHR-EVALUATION.problem_diagnosis.v1]").count == 1)
            let all = try await server.send(.get, "/fhir/Condition?patient=p1&_summary=count", headers: Self.json)
            #expect(all.json["total"] == 3, "\(all.body)")
        }
    }
}
