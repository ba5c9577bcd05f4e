import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// One write, both faces (issue 15 §2, §4): a FHIR body weight a loaded
/// context takes is stored as a composition in its patient's EHR, so an AQL
/// query on the body-weight archetype returns it and FHIR search finds it;
/// update and delete on either face show on the other; what the mapping does
/// not cover is kept from the resource as sent (the composition's feeder audit).
@Suite("FHIR REST: writes stored as compositions through their mappings")
struct FHIRMappedWritesTests {
    static let json = FHIRRoutesTests.json
    static let templateID = "cistec.openehr.body_weight.v1"
    static let aql = """
        SELECT e/ehr_id/value AS ehr, c/uid/value AS uid, o/data[at0002]/events[at0003]/data[at0001]/items[at0004]/value/magnitude AS kg
        FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.body_weight.v2]
        """

    /// Socle's test body-weight mapping (Tests/ServerTests/Fixtures) and the corpus template it maps.
    static func withServer(_ engine: TestEngine, _ body: @Sendable (TestServer, _ ehrID: String) async throws -> Void) async throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/mappings/body-weight").path
        try await TestServer.with(engine, configure: { $0.mappings = .folder(folder) }) { server in
            let opt = try String(
                contentsOf: Corpus.root.appendingPathComponent("openehr/templates/valid/all_types/cistec.openehr.body_weight.v1.opt"), encoding: .utf8)
            let upload = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: opt)
            #expect(upload.status == .created, "\(upload.body)")
            #expect(try await server.send(.put, "/fhir/Patient/p1", headers: Self.json, body: #"{"resourceType": "Patient", "id": "p1"}"#).status == .created)
            let ehr = try await FHIRPatientEHRTests.ehr(server, patient: "p1")
            try await body(server, try #require(ehr.json["ehr_id"]?["value"]?.stringValue))
        }
    }

    /// A Synthea body weight (the first of the corpus's third bundle), for Patient/p1.
    static func bodyWeight(kg: Double = 78.5, unit: String = "kg", subject: Bool = true) throws -> JSON {
        let observation: JSON = [
            "resourceType": "Observation",
            "meta": ["profile": ["http://hl7.org/fhir/StructureDefinition/bodyweight", "http://hl7.org/fhir/StructureDefinition/vitalsigns"]],
            "status": "final",
            "category": [["coding": [["system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "vital-signs"]]]],
            "code": ["coding": [["system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"]], "text": "Body Weight"],
            "effectiveDateTime": "2010-09-16T12:21:06+02:00",
            "issued": "2010-09-16T12:21:06.190+02:00",
            "valueQuantity": ["value": .number(String(kg)), "unit": .string(unit), "system": "http://unitsofmeasure.org", "code": .string(unit)],
        ]
        guard subject, case .object(var object) = observation else { return observation }
        object["subject"] = ["reference": "Patient/p1"]
        return .object(object)
    }

    static func rows(_ server: TestServer) async throws -> [[JSON]] {
        let reply = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(["q": .string(Self.aql)]))
        #expect(reply.status == .ok, "\(reply.body)")
        return reply.json["rows"]?.arrayValue?.compactMap(\.arrayValue) ?? []
    }

    static func weights(_ server: TestServer, _ query: String) async throws -> [String] {
        let reply = try await server.send(.get, "/fhir/Observation?\(query)", headers: Self.json)
        #expect(reply.status == .ok, "\(reply.body)")
        return reply.json["entry"]?.arrayValue?.compactMap { entry in
            if case .number(let value)? = entry["resource"]?["valueQuantity"]?["value"] { return value }
            return nil
        } ?? []
    }

    @Test(arguments: TestEngine.available)
    func aBodyWeightPostedThroughFHIRIsACompositionAQLFinds(engine: TestEngine) async throws {
        try await Self.withServer(engine) { server, ehrID in
            let created = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: JSONSerializer.string(try Self.bodyWeight()))
            #expect(created.status == .created, "\(created.body)")
            let location = try #require(created.headers[.location])
            let id = try #require(created.json["id"]?.stringValue)
            #expect(location.contains("/fhir/Observation/\(id)/_history/1"), "\(location)")

            // The openEHR face: one composition of the template, in the patient's EHR, with the value.
            let rows = try await Self.rows(server)
            #expect(rows.count == 1)
            #expect(rows.first?[0].stringValue == ehrID)
            #expect(rows.first?[2] == .number("78.5"))
            let uid = try #require(rows.first?[1].stringValue)
            let composition = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)")
            #expect(composition.json["archetype_details"]?["template_id"]?["value"]?.stringValue == Self.templateID)
            #expect(composition.json["feeder_audit"]?["original_content"]?["formalism"] == "application/fhir+json")
            // The server's id (R4 §create) is kept with the resource as sent: the resource keeps it.
            #expect(UUID(uuidString: id) != nil && !id.hasPrefix(String(uid.prefix { $0 != ":" })))
            let original = try JSONParser.parse(Array((composition.json["feeder_audit"]?["original_content"]?["value"]?.stringValue ?? "").utf8))
            #expect(original["id"]?.stringValue == id)

            // The FHIR face: search by code and patient, and the resource as sent (nothing lost).
            #expect(try await Self.weights(server, "code=http://loinc.org|29463-7&patient=p1") == ["78.5"])
            let read = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(read.json["issued"] == "2010-09-16T12:21:06.190+02:00", "\(read.body)")
            #expect(read.json["code"]?["text"] == "Body Weight" && read.json["subject"]?["reference"] == "Patient/p1")
            #expect(read.json["effectiveDateTime"] == "2010-09-16T12:21:06+02:00")
            #expect(read.json["meta"]?["profile"]?.arrayValue?.count == 2)

            // A FHIR update is a new version of the composition.
            var update = try Self.bodyWeight(kg: 80.25)
            if case .object(var object) = update { object["id"] = .string(id); update = .object(object) }
            let updated = try await server.send(.put, "/fhir/Observation/\(id)", headers: Self.json, body: JSONSerializer.string(update))
            #expect(updated.status == .ok, "\(updated.body)")
            #expect(updated.json["meta"]?["versionId"] == "2")
            #expect(try await Self.rows(server).map { $0[2] } == [.number("80.25")])
            #expect(try await Self.weights(server, "patient=p1&value-quantity=80.25") == ["80.25"])

            // An openEHR update shows on the FHIR face; what the mapping does not cover stays as sent.
            let latest = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(String(uid.prefix { $0 != ":" }))")
            let edited = latest.body.replacingOccurrences(of: #""magnitude":80.25"#, with: #""magnitude":81.5"#)
            #expect(edited != latest.body)
            let put = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(String(uid.prefix { $0 != ":" }))", headers: ["If-Match": try #require(latest.eTag)],
                body: edited)
            #expect(put.status == .noContent || put.status == .ok, "\(put.body)")
            let after = try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(after.json["valueQuantity"]?["value"] == .number("81.5") && after.json["meta"]?["versionId"] == "3", "\(after.body)")
            #expect(after.json["issued"] == "2010-09-16T12:21:06.190+02:00")
            // A FHIR patch too (R4 §patch), on the resource as it reads.
            let patched = try await server.send(
                .patch, "/fhir/Observation/\(id)", headers: ["Content-Type": "application/json-patch+json"],
                body: #"[{"op": "replace", "path": "/valueQuantity/value", "value": 82}]"#)
            #expect(patched.status == .ok && patched.json["meta"]?["versionId"] == "4", "\(patched.body)")
            #expect(try await Self.rows(server).map { row -> Double? in if case .number(let text) = row[2] { Double(text) } else { nil } } == [82])

            // A FHIR delete deletes the composition.
            let deleted = try await server.send(.delete, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(deleted.status == .ok && deleted.body.contains("Observation/\(id) deleted (version 5)"), "\(deleted.body)")
            #expect(try await Self.rows(server).isEmpty)
            #expect(try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json).status == .gone)
            #expect(try await Self.weights(server, "patient=p1").isEmpty)
        }
    }

    /// A resource the mapping takes but whose composition is refused is a
    /// 422 OperationOutcome naming the FHIR element and the openEHR path, and stores nothing; one
    /// no mapping takes is an ordinary FHIR resource.
    @Test(arguments: TestEngine.available)
    func badMappedWritesAreRefusedWithTheirOpenEHRPath(engine: TestEngine) async throws {
        try await Self.withServer(engine) { server, ehrID in
            // Metres are not a unit the template allows for a weight.
            let metres = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: JSONSerializer.string(try Self.bodyWeight(unit: "m")))
            #expect(metres.status == .unprocessableContent, "\(metres.body)")
            #expect(metres.json["resourceType"] == "OperationOutcome")
            #expect(metres.body.contains(Self.templateID))
            let locations = metres.json["issue"]?.arrayValue?.flatMap { $0["expression"]?.arrayValue ?? $0["location"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? []
            #expect(locations.contains { $0.hasPrefix("openEHR ") && $0.hasSuffix("items[at0004]/value/units") }, "\(metres.body)")
            // … and the FHIR element it came from (the mapping's method for that node).
            #expect(locations.contains("Observation.value"), "\(metres.body)")
            // Without its patient there is no EHR to store it in.
            let orphan = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: JSONSerializer.string(try Self.bodyWeight(subject: false)))
            #expect(orphan.status == .unprocessableContent, "\(orphan.body)")
            #expect(try await Self.rows(server).isEmpty)
            #expect(try await Self.weights(server, "code=29463-7").isEmpty)

            // On a stored one: a stale If-Match (412), another patient (422), a delete while a report refers to it (409); each leaves it as it was.
            let created = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: JSONSerializer.string(try Self.bodyWeight()))
            let id = try #require(created.json["id"]?.stringValue)
            guard case .object(var changed) = try Self.bodyWeight(kg: 90) else { return }
            changed["id"] = .string(id)
            let stale = try await server.send(
                .put, "/fhir/Observation/\(id)", headers: Self.json.merging(["If-Match": #"W/"7""#]) { $1 }, body: JSONSerializer.string(.object(changed)))
            #expect(stale.status == .preconditionFailed, "\(stale.body)")
            #expect(try await server.send(.put, "/fhir/Patient/p2", headers: Self.json, body: #"{"resourceType": "Patient", "id": "p2"}"#).status == .created)
            changed["subject"] = ["reference": "Patient/p2"]
            let moved = try await server.send(.put, "/fhir/Observation/\(id)", headers: Self.json, body: JSONSerializer.string(.object(changed)))
            #expect(moved.status == .unprocessableContent, "\(moved.body)")
            let report = #"{"resourceType": "DiagnosticReport", "status": "final", "code": {"text": "weights"}, "result": [{"reference": "Observation/\#(id)"}]}"#
            let reported = try await server.send(.post, "/fhir/DiagnosticReport", headers: Self.json, body: report)
            #expect(reported.status == .created, "\(reported.body)")
            let referenced = try await server.send(.delete, "/fhir/Observation/\(id)", headers: Self.json)
            #expect(referenced.status == .conflict, "\(referenced.body)")
            #expect(try await Self.rows(server).map(\.count) == [3])
            #expect(try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json).json["meta"]?["versionId"] == "1")
            // Nor through openEHR, as a DELETE or in a contribution: the report would refer to nothing.
            let uid = try #require(try await Self.rows(server).first?[1].stringValue)
            let openEHRDelete = try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)")
            #expect(openEHRDelete.status == .conflict && openEHRDelete.body.contains("DiagnosticReport/"), "\(openEHRDelete.body)")
            let contribution = """
                {"versions": [{"_type": "ORIGINAL_VERSION", "preceding_version_uid": {"value": "\(uid)"},
                  "lifecycle_state": {"value": "deleted", "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "523"}},
                  "commit_audit": {"change_type": {"value": "deleted", "defining_code": {"terminology_id": {"value": "openehr"}, "code_string": "523"}}}}],
                 "audit": {"committer": {"_type": "PARTY_IDENTIFIED", "name": "a"}}}
                """
            let contributed = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: contribution)
            #expect(contributed.status == .conflict && contributed.body.contains("DiagnosticReport/"), "\(contributed.body)")
            #expect(try await Self.rows(server).count == 1)

            // A heart rate: no context takes it; stored as FHIR alone.
            let heartRate = """
                {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                 "subject": {"reference": "Patient/p1"}, "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}
                """
            let plain = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: heartRate)
            #expect(plain.status == .created, "\(plain.body)")
            #expect(plain.json["id"]?.stringValue?.hasSuffix("-1") == false)
            #expect(try await Self.rows(server).count == 1)
        }
    }
}
