import Foundation
import HTTPTypes
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// One person on both faces (issue 13 §Storage): each FHIR Patient is linked
/// to an openEHR EHR whose EHR_STATUS.subject.external_ref names it
/// (ITS-REST 1.0.3 §EHR "get EHR summary by subject id"), created with the
/// Patient's first write or, when a client made that EHR first, linked to it;
/// erasing the patient (admin) removes the Patient, its compartment and the EHR.
@Suite("FHIR REST: the EHR of each Patient")
struct FHIRPatientEHRTests {
    static let json = FHIRRoutesTests.json

    static func ehr(_ server: TestServer, patient id: String) async throws -> (status: HTTPResponse.Status, json: JSON) {
        let reply = try await server.send(.get, "/openehr/v1/ehr?subject_id=\(id)&subject_namespace=fhir", headers: ["Accept": "application/json"])
        return (reply.status, reply.json)
    }

    @Test(arguments: TestEngine.available)
    func aPatientGetsAnEHRThatNamesIt(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let found = try await Self.ehr(server, patient: id)
            #expect(found.status == .ok, "\(found.json)")
            let ehrID = try #require(found.json["ehr_id"]?["value"]?.stringValue)
            let status = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["Accept": "application/json"])
            let reference = status.json["subject"]?["external_ref"]
            #expect(status.json["subject"]?["_type"]?.stringValue == "PARTY_SELF")
            #expect(reference?["id"]?["value"]?.stringValue == id && reference?["id"]?["scheme"]?.stringValue == "fhir")
            #expect(reference?["namespace"]?.stringValue == "fhir" && reference?["type"]?.stringValue == "PERSON")
            // A new version of the Patient keeps its EHR; a PUT creating another Patient makes another.
            let updated = #"{"resourceType": "Patient", "id": "\#(id)", "gender": "other"}"#
            #expect(try await server.send(.put, "/fhir/Patient/\(id)", headers: Self.json, body: updated).status == .ok)
            #expect(try await Self.ehr(server, patient: id).json["ehr_id"]?["value"]?.stringValue == ehrID)
            let put = try await server.send(.put, "/fhir/Patient/p-2", headers: Self.json, body: #"{"resourceType": "Patient", "id": "p-2"}"#)
            #expect(put.status == .created)
            let other = try await Self.ehr(server, patient: "p-2").json["ehr_id"]?["value"]?.stringValue
            #expect(other != nil && other != ehrID)
        }
    }

    /// The EHR is created in the Patient's own database transaction: a
    /// transaction that fails leaves neither; one that commits writes both.
    @Test(arguments: TestEngine.available)
    func theEHRComesWithTheTransaction(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let failing = FHIRBundleTests.bundle("transaction", [
                FHIRBundleTests.entry("PUT", "Patient/t-1", resource: #"{"resourceType": "Patient", "id": "t-1"}"#),
                FHIRBundleTests.entry("PUT", "Observation/o-1", resource: FHIRRoutesTests.observation(patient: "Patient/nobody")),
            ])
            let refused = try await server.send(.post, "/fhir", headers: Self.json, body: failing)
            #expect(refused.status == .conflict, "\(refused.body)")
            #expect(try await Self.ehr(server, patient: "t-1").status == .notFound)
            let passing = FHIRBundleTests.bundle("transaction", [
                FHIRBundleTests.entry("PUT", "Patient/t-1", resource: #"{"resourceType": "Patient", "id": "t-1"}"#),
                FHIRBundleTests.entry("PUT", "Patient/t-2", resource: #"{"resourceType": "Patient", "id": "t-2"}"#),
            ])
            #expect(try await server.send(.post, "/fhir", headers: Self.json, body: passing).status == .ok)
            #expect(try await Self.ehr(server, patient: "t-1").status == .ok)
            #expect(try await Self.ehr(server, patient: "t-2").status == .ok)
        }
    }

    /// An EHR a client created with the Patient's subject before the Patient
    /// existed becomes that Patient's EHR (no second EHR, no conflict).
    @Test(arguments: TestEngine.available)
    func anEHRMadeFirstIsLinked(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let status = #"""
                {"_type": "EHR_STATUS", "archetype_node_id": "openEHR-EHR-EHR_STATUS.generic.v1", "name": {"_type": "DV_TEXT", "value": "EHR Status"},
                 "subject": {"_type": "PARTY_SELF", "external_ref": {"_type": "PARTY_REF", "id": {"_type": "GENERIC_ID", "value": "early", "scheme": "fhir"},
                 "namespace": "fhir", "type": "PERSON"}}, "is_queryable": true, "is_modifiable": true}
                """#
            let made = try await server.send(
                .post, "/openehr/v1/ehr", headers: ["Content-Type": "application/json", "Prefer": "return=representation"], body: status)
            #expect(made.status == .created, "\(made.body)")
            let ehrID = try #require(made.json["ehr_id"]?["value"]?.stringValue)
            #expect(try await server.send(.put, "/fhir/Patient/early", headers: Self.json, body: #"{"resourceType": "Patient", "id": "early"}"#).status == .created)
            #expect(try await Self.ehr(server, patient: "early").json["ehr_id"]?["value"]?.stringValue == ehrID)
            // The link is what erasure follows: erasing the patient erases that EHR.
            #expect(try await server.send(.delete, "/admin/patient/early").status == .noContent)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)").status == .notFound)
        }
    }

    /// Admin erasure of a patient: the Patient, every resource of its
    /// compartment and its EHR are gone (reads answer 404, not 410); other
    /// patients' data stays; a second erasure finds nothing (404).
    @Test(arguments: TestEngine.available)
    func erasingThePatientRemovesBothFaces(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let kept = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let observation = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(id)"))
            let ehrID = try #require(try await Self.ehr(server, patient: id).json["ehr_id"]?["value"]?.stringValue)
            #expect(try await server.send(.delete, "/admin/patient/\(id)", as: TestServer.clinician).status == .forbidden)
            #expect(try await server.send(.delete, "/admin/patient/\(id)").status == .noContent)
            #expect(try await server.send(.get, "/fhir/Patient/\(id)").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Observation/\(observation)").status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)").status == .notFound)
            #expect(try await server.send(.get, "/fhir/Patient/\(kept)").status == .ok)
            #expect(try await Self.ehr(server, patient: kept).status == .ok)
            #expect(try await server.send(.delete, "/admin/patient/\(id)").status == .notFound)
            #expect(try await server.send(.delete, "/admin/patient/bad%20id").status == .badRequest)
        }
    }
}
