import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Services
import Storage
import Testing

/// FHIR R4 RESTful interactions (R4 §http): create, read, vread, update,
/// patch, delete, history, with their headers and status codes, on both engines.
@Suite("FHIR REST: interactions")
struct FHIRRoutesTests {
    static let patient = #"{"resourceType": "Patient", "name": [{"family": "Dupont", "given": ["Anne"]}], "gender": "female", "birthDate": "1970-01-01"}"#
    static let json = ["Content-Type": "application/fhir+json"]

    static func observation(patient: String, value: Int = 120) -> String {
        #"""
        {"resourceType": "Observation", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
         "subject": {"reference": "\#(patient)"}, "valueQuantity": {"value": \#(value), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}
        """#
    }

    /// Creates a resource; its id.
    static func create(_ server: TestServer, _ type: String, _ body: String) async throws -> String {
        let reply = try await server.send(.post, "/fhir/\(type)", headers: json, body: body)
        guard reply.status == .created, let id = reply.json["id"]?.stringValue else { throw TestDatabaseError("create \(type): \(reply.status) \(reply.body)") }
        return id
    }

    /// R4 §create, §read, §vread: server id, meta, ETag W/"n", Last-Modified, Location with _history.
    @Test(arguments: TestEngine.available)
    func createReadVread(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let created = try await server.send(.post, "/fhir/Patient", headers: Self.json, body: #"{"resourceType": "Patient", "id": "ignored", "gender": "male"}"#)
            #expect(created.status == .created, "\(created.body)")
            let id = try #require(created.json["id"]?.stringValue)
            #expect(id != "ignored")
            #expect(created.headers[.eTag] == #"W/"1""#)
            #expect(created.headers[.location]?.hasSuffix("/fhir/Patient/\(id)/_history/1") == true)
            #expect(created.headers[.lastModified]?.hasSuffix("GMT") == true)
            #expect(created.headers[.contentType] == "application/fhir+json; charset=utf-8")
            #expect(created.json["meta"]?["versionId"]?.stringValue == "1")
            let lastUpdated = try #require(created.json["meta"]?["lastUpdated"]?.stringValue)

            let read = try await server.send(.get, "/fhir/Patient/\(id)")
            #expect(read.status == .ok && read.json["gender"]?.stringValue == "male" && read.json["meta"]?["lastUpdated"]?.stringValue == lastUpdated)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)/_history/1").json["id"]?.stringValue == id)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)/_history/2").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)/_history/x").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Patient/unknown").status == .notFound)

            // Conditional read (R4 §cread): If-None-Match on the current version, If-Modified-Since not before it.
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["If-None-Match": #"W/"1""#]).status == .notModified)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["If-None-Match": #"W/"0""#]).status == .ok)
            let modified = try #require(created.headers[.lastModified])
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["If-Modified-Since": modified]).status == .notModified)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"]).status == .ok)

            // Every write is an audited contribution by the signed-in user.
            let record = try #require(try await server.database.store.versions.latestVersion(objectID: "Patient/\(id)"))
            #expect(record.audit.committer.contains("alice") && record.audit.changeType == "249" && record.patientID == "Patient/\(id)")
        }
    }

    /// R4 §update: a new version; If-Match must name the latest (412); update as create with the client's id (201).
    @Test(arguments: TestEngine.available)
    func updateAndUpdateAsCreate(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await Self.create(server, "Patient", Self.patient)
            let body = Self.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(id)", "active": true,"#)
            let updated = try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json.merging(["If-Match": #"W/"1""#]) { $1 }, body: body)
            #expect(updated.status == .ok, "\(updated.body)")
            #expect(updated.headers[.eTag] == #"W/"2""# && updated.json["meta"]?["versionId"]?.stringValue == "2" && updated.json["active"] == .bool(true))
            let stale = try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json.merging(["If-Match": #"W/"1""#]) { $1 }, body: body)
            #expect(stale.status == .preconditionFailed)
            #expect(stale.json["resourceType"]?.stringValue == "OperationOutcome" && stale.json["issue"]?.arrayValue?.first?["code"]?.stringValue == "conflict")
            // A PUT that changes nothing writes no version.
            let same = try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: body)
            #expect(same.status == .ok && same.headers[.eTag] == #"W/"2""#)
            #expect(try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: body.replacingOccurrences(of: "true", with: "false")).headers[.eTag] == #"W/"3""#)

            let clientID = "anne-dupont.1"
            let asCreate = try await server.send(
                .put, "/fhir/Patient/\(clientID)", headers: Self.json,
                body: Self.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(clientID)","#))
            #expect(asCreate.status == .created && asCreate.headers[.eTag] == #"W/"1""#, "\(asCreate.body)")
            #expect(try await server.send(.get, "/fhir/Patient/\(clientID)").status == .ok)

            // The body's id must be the URL's; an id must follow R4's rule.
            #expect(try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: Self.patient).status == .badRequest)
            let other = body.replacingOccurrences(of: id, with: "other")
            #expect(try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: other).status == .badRequest)
            let badID = String(repeating: "a", count: 65)
            let tooLong = try await server.send(
                .put, "/fhir/Patient/\(badID)", headers: Self.json, body: Self.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(badID)","#))
            #expect(tooLong.status == .badRequest)
        }
    }

    /// Two updates naming the same version at once: one is stored, the other
    /// is refused (412), through the service (the HTTP test client cannot race).
    @Test(arguments: TestEngine.available)
    func concurrentUpdatesWithOneIfMatch(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test")
            let committal = Committal(committer: .identified(name: "t"))
            let id = try await service.create(type: "Patient", resource: try JSONParser.parse(Self.patient), committal: committal).id
            for round in 1...3 {
                let body = try JSONParser.parse(
                    Self.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(id)", "multipleBirthInteger": \#(round),"#))
                let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
                    for _ in 0..<4 {
                        group.addTask {
                            do {
                                return "v\(try await service.update(type: "Patient", id: id, resource: body, ifMatch: round, committal: committal).0.versionID)"
                            } catch let error as ServiceError {
                                return error.kind.rawValue
                            }
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(outcomes.sorted() == ["preconditionFailed", "preconditionFailed", "preconditionFailed", "v\(round + 1)"], "\(outcomes)")
            }
        }
    }

    /// R4 §delete: a deleted version; read then answers 410, earlier versions stay readable; deleting again succeeds.
    @Test(arguments: TestEngine.available)
    func deleteThenGone(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await Self.create(server, "Patient", Self.patient)
            let deleted = try await server.send(.delete, "/fhir/Patient/\(id)")
            #expect(deleted.status == .ok && deleted.headers[.eTag] == #"W/"2""#)
            let gone = try await server.send(.get, "/fhir/Patient/\(id)")
            #expect(gone.status == .gone && gone.json["issue"]?.arrayValue?.first?["code"]?.stringValue == "deleted")
            #expect(try await server.send(.get, "/fhir/Patient/\(id)/_history/1").status == .ok)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)/_history/2").status == .gone)
            #expect(try await server.send(.delete, "/fhir/Patient/\(id)").status == .ok)
            #expect(try await server.send(.delete, "/fhir/Patient/never-was").status == .ok)
            let history = try await server.send(.get, "/fhir/Patient/\(id)/_history")
            #expect(history.json["total"] == .number("2"))
            let entries = history.json["entry"]?.arrayValue ?? []
            #expect(entries.map { $0["request"]?["method"]?.stringValue } == ["DELETE", "POST"])
            #expect(entries.first?["resource"] == nil && entries.first?["response"]?["status"]?.stringValue == "204")
            // Updating a deleted resource brings it back as a new version.
            let body = Self.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(id)","#)
            #expect(try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: body).headers[.eTag] == #"W/"3""#)
        }
    }

    /// R4 §patch: JSON Patch and FHIRPath Patch, with If-Match; a patch that breaks the resource is refused.
    @Test(arguments: TestEngine.available)
    func patches(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await Self.create(server, "Patient", Self.patient)
            let jsonPatch = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json-patch+json", "If-Match": #"W/"1""#],
                body: #"[{"op": "replace", "path": "/gender", "value": "other"}, {"op": "add", "path": "/active", "value": true}]"#)
            #expect(jsonPatch.status == .ok, "\(jsonPatch.body)")
            #expect(jsonPatch.json["gender"]?.stringValue == "other" && jsonPatch.json["meta"]?["versionId"]?.stringValue == "2")
            let fhirPath = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: Self.json,
                body: #"""
                    {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
                      {"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.birthDate"}, {"name": "value", "valueDate": "1971-02-03"}]}]}
                    """#)
            #expect(fhirPath.status == .ok, "\(fhirPath.body)")
            #expect(fhirPath.json["birthDate"]?.stringValue == "1971-02-03" && fhirPath.headers[.eTag] == #"W/"3""#)
            let stale = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json-patch+json", "If-Match": #"W/"1""#],
                body: #"[{"op": "remove", "path": "/active"}]"#)
            #expect(stale.status == .preconditionFailed)
            let breaking = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json-patch+json"], body: #"[{"op": "replace", "path": "/gender", "value": 3}]"#)
            #expect(breaking.status == .unprocessableContent, "\(breaking.body)")
            let impossible = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json-patch+json"], body: #"[{"op": "remove", "path": "/nothing"}]"#)
            #expect(impossible.status == .unprocessableContent)
            #expect(try await server.send(.patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "text/plain"], body: "x").status == .unsupportedMediaType)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)").headers[.eTag] == #"W/"3""#)
            // JSON Merge Patch (RFC 7386), as merge-patch+json or as a partial resource (fhirpy, Aidbox).
            let merged = try await server.send(
                .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/merge-patch+json"], body: #"{"gender": null, "active": false}"#)
            #expect(merged.status == .ok && merged.json["gender"] == nil && merged.json["active"] == .bool(false), "\(merged.body)")
            let partial = try await server.send(.patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json"], body: #"{"birthDate": "1972-01-01"}"#)
            #expect(partial.json["birthDate"]?.stringValue == "1972-01-01" && partial.json["name"] != nil && partial.headers[.eTag] == #"W/"5""#)
        }
    }

    /// R4 §history: type and system levels, newest first, `_count` pages with next/previous links, `_since`.
    @Test(arguments: TestEngine.available)
    func historyPaging(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let patient = try await Self.create(server, "Patient", Self.patient)
            var observations: [String] = []
            for value in 0..<5 { observations.append(try await Self.create(server, "Observation", Self.observation(patient: "Patient/\(patient)", value: 100 + value))) }
            let page = try await server.send(.get, "/fhir/Observation/_history?_count=2")
            #expect(page.json["type"]?.stringValue == "history" && page.json["total"] == .number("5"))
            #expect(page.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["id"]?.stringValue } == [observations[4], observations[3]])
            let links = page.json["link"]?.arrayValue ?? []
            let next = try #require(links.first { $0["relation"]?.stringValue == "next" }?["url"]?.stringValue)
            #expect(links.first { $0["relation"]?.stringValue == "previous" } == nil)
            let path = String(next[next.range(of: "/fhir/")!.lowerBound...])
            let second = try await server.send(.get, path)
            #expect(second.json["entry"]?.arrayValue?.compactMap { $0["resource"]?["id"]?.stringValue } == [observations[2], observations[1]])
            #expect((second.json["link"]?.arrayValue ?? []).contains { $0["relation"]?.stringValue == "previous" })

            let system = try await server.send(.get, "/fhir/_history")
            #expect(system.json["total"] == .number("6"))
            let future = try await server.send(.get, "/fhir/_history?_since=2999-01-01T00:00:00Z")
            #expect(future.json["total"] == .number("0"))
            #expect(try await server.send(.get, "/fhir/_history?_since=yesterday").status == .badRequest)
            #expect(try await server.send(.get, "/fhir/_history?_count=-1").status == .badRequest)
            for bad in ["_at=noon", "_offset=-3", "_count=x", "_count=1001"] {
                let reply = try await server.send(.get, "/fhir/_history?\(bad)")
                #expect(reply.status == .badRequest && reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(bad)")
            }
            // The Observations concern their patient (the Patient compartment).
            let record = try #require(try await server.database.store.versions.latestVersion(objectID: "Observation/\(observations[0])"))
            #expect(record.patientID == "Patient/\(patient)")
        }
    }

    /// R4 §http: JSON and XML by _format and Accept, _pretty; 406 and 415 for formats this server does not speak.
    @Test(arguments: [TestEngine.sqlite])
    func formats(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let xml = #"<Patient xmlns="http://hl7.org/fhir"><gender value="female"/><birthDate value="1980-05-06"/></Patient>"#
            let created = try await server.send(.post, "/fhir/Patient", headers: ["Content-Type": "application/fhir+xml", "Accept": "application/fhir+xml"], body: xml)
            #expect(created.status == .created, "\(created.body)")
            #expect(created.headers[.contentType] == "application/fhir+xml; charset=utf-8")
            #expect(created.body.contains(#"<birthDate value="1980-05-06"/>"#) && created.body.contains(#"<versionId value="1"/>"#))
            let id = try #require(try await server.send(.get, "/fhir/Patient/_history").json["entry"]?.arrayValue?.first?["resource"]?["id"]?.stringValue)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)?_format=xml").body.hasPrefix("<?xml"))
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["Accept": "application/xml;q=0.5, application/fhir+json"]).json["id"]?.stringValue == id)
            let pretty = try await server.send(.get, "/fhir/Patient/\(id)?_pretty=true")
            #expect(pretty.body.contains("\n  \"resourceType\": \"Patient\""))
            #expect(try await server.send(.get, "/fhir/Patient/\(id)", headers: ["Accept": "text/html"]).status == .notAcceptable)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)?_format=html").status == .notAcceptable)
            #expect(try await server.send(.post, "/fhir/Patient", headers: ["Content-Type": "text/plain"], body: "x").status == .unsupportedMediaType)
            #expect(try await server.send(.post, "/fhir/Patient", headers: ["Content-Type": "application/fhir+xml"], body: "<Patient").status == .badRequest)
        }
    }

    /// R4 §http, §OperationOutcome: bad input is refused with an OperationOutcome naming where, and nothing is stored.
    @Test(arguments: TestEngine.available)
    func badInputIsAnOperationOutcome(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let before = try await server.database.store.versions.history(HistoryQuery(limit: 1)).total
            let cases: [(String, String, HTTPResponse.Status, String?)] = [
                ("Patient", #"{"resourceType": "Patient", "gender": "#, .badRequest, nil),
                ("Patient", #"{"resourceType": "Patient", "colour": "blue"}"#, .badRequest, "Patient.colour"),
                ("Patient", #"{"resourceType": "Patient", "active": "yes"}"#, .badRequest, "Patient.active"),
                ("Patient", #"{"resourceType": "Observation", "status": "final"}"#, .badRequest, "resourceType"),
                ("Patient", #"{"resourceType": "Patient", "gender": "feminine"}"#, .unprocessableContent, "Patient.gender"),
                ("Observation", #"{"resourceType": "Observation", "code": {"text": "x"}}"#, .unprocessableContent, nil),
                ("Unicorn", #"{"resourceType": "Unicorn"}"#, .notFound, nil),
                ("Patient", "[]", .badRequest, nil),
            ]
            for (type, body, status, location) in cases {
                let reply = try await server.send(.post, "/fhir/\(type)", headers: Self.json, body: body)
                #expect(reply.status == status, "\(body): \(reply.status) \(reply.body)")
                #expect(reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(reply.body)")
                if let location {
                    let expressions = (reply.json["issue"]?.arrayValue ?? []).flatMap { $0["expression"]?.arrayValue ?? [] }.compactMap(\.stringValue)
                    #expect(expressions.contains { $0.hasPrefix(location) }, "\(body): \(expressions)")
                }
            }
            let unauthenticated = try await server.send(.get, "/fhir/Patient/x", as: nil)
            #expect(unauthenticated.status == .unauthorized && unauthenticated.json["issue"]?.arrayValue?.first?["code"]?.stringValue == "login")
            #expect(try await server.send(.post, "/fhir/Patient", headers: Self.json).status == .badRequest)
            #expect(try await server.database.store.versions.history(HistoryQuery(limit: 1)).total == before)
        }
    }
}
