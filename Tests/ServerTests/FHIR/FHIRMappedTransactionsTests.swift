import Foundation
import JSONCore
import Services
import SocleTestSupport
import Testing

/// Mapped writes in transactions and imports (issue 15 §2, §5): entries a
/// context takes become compositions in the EHR of their patient, in the
/// transaction's one database transaction (all or nothing), even when the
/// Patient is created by the same Bundle; a PUT with the client's id creates
/// (R4 §update as create) and a second identical PUT writes nothing, so a
/// Synthea import with mappings imports once.
@Suite("FHIR REST: transaction entries stored as compositions")
struct FHIRMappedTransactionsTests {
    static let json = FHIRRoutesTests.json
    typealias Weights = FHIRMappedWritesTests

    static func entry(_ method: String, _ url: String, fullUrl: String? = nil, _ resource: JSON? = nil) -> JSON {
        var object = JSONObject([("request", .object(JSONObject([("method", .string(method)), ("url", .string(url))])))])
        if let fullUrl { object["fullUrl"] = .string(fullUrl) }
        if let resource { object["resource"] = resource }
        return .object(object)
    }

    static func transaction(_ entries: [JSON]) -> String {
        JSONSerializer.string(["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)])
    }

    /// A body weight of the test mapping for `subject`, with `id` when given.
    static func weight(_ kg: Double, subject: String, id: String? = nil, unit: String = "kg") throws -> JSON {
        guard case .object(var object) = try Weights.bodyWeight(kg: kg, unit: unit) else { return .null }
        object["subject"] = ["reference": .string(subject)]
        if let id { object["id"] = .string(id) }
        return .object(object)
    }

    /// The body weights AQL finds in one EHR.
    static func kilograms(_ server: TestServer, ehrID: String) async throws -> [String] {
        try await Weights.rows(server).filter { $0[0].stringValue == ehrID }.compactMap { row in
            if case .number(let text) = row[2] { text } else { nil }
        }.sorted()
    }

    @Test(arguments: TestEngine.available)
    func transactionEntriesAreCompositionsOfTheirPatientsEHR(engine: TestEngine) async throws {
        try await Weights.withServer(engine) { server, _ in
            // A new Patient and its weights in one Bundle: its EHR is made in the same commit.
            let heartRate: JSON = [
                "resourceType": "Observation", "status": "final", "code": ["coding": [["system": "http://loinc.org", "code": "8867-4"]]],
                "subject": ["reference": "urn:uuid:patient-3"],
                "valueQuantity": ["value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"],
            ]
            let report: JSON = [
                "resourceType": "DiagnosticReport", "status": "final", "code": ["text": "weights"], "subject": ["reference": "urn:uuid:patient-3"],
                "result": [["reference": "urn:uuid:weight-1"], ["reference": "Observation/bw-2"]],
            ]
            let reply = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("POST", "Patient", fullUrl: "urn:uuid:patient-3", ["resourceType": "Patient", "gender": "female"]),
                Self.entry("POST", "Observation", fullUrl: "urn:uuid:weight-1", try Self.weight(61.5, subject: "urn:uuid:patient-3")),
                Self.entry("PUT", "Observation/bw-2", try Self.weight(62.5, subject: "urn:uuid:patient-3", id: "bw-2")),
                Self.entry("POST", "Observation", heartRate),
                Self.entry("POST", "DiagnosticReport", report),
            ]))
            #expect(reply.status == .ok, "\(reply.body)")
            let statuses = reply.json["entry"]?.arrayValue?.compactMap { $0["response"]?["status"]?.stringValue } ?? []
            #expect(statuses == ["201 Created", "201 Created", "201 Created", "201 Created", "201 Created"], "\(reply.body)")
            let references = reply.json["entry"]?.arrayValue?.compactMap { $0["fullUrl"]?.stringValue } ?? []
            let patient = try #require(references.first)
            let weight = try #require(references.dropFirst().first)
            #expect(references.dropFirst(2).first == "Observation/bw-2")

            // The openEHR face: two compositions in the new Patient's EHR.
            let ehr = try await FHIRPatientEHRTests.ehr(server, patient: String(patient.dropFirst("Patient/".count)))
            let ehrID = try #require(ehr.json["ehr_id"]?["value"]?.stringValue)
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["61.5", "62.5"])
            // The FHIR face: found by code and patient; the report's references resolve to them.
            let query = "code=http://loinc.org|29463-7&patient=\(patient)"
            #expect(try await Weights.weights(server, query).sorted() == ["61.5", "62.5"])
            let read = try await server.send(.get, "/fhir/\(weight)", headers: Self.json)
            #expect(read.status == .ok && read.json["valueQuantity"]?["value"] == .number("61.5"), "\(read.body)")
            let included = try await server.send(.get, "/fhir/DiagnosticReport?subject=\(patient)&_include=DiagnosticReport:result", headers: Self.json)
            #expect(included.json["entry"]?.arrayValue?.count == 3, "\(included.body)")

            // The same PUT again writes nothing (an import run twice); a change and a delete in one Bundle.
            let again = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("PUT", "Observation/bw-2", try Self.weight(62.5, subject: patient, id: "bw-2"))
            ]))
            #expect(again.json["entry"]?.arrayValue?.first?["response"]?["etag"] == "W/\"1\"", "\(again.body)")
            let changed = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("PUT", "Observation/bw-2", try Self.weight(63.25, subject: patient, id: "bw-2")),
                Self.entry("DELETE", weight),
                Self.entry("DELETE", "DiagnosticReport?subject=\(patient)"),
            ]))
            #expect(changed.status == .ok, "\(changed.body)")
            #expect(changed.json["entry"]?.arrayValue?.first?["response"]?["etag"] == "W/\"2\"", "\(changed.body)")
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["63.25"])
            #expect(try await server.send(.get, "/fhir/\(weight)", headers: Self.json).status == .gone)
            #expect(try await Weights.weights(server, query) == ["63.25"])

            // Sent again after an openEHR edit, the same resource is a change: it puts its value back.
            let uid = try #require(try await Weights.rows(server).first { $0[0].stringValue == ehrID }?[1].stringValue)
            let objectID = String(uid.prefix { $0 != ":" })
            let latest = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)")
            let edited = latest.body.replacingOccurrences(of: #""magnitude":63.25"#, with: #""magnitude":64.75"#)
            #expect(edited != latest.body)
            let put = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["If-Match": try #require(latest.eTag)], body: edited)
            #expect(put.status == .ok || put.status == .noContent, "\(put.body)")
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["64.75"])
            let reverted = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("PUT", "Observation/bw-2", try Self.weight(63.25, subject: patient, id: "bw-2"))
            ]))
            #expect(reverted.json["entry"]?.arrayValue?.first?["response"]?["etag"] == "W/\"4\"", "\(reverted.body)")
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["63.25"])

            // A PATCH entry (JSON Patch in a Binary, R4 §transaction) patches the resource as it reads: version 5.
            let patch = Data(#"[{"op": "replace", "path": "/valueQuantity/value", "value": 65.5}]"#.utf8).base64EncodedString()
            let binary: JSON = ["resourceType": "Binary", "contentType": "application/json-patch+json", "data": .string(patch)]
            let patched = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([Self.entry("PATCH", "Observation/bw-2", binary)]))
            #expect(patched.json["entry"]?.arrayValue?.first?["response"]?["etag"] == "W/\"5\"", "\(patched.body)")
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["65.5"])
            // A PATCH that breaks the template (a weight in metres) fails the Bundle and changes nothing.
            let metres = Data(#"[{"op": "replace", "path": "/valueQuantity/code", "value": "m"}, {"op": "replace", "path": "/valueQuantity/unit", "value": "m"}]"#.utf8)
                .base64EncodedString()
            let broken: JSON = ["resourceType": "Binary", "contentType": "application/json-patch+json", "data": .string(metres)]
            let refused = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([Self.entry("PATCH", "Observation/bw-2", broken)]))
            #expect(refused.status == .unprocessableContent && refused.body.contains("Bundle.entry[0]"), "\(refused.body)")
            #expect(try await Self.kilograms(server, ehrID: ehrID) == ["65.5"])
            #expect(try await server.send(.get, "/fhir/Observation/bw-2", headers: Self.json).json["meta"]?["versionId"] == "5")
        }
    }

    /// A conditional create (R4 §create, If-None-Exist) of a mapped resource:
    /// the first stores a composition, the second finds its resource, on
    /// the single interaction and as a transaction entry alike.
    @Test(arguments: TestEngine.available)
    func aConditionalCreateOfAMappedResourceStoresOneComposition(engine: TestEngine) async throws {
        try await Weights.withServer(engine) { server, _ in
            let criteria = "code=http://loinc.org|29463-7&date=2010-09-16T12:21:06%2B02:00&patient=Patient/p1"
            let body = JSONSerializer.string(try Self.weight(64.5, subject: "Patient/p1"))
            let headers = Self.json.merging(["If-None-Exist": criteria]) { $1 }
            let first = try await server.send(.post, "/fhir/Observation", headers: headers, body: body)
            #expect(first.status == .created, "\(first.body)")
            let second = try await server.send(.post, "/fhir/Observation", headers: headers, body: body)
            #expect(second.status == .ok && second.json["id"] == first.json["id"], "\(second.body)")
            var entry = Self.entry("POST", "Observation", try Self.weight(64.5, subject: "Patient/p1"))
            if case .object(var object) = entry, case .object(var request)? = object["request"] {
                request["ifNoneExist"] = .string(criteria)
                object["request"] = .object(request)
                entry = .object(object)
            }
            let again = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([entry]))
            #expect(again.json["entry"]?.arrayValue?.first?["response"]?["status"] == "200 OK", "\(again.body)")
            #expect(try await Weights.rows(server).count == 1)
        }
    }

    /// A mapped entry whose composition is refused fails the whole
    /// transaction with its place in the Bundle and its openEHR path; the
    /// Patient of the same Bundle is not created either.
    @Test(arguments: TestEngine.available)
    func aRefusedMappedEntryFailsTheTransaction(engine: TestEngine) async throws {
        try await Weights.withServer(engine) { server, _ in
            let refused = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("PUT", "Patient/p9", ["resourceType": "Patient", "id": "p9"]),
                Self.entry("POST", "Observation", try Self.weight(70, subject: "Patient/p9", unit: "m")),
            ]))
            #expect(refused.status == .unprocessableContent, "\(refused.body)")
            #expect(refused.body.contains("Bundle.entry[1]") && refused.body.contains(Weights.templateID), "\(refused.body)")
            let expressions = refused.json["issue"]?.arrayValue?.flatMap { $0["expression"]?.arrayValue ?? [] }.compactMap(\.stringValue) ?? []
            #expect(expressions.contains { $0.hasPrefix("openEHR ") && $0.hasSuffix("/value/units") }, "\(refused.body)")
            #expect(expressions.contains("Bundle.entry[1].resource.value"), "\(refused.body)")
            #expect(try await server.send(.get, "/fhir/Patient/p9", headers: Self.json).status == .notFound)
            #expect(try await FHIRPatientEHRTests.ehr(server, patient: "p9").status == .notFound)
            #expect(try await Weights.rows(server).isEmpty)

            // A weight for a patient the server does not have: 422, nothing stored.
            let orphan = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([
                Self.entry("POST", "Observation", try Self.weight(70, subject: "Patient/p1")),
                Self.entry("POST", "Observation", try Self.weight(71, subject: "Patient/nobody")),
            ]))
            #expect(orphan.status == .unprocessableContent && orphan.body.contains("Patient/nobody"), "\(orphan.body)")
            #expect(try await Weights.rows(server).isEmpty)
            // If-Match on an id nothing has (update as create): 412, nothing stored.
            let ifMatchNew = try await server.send(
                .put, "/fhir/Observation/bw-8", headers: Self.json.merging(["If-Match": #"W/"1""#]) { $1 },
                body: JSONSerializer.string(try Self.weight(70.5, subject: "Patient/p1", id: "bw-8")))
            #expect(ifMatchNew.status == .preconditionFailed, "\(ifMatchNew.body)")
            #expect(try await Weights.rows(server).isEmpty)
            // A stale If-Match on a seen resource: 412, nothing changed.
            let created = try await server.send(.put, "/fhir/Observation/bw-9", headers: Self.json, body: JSONSerializer.string(try Self.weight(70.5, subject: "Patient/p1", id: "bw-9")))
            #expect(created.status == .created, "\(created.body)")
            var stale = Self.entry("PUT", "Observation/bw-9", try Self.weight(75, subject: "Patient/p1", id: "bw-9"))
            if case .object(var object) = stale, case .object(var request)? = object["request"] {
                request["ifMatch"] = "W/\"4\""
                object["request"] = .object(request)
                stale = .object(object)
            }
            let refusedUpdate = try await server.send(.post, "/fhir", headers: Self.json, body: Self.transaction([stale]))
            #expect(refusedUpdate.status == .preconditionFailed, "\(refusedUpdate.body)")
            #expect(try await Weights.rows(server).map { $0[2] } == [.number("70.5")])
        }
    }

    /// A Synthea patient's bundle imported with the body-weight mapping:
    /// as many compositions as the bundle has body weights, FHIR search
    /// totals as without the mapping, and a second import writes nothing.
    @Test(arguments: TestEngine.available)
    func aSyntheaImportStoresItsBodyWeightsAsCompositions(engine: TestEngine) async throws {
        try await Weights.withServer(engine) { server, _ in
            let folder = Corpus.root.appendingPathComponent("fhir/synthea")
            for name in ["0-hospitalInformation1625911868739", "0-practitionerInformation1625911868739"] {
                let batch = try FHIRImportFiles.read(folder.appendingPathComponent(name + ".json.bz2").path)
                #expect(try await server.send(.post, "/fhir", headers: Self.json, body: String(decoding: batch, as: UTF8.self)).status == .ok)
            }
            let bundle = FHIRImporter.withClientIDs(
                try JSONParser.parse(try FHIRImportFiles.read(folder.appendingPathComponent("8a4c9c04-1524-9f1c-d65b-9b17e4520fef.json.bz2").path)))
            let resources = (bundle["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
            let observations = resources.filter { $0["resourceType"] == "Observation" }
            let weights = observations.filter { observation in
                observation["code"]?["coding"]?.arrayValue?.contains { $0["code"] == "29463-7" } == true
            }
            #expect(weights.count == 3)
            let patient = try #require(resources.first { $0["resourceType"] == "Patient" }?["id"]?.stringValue)

            let first = try await server.send(.post, "/fhir", headers: Self.json, body: JSONSerializer.string(bundle))
            #expect(first.status == .ok, "\(first.body.prefix(2000))")
            let ehrID = try #require(try await FHIRPatientEHRTests.ehr(server, patient: patient).json["ehr_id"]?["value"]?.stringValue)
            let stored = try await Self.kilograms(server, ehrID: ehrID)
            #expect(stored.count == weights.count)
            #expect(Set(stored.compactMap(Double.init)) == Set(weights.compactMap { weight -> Double? in
                if case .number(let text)? = weight["valueQuantity"]?["value"] { Double(text) } else { nil }
            }))
            // Every Observation is found as before, mapped or not, each under its bundle id.
            let total = try await server.send(.get, "/fhir/Observation?patient=\(patient)&_summary=count", headers: Self.json)
            #expect(total.json["total"] == .number(String(observations.count)), "\(total.body)")
            for weight in weights {
                let id = try #require(weight["id"]?.stringValue)
                #expect(try await server.send(.get, "/fhir/Observation/\(id)", headers: Self.json).json["meta"]?["versionId"] == "1")
            }

            let second = try await server.send(.post, "/fhir", headers: Self.json, body: JSONSerializer.string(bundle))
            #expect(second.status == .ok, "\(second.body.prefix(2000))")
            let created = second.json["entry"]?.arrayValue?.filter { $0["response"]?["status"] == "201 Created" }.count
            #expect(created == 0, "\(second.body.prefix(2000))")
            #expect(try await Self.kilograms(server, ehrID: ehrID).count == weights.count)
        }
    }
}
