import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Testing

/// R4 §CapabilityStatement: `/fhir/metadata` says what the server does, and
/// every interaction it declares is exercised here against the server.
@Suite("FHIR REST: capability statement")
struct FHIRCapabilityTests {
    @Test(arguments: TestEngine.available)
    func everyDeclaredInteractionWorks(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let metadata = try await server.send(.get, "/fhir/metadata", as: nil)
            #expect(metadata.status == .ok)
            let statement = metadata.json
            #expect(statement["resourceType"]?.stringValue == "CapabilityStatement" && statement["fhirVersion"]?.stringValue == "4.0.1")
            #expect(statement["kind"]?.stringValue == "instance")
            let rest = try #require(statement["rest"]?.arrayValue?.first)
            let resources = rest["resource"]?.arrayValue ?? []
            #expect(resources.count > 140, "every stored resource type: \(resources.count)")
            #expect(!resources.contains { $0["type"]?.stringValue == "Parameters" })
            let patient = try #require(resources.first { $0["type"]?.stringValue == "Patient" })
            #expect(patient["versioning"]?.stringValue == "versioned" && patient["updateCreate"] == .bool(true))
            let declared = (patient["interaction"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
            let system = (rest["interaction"]?.arrayValue ?? []).compactMap { $0["code"]?.stringValue }
            let formats = Set(statement["format"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(formats.isSuperset(of: ["application/fhir+json", "application/fhir+xml"]))

            let json = ["Content-Type": "application/fhir+json"]
            let id = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let body = FHIRRoutesTests.patient.replacingOccurrences(of: #""Patient","#, with: #""Patient", "id": "\#(id)","#)
            var exercised: [String] = []
            for code in declared + system {
                let reply: Reply
                switch code {
                case "create": reply = try await server.send(.post, "/fhir/Patient", headers: json, body: FHIRRoutesTests.patient)
                case "read": reply = try await server.send(.get, "/fhir/Patient/\(id)")
                case "vread": reply = try await server.send(.get, "/fhir/Patient/\(id)/_history/1")
                case "update": reply = try await server.send(.put, "/fhir/Patient/\(id)", headers: json, body: body)
                case "patch":
                    reply = try await server.send(
                        .patch, "/fhir/Patient/\(id)", headers: ["Content-Type": "application/json-patch+json"], body: #"[{"op": "add", "path": "/active", "value": true}]"#)
                case "history-instance": reply = try await server.send(.get, "/fhir/Patient/\(id)/_history")
                case "history-type": reply = try await server.send(.get, "/fhir/Patient/_history")
                case "history-system": reply = try await server.send(.get, "/fhir/_history")
                case "transaction", "batch":
                    reply = try await server.send(
                        .post, "/fhir", headers: json,
                        body: FHIRBundleTests.bundle(code, [FHIRBundleTests.entry("POST", "Patient", resource: FHIRRoutesTests.patient)]))
                    #expect(reply.json["entry"]?.arrayValue?.first?["response"]?["status"]?.stringValue == "201 Created", "\(code): \(reply.body)")
                case "search-type":
                    reply = try await server.send(.get, "/fhir/Patient?_id=\(id)")
                    #expect(reply.json["total"] == 1 && reply.json["type"]?.stringValue == "searchset", "\(reply.body)")
                    let declaredParameters = (patient["searchParam"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
                    #expect(declaredParameters.contains("family") && declaredParameters.contains("birthdate") && declaredParameters.contains("_id"))
                    for parameter in declaredParameters {
                        let search = try await server.send(.get, "/fhir/Patient?\(parameter)=x", headers: ["Prefer": "handling=strict"])
                        #expect([200, 400].contains(search.status.code), "\(parameter): \(search.status)")
                        #expect(!search.body.contains("not a search parameter of Patient that this server supports"), "\(parameter) is declared but refused")
                    }
                case "search-system":
                    reply = try await server.send(.get, "/fhir?_type=Patient&_id=\(id)")
                    #expect(reply.json["total"] == 1 && reply.json["type"]?.stringValue == "searchset", "\(reply.body)")
                case "delete": continue
                default:
                    Issue.record("the statement declares '\(code)', which this test does not exercise")
                    continue
                }
                #expect((200..<300).contains(reply.status.code), "\(code): \(reply.status) \(reply.body)")
                exercised.append(code)
            }
            if declared.contains("delete") {
                #expect(try await server.send(.delete, "/fhir/Patient/\(id)").status == .ok)
                exercised.append("delete")
            }
            #expect(Set(exercised) == Set(declared + system))

            // The operations it declares, and the profiles it holds (FR Core by default).
            for operation in patient["operation"]?.arrayValue ?? [] {
                switch operation["name"]?.stringValue {
                case "validate":
                    let reply = try await server.send(.post, "/fhir/Patient/$validate", headers: json, body: FHIRRoutesTests.patient)
                    #expect(reply.status == .ok && reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(reply.body)")
                case "everything":
                    let living = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
                    let reply = try await server.send(.get, "/fhir/Patient/\(living)/$everything")
                    #expect(reply.status == .ok && reply.json["type"]?.stringValue == "searchset", "\(reply.body)")
                default: Issue.record("the statement declares the operation \(operation), which this test does not exercise")
                }
            }
            #expect(patient["operation"]?.arrayValue?.count == 2)
            let profiles = patient["supportedProfile"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(profiles.contains("https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"), "\(profiles)")

            // The conditional interactions it declares.
            let practitioner = FHIRConditionalTests.practitioner("cap-1")
            if patient["conditionalCreate"] == .bool(true) {
                let headers = json.merging(["If-None-Exist": "identifier=cap-1"]) { $1 }
                #expect(try await server.send(.post, "/fhir/Practitioner", headers: headers, body: practitioner).status == .created)
                #expect(try await server.send(.post, "/fhir/Practitioner", headers: headers, body: practitioner).status == .ok)
            }
            if patient["conditionalUpdate"] == .bool(true) {
                let changed = FHIRConditionalTests.practitioner("cap-1", family: "Petit")
                #expect(try await server.send(.put, "/fhir/Practitioner?identifier=cap-1", headers: json, body: changed).headers[.eTag] == #"W/"2""#)
            }
            if patient["conditionalDelete"]?.stringValue == "single" {
                #expect(try await server.send(.delete, "/fhir/Practitioner?identifier=cap-1").headers[.eTag] == #"W/"3""#)
            }
            if patient["conditionalRead"]?.stringValue == "full-support" {
                let created = try await server.send(.post, "/fhir/Patient", headers: json, body: FHIRRoutesTests.patient)
                let path = "/fhir/Patient/\(created.json["id"]?.stringValue ?? "")"
                #expect(try await server.send(.get, path, headers: ["If-None-Match": #"W/"1""#]).status == .notModified)
                #expect(try await server.send(.get, path, headers: ["If-Modified-Since": created.headers[.lastModified] ?? ""]).status == .notModified)
            }
        }
    }
}
