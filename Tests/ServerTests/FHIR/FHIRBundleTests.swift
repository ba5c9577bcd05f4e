import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Storage
import Testing

/// R4 §http transaction and batch: one contribution for a transaction, all
/// or nothing; `urn:uuid` and conditional references; the processing order;
/// a response entry per request entry.
@Suite("FHIR REST: transactions and batches")
struct FHIRBundleTests {
    static let json = ["Content-Type": "application/fhir+json"]

    static func bundle(_ type: String, _ entries: [String]) -> String {
        #"{"resourceType": "Bundle", "type": "\#(type)", "entry": [\#(entries.joined(separator: ", "))]}"#
    }

    static func entry(_ method: String, _ url: String, fullUrl: String? = nil, resource: String? = nil, extra: String = "") -> String {
        var parts: [String] = []
        if let fullUrl { parts.append(#""fullUrl": "\#(fullUrl)""#) }
        if let resource { parts.append(#""resource": \#(resource)"#) }
        parts.append(#""request": {"method": "\#(method)", "url": "\#(url)"\#(extra)}"#)
        return "{" + parts.joined(separator: ", ") + "}"
    }

    static func count(_ server: TestServer) async throws -> Int {
        try await server.database.store.versions.history(HistoryQuery(limit: 1)).total
    }

    /// A reference loop in a transaction (R4 §transaction: references
    /// between its entries are resolved together): two new Patients linking
    /// each other by `urn:uuid` are both created, each naming the other's new
    /// id; a loop of conditional references to nothing fails as a whole (412).
    @Test(arguments: TestEngine.available)
    func aReferenceLoopIsResolvedOrRefusedWhole(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (a, b) = ("urn:uuid:0b8e2c52-0000-4000-8000-00000000000a", "urn:uuid:0b8e2c52-0000-4000-8000-00000000000b")
            func patient(linkingTo other: String) -> String {
                #"{"resourceType": "Patient", "link": [{"other": {"reference": "\#(other)"}, "type": "seealso"}]}"#
            }
            let loop = Self.bundle("transaction", [
                Self.entry("POST", "Patient", fullUrl: a, resource: patient(linkingTo: b)),
                Self.entry("POST", "Patient", fullUrl: b, resource: patient(linkingTo: a)),
            ])
            let reply = try await server.send(.post, "/fhir", headers: Self.json, body: loop)
            #expect(reply.status == .ok, "\(reply.body)")
            let locations = (reply.json["entry"]?.arrayValue ?? []).compactMap { $0["response"]?["location"]?.stringValue?.components(separatedBy: "/_history").first }
            #expect(locations.count == 2)
            if locations.count == 2 {
                let first = try await server.send(.get, "/fhir/" + locations[0])
                let second = try await server.send(.get, "/fhir/" + locations[1])
                #expect(first.json["link"]?.arrayValue?.first?["other"]?["reference"]?.stringValue == locations[1])
                #expect(second.json["link"]?.arrayValue?.first?["other"]?["reference"]?.stringValue == locations[0])
            }
            let before = try await Self.count(server)
            let conditionalLoop = Self.bundle("transaction", [
                Self.entry("POST", "Patient", fullUrl: a, resource: patient(linkingTo: "Patient?identifier=nobody-1")),
                Self.entry("POST", "Patient", fullUrl: b, resource: patient(linkingTo: "Patient?identifier=nobody-2")),
            ])
            let refused = try await server.send(.post, "/fhir", headers: Self.json, body: conditionalLoop)
            #expect(refused.status == .preconditionFailed && refused.json["resourceType"]?.stringValue == "OperationOutcome", "\(refused.body)")
            #expect(try await Self.count(server) == before)
        }
    }

    /// Criteria holding a URL (`identifier=http://hl7.org/fhir/sid/us-npi|…`,
    /// as Synthea writes them) are criteria all the same: the reference is
    /// resolved, in a transaction and in a batch; no match fails it (412).
    @Test(arguments: TestEngine.available)
    func conditionalReferencesWithURLsInTheirCriteria(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let npi = #"{"resourceType": "Practitioner", "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "9999999659"}]}"#
            let practitioner = try await FHIRRoutesTests.create(server, "Practitioner", npi)
            let condition = "Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999999659"
            let encounter = #"{"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"}, "participant": [{"individual": {"reference": "\#(condition)"}}]}"#
            for type in ["transaction", "batch"] {
                let reply = try await server.send(.post, "/fhir", headers: Self.json, body: Self.bundle(type, [Self.entry("POST", "Encounter", resource: encounter)]))
                let location = reply.json["entry"]?.arrayValue?.first?["response"]?["location"]?.stringValue?.components(separatedBy: "/_history").first ?? ""
                let stored = try await server.send(.get, "/fhir/" + location)
                #expect(stored.json["participant"]?.arrayValue?.first?["individual"]?["reference"]?.stringValue == "Practitioner/\(practitioner)", "\(type): \(stored.body)")
            }
            let missing = encounter.replacingOccurrences(of: "9999999659", with: "0000000000")
            #expect(try await server.send(.post, "/fhir", headers: Self.json, body: Self.bundle("transaction", [Self.entry("POST", "Encounter", resource: missing)])).status == .preconditionFailed)
        }
    }

    @Test(arguments: TestEngine.available)
    func aTransactionResolvesItsReferencesAndCommitsOnce(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            try await server.send(.post, "/fhir/Practitioner", headers: Self.json, body: FHIRConditionalTests.practitioner("30001"))
            let patient = "urn:uuid:8f3c3a1e-1111-4a4a-9b9b-000000000001"
            let observation = FHIRRoutesTests.observation(patient: patient).replacingOccurrences(
                of: #""status": "final","#, with: #""status": "final", "performer": [{"reference": "Practitioner?identifier=urn:oid:1.2.250.1.71.4.2.1|30001"}],"#)
            let body = Self.bundle("transaction", [
                Self.entry("POST", "Observation", fullUrl: "urn:uuid:8f3c3a1e-1111-4a4a-9b9b-000000000002", resource: observation),
                Self.entry("POST", "Patient", fullUrl: patient, resource: FHIRRoutesTests.patient),
            ])
            let reply = try await server.send(.post, "/fhir", headers: Self.json, body: body)
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(reply.json["type"]?.stringValue == "transaction-response")
            let entries = reply.json["entry"]?.arrayValue ?? []
            #expect(entries.map { $0["response"]?["status"]?.stringValue } == ["201 Created", "201 Created"])
            let observationURL = try #require(entries[0]["response"]?["location"]?.stringValue)
            let patientURL = try #require(entries[1]["response"]?["location"]?.stringValue)
            #expect(patientURL.hasPrefix("Patient/") && patientURL.hasSuffix("/_history/1"))
            let stored = try await server.send(.get, "/fhir/" + observationURL.replacingOccurrences(of: "/_history/1", with: ""))
            #expect(stored.json["subject"]?["reference"]?.stringValue == patientURL.replacingOccurrences(of: "/_history/1", with: ""))
            #expect(stored.json["performer"]?.arrayValue?.first?["reference"]?.stringValue?.hasPrefix("Practitioner/") == true)
            // One contribution holds both versions; the Observation concerns the Patient.
            let record = try #require(try await server.database.store.versions.latestVersion(objectID: String(observationURL.prefix { $0 != "_" }.dropLast())))
            let patientRecord = try #require(try await server.database.store.versions.latestVersion(objectID: String(patientURL.prefix { $0 != "_" }.dropLast())))
            #expect(record.contributionID == patientRecord.contributionID)
            #expect(record.patientID == patientRecord.objectID)
        }
    }

    @Test(arguments: TestEngine.available)
    func aFailingTransactionLeavesNothing(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let existing = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let before = try await Self.count(server)
            let good = Self.entry("POST", "Patient", resource: FHIRRoutesTests.patient)
            let cases: [(String, HTTPResponse.Status, String)] = [
                (Self.bundle("transaction", [good, Self.entry("POST", "Patient", resource: #"{"resourceType": "Patient", "gender": "feminine"}"#)]), .unprocessableContent, "Bundle.entry[1].resource.gender"),
                (Self.bundle("transaction", [good, Self.entry("POST", "Patient", resource: #"{"resourceType": "Patient", "colour": 1}"#)]), .badRequest, "Bundle.entry[1].resource.colour"),
                (Self.bundle("transaction", [good, Self.entry("POST", "Observation", resource: FHIRRoutesTests.observation(patient: "Practitioner?identifier=none"))]), .preconditionFailed, "Bundle.entry[1]"),
                (Self.bundle("transaction", [good, Self.entry("POST", "Observation", resource: FHIRRoutesTests.observation(patient: "urn:uuid:0000"))]), .badRequest, "Bundle.entry[1]"),
                (Self.bundle("transaction", [good, Self.entry("PUT", "Patient/\(existing)", resource: FHIRRoutesTests.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(existing)","#), extra: #", "ifMatch": "W/\"7\"""#)]), .preconditionFailed, "Bundle.entry[1]"),
                (Self.bundle("transaction", [Self.entry("DELETE", "Patient/\(existing)"), Self.entry("GET", "Patient/\(existing)"), Self.entry("PATCH", "Patient/\(existing)", resource: #"{"resourceType": "Parameters"}"#)]), .badRequest, "Bundle.entry[2]"),
                (Self.bundle("transaction", [good, Self.entry("POST", "Patient/1", resource: FHIRRoutesTests.patient)]), .badRequest, "Bundle.entry[1].request.url"),
                (Self.bundle("transaction", [good, Self.entry("POST", "Observation", resource: FHIRRoutesTests.patient)]), .badRequest, "Bundle.entry[1].resource.resourceType"),
                (Self.bundle("collection", [good]), .badRequest, "Bundle.type"),
                (Self.bundle("transaction", [good, Self.entry("PUT", "Patient/\(existing)", resource: FHIRRoutesTests.patient, extra: #", "ifMatch": "W/\"x\"""#)]), .badRequest, "Bundle.entry[1].request.ifMatch"),
                (Self.bundle("transaction", [good, #"{"resource": {"resourceType": "Patient"}, "request": {"url": "Patient"}}"#]), .badRequest, "Bundle.entry[1].request.method"),
                (Self.bundle("transaction", [good, Self.entry("PUT", "Patient/\(String(repeating: "x", count: 70))", resource: FHIRRoutesTests.patient)]), .badRequest, "id"),
                (#"{"resourceType": "Patient"}"#, .badRequest, "resourceType"),
            ]
            for (body, status, location) in cases {
                let reply = try await server.send(.post, "/fhir", headers: Self.json, body: body)
                #expect(reply.status == status, "\(location): \(reply.status) \(reply.body)")
                let expressions = (reply.json["issue"]?.arrayValue ?? []).flatMap { $0["expression"]?.arrayValue ?? [] }.compactMap(\.stringValue)
                #expect(expressions.contains { $0.hasPrefix(location) }, "\(location): \(expressions) \(reply.body)")
                #expect(try await Self.count(server) == before, "\(location): something was stored")
            }
        }
    }

    /// R4 §transaction order: DELETE, POST, PUT/PATCH, GET, whatever the entries' order; ifNoneExist answers a match as it is.
    @Test(arguments: TestEngine.available)
    func entriesRunInTheOrderR4Gives(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let doomed = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let kept = try await FHIRRoutesTests.create(server, "Practitioner", FHIRConditionalTests.practitioner("40001"))
            let matched = try await FHIRRoutesTests.create(server, "Practitioner", FHIRConditionalTests.practitioner("40002"))
            let body = Self.bundle("transaction", [
                Self.entry("GET", "Patient/\(doomed)"),
                Self.entry("PUT", "Patient/chosen-id", resource: FHIRRoutesTests.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "chosen-id","#)),
                Self.entry("POST", "Practitioner", resource: FHIRConditionalTests.practitioner("40002"), extra: #", "ifNoneExist": "identifier=40002""#),
                Self.entry("PATCH", "Practitioner/\(kept)", resource: #"{"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Practitioner"}, {"name": "name", "valueString": "active"}, {"name": "value", "valueBoolean": true}]}]}"#),
                Self.entry("DELETE", "Patient/\(doomed)"),
            ])
            let reply = try await server.send(.post, "/fhir", headers: Self.json, body: body)
            #expect(reply.status == .ok, "\(reply.body)")
            let statuses = (reply.json["entry"]?.arrayValue ?? []).map { $0["response"]?["status"]?.stringValue ?? "" }
            // The GET ran after the DELETE; the POST's ifNoneExist matched a Practitioner, answered as it is.
            #expect(statuses == ["410 Gone", "201 Created", "200 OK", "200 OK", "204 No Content"], "\(statuses)")
            #expect(reply.json["entry"]?.arrayValue?[2]["response"]?["location"]?.stringValue == "Practitioner/\(matched)/_history/1")
            #expect(try await server.send(.get, "/fhir/Practitioner/\(kept)").json["active"] == .bool(true))
            #expect(try await server.send(.get, "/fhir/Patient/chosen-id").status == .ok)
        }
    }

    @Test(arguments: TestEngine.available)
    func aBatchRunsEachEntryOnItsOwn(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let body = Self.bundle("batch", [
                Self.entry("POST", "Patient", resource: FHIRRoutesTests.patient),
                Self.entry("POST", "Patient", resource: #"{"resourceType": "Patient", "gender": "feminine"}"#),
                Self.entry("GET", "Patient/nobody"),
                Self.entry("DELETE", "Patient?identifier=none"),
            ])
            let reply = try await server.send(.post, "/fhir", headers: Self.json, body: body)
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(reply.json["type"]?.stringValue == "batch-response")
            let entries = reply.json["entry"]?.arrayValue ?? []
            #expect(entries.map { $0["response"]?["status"]?.stringValue ?? "" } == ["201 Created", "422 Unprocessable Content", "404 Not Found", "204 No Content"])
            #expect(entries[1]["response"]?["outcome"]?["resourceType"]?.stringValue == "OperationOutcome")
            #expect(try await Self.count(server) == 1)
        }
    }
}
