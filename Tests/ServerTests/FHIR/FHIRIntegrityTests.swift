import Foundation
import HTTPTypes
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// Referential integrity (SOCLE_FHIR_REFERENTIAL_INTEGRITY, on by default):
/// a reference to a resource of this server must name one that exists, and
/// a resource others refer to cannot be deleted (409), but together in a transaction.
@Suite("FHIR REST: referential integrity")
struct FHIRIntegrityTests {
    static let json = ["Content-Type": "application/fhir+json"]

    @Test(arguments: TestEngine.available)
    func referencesMustNameExistingResources(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let missing = try await server.send(.post, "/fhir/Observation", headers: Self.json, body: FHIRRoutesTests.observation(patient: "Patient/nobody"))
            #expect(missing.status == .conflict && missing.body.contains("Patient/nobody"), "\(missing.body)")
            // Contained, absolute and version-specific references are not checked.
            for reference in ["http://other.example/fhir/Patient/1", "urn:oid:1.2.3"] {
                let body = FHIRRoutesTests.observation(patient: reference)
                #expect(try await server.send(.post, "/fhir/Observation", headers: Self.json, body: body).status == .created, "\(reference)")
            }
            let patient = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            let observation = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(patient)"))
            let refused = try await server.send(.delete, "/fhir/Patient/\(patient)")
            #expect(refused.status == .conflict && refused.body.contains("Observation/\(observation)"), "\(refused.body)")
            #expect(try await server.send(.get, "/fhir/Patient/\(patient)").status == .ok)
            // Deleted together in one transaction: allowed.
            let both = FHIRBundleTests.bundle("transaction", [
                FHIRBundleTests.entry("DELETE", "Patient/\(patient)"), FHIRBundleTests.entry("DELETE", "Observation/\(observation)"),
            ])
            #expect(try await server.send(.post, "/fhir", headers: Self.json, body: both).status == .ok)
            #expect(try await server.send(.get, "/fhir/Patient/\(patient)").status == .gone)
            // A reference to a deleted resource is refused too.
            #expect(try await server.send(.post, "/fhir/Observation", headers: Self.json, body: FHIRRoutesTests.observation(patient: "Patient/\(patient)")).status == .conflict)
        }
    }

    @Test(arguments: [TestEngine.sqlite])
    func theCheckCanBeTurnedOff(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test", referentialIntegrity: false)
            let committal = Committal(committer: .identified(name: "t"))
            let observation = try JSONParser.parse(FHIRRoutesTests.observation(patient: "Patient/nobody"))
            #expect(try await service.create(type: "Observation", resource: observation, committal: committal).versionID == 1)
            let checked = FHIRService(store: database.store, systemID: "socle.test")
            await #expect(throws: ServiceError.self) { try await checked.create(type: "Observation", resource: observation, committal: committal) }
        }
    }
}
