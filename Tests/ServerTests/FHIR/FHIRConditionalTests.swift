import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Services
import Storage
import Testing

/// R4 §http conditional create (`If-None-Exist`), conditional update
/// (`PUT Type?criteria`), conditional delete (`DELETE Type?criteria`),
/// matched against the FHIR search index, on both engines.
@Suite("FHIR REST: conditional interactions")
struct FHIRConditionalTests {
    static let json = ["Content-Type": "application/fhir+json"]

    static func practitioner(_ value: String, family: String = "Martin") -> String {
        #"{"resourceType": "Practitioner", "identifier": [{"system": "urn:oid:1.2.250.1.71.4.2.1", "value": "\#(value)"}], "name": [{"family": "\#(family)"}]}"#
    }

    @Test(arguments: TestEngine.available)
    func conditionalCreate(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let criteria = ["If-None-Exist": "identifier=urn:oid:1.2.250.1.71.4.2.1|10001"]
            let first = try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(criteria) { $1 }, body: Self.practitioner("10001"))
            #expect(first.status == .created, "\(first.body)")
            let again = try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(criteria) { $1 }, body: Self.practitioner("10001"))
            #expect(again.status == .ok && again.json["id"] == first.json["id"] && again.headers[.eTag] == #"W/"1""#)
            // Other criteria forms: a code without system, a string prefix folded, _id.
            for other in ["identifier=10001", "name=mart", "name:exact=Martin", "_id=\(first.json["id"]?.stringValue ?? "")"] {
                let reply = try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": other]) { $1 }, body: Self.practitioner("x"))
                #expect(reply.status == .ok && reply.json["id"] == first.json["id"], "\(other): \(reply.status)")
            }
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": "name:exact=martin"]) { $1 }, body: Self.practitioner("10002")).status == .created)
            // Two now match "name=mart": 412.
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": "name=mart"]) { $1 }, body: Self.practitioner("3")).status == .preconditionFailed)
            // Dates and :contains are matched (none was updated in 1970: created; "ar" is in both names: 412).
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": "_lastUpdated=1970"]) { $1 }, body: Self.practitioner("5")).status == .created)
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": "name:contains=ar"]) { $1 }, body: Self.practitioner("6")).status == .preconditionFailed)
            // Criteria that cannot be matched exactly are refused.
            // A modifier a search reads the same way is matched too (nothing has that profile: created).
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": "_profile:below=http://example.org/"]) { $1 }, body: Self.practitioner("7")).status == .created)
            for bad in ["colour=blue", "identifier=a,b", "", "identifier", "gender:not=male", "birthdate:missing=true", "gender:in=http://hl7.org/fhir/ValueSet/administrative-gender"] {
                let reply = try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(["If-None-Exist": bad]) { $1 }, body: Self.practitioner("4"))
                #expect(reply.status == (bad.isEmpty ? .created : .badRequest), "\(bad): \(reply.status) \(reply.body)")
            }
            // A deleted resource no longer matches.
            let id = try #require(first.json["id"]?.stringValue)
            #expect(try await server.send(.delete, "/fhir/Practitioner/\(id)").status == .ok)
            #expect(try await server.send(.post, "/fhir/Practitioner", headers: Self.json.merging(criteria) { $1 }, body: Self.practitioner("10001")).status == .created)
        }
    }

    /// Two conditional creates with the same criteria at once make one
    /// resource: eight at once through the service (the HTTP test client
    /// sends one request at a time on its connection, so it cannot race).
    @Test(arguments: TestEngine.available)
    func concurrentConditionalCreatesThroughTheServiceMakeOne(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test")
            let resource = try JSONParser.parse(Self.practitioner("race"))
            let created = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await service.create(
                            type: "Practitioner", resource: resource, ifNoneExist: "identifier=race", committal: Committal(committer: .identified(name: "t"))
                        ).created
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(created.filter { $0 }.count == 1, "\(created)")
            #expect(try await database.store.versions.count(rmType: "Practitioner") == 1)
        }
    }

    @Test(arguments: TestEngine.available)
    func conditionalUpdateAndDelete(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let query = "identifier=urn:oid:1.2.250.1.71.4.2.1%7C20001"
            let created = try await server.send(.put, "/fhir/Practitioner?\(query)", headers: Self.json, body: Self.practitioner("20001"))
            #expect(created.status == .created, "\(created.body)")
            let id = try #require(created.json["id"]?.stringValue)
            let updated = try await server.send(.put, "/fhir/Practitioner?\(query)", headers: Self.json, body: Self.practitioner("20001", family: "Bernard"))
            #expect(updated.status == .ok && updated.json["id"]?.stringValue == id && updated.headers[.eTag] == #"W/"2""#)
            let wrongID = Self.practitioner("20001").replacingOccurrences(of: #""Practitioner","#, with: #""Practitioner", "id": "other","#)
            #expect(try await server.send(.put, "/fhir/Practitioner?\(query)", headers: Self.json, body: wrongID).status == .badRequest)
            try await server.send(.post, "/fhir/Practitioner", headers: Self.json, body: Self.practitioner("20002", family: "Bernard"))
            #expect(try await server.send(.put, "/fhir/Practitioner?name=bernard", headers: Self.json, body: Self.practitioner("x")).status == .preconditionFailed)
            #expect(try await server.send(.delete, "/fhir/Practitioner?name=bernard").status == .preconditionFailed)
            let deleted = try await server.send(.delete, "/fhir/Practitioner?\(query)")
            #expect(deleted.status == .ok && deleted.headers[.eTag] == #"W/"3""#)
            #expect(try await server.send(.get, "/fhir/Practitioner/\(id)").status == .gone)
            #expect(try await server.send(.delete, "/fhir/Practitioner?\(query)").status == .ok)
            #expect(try await server.send(.delete, "/fhir/Practitioner?unknown=1").status == .badRequest)
        }
    }
    /// R4 §delete: a server may delete every match of a conditional delete
    /// (CapabilityStatement conditionalDelete `multiple`,
    /// SOCLE_FHIR_CONDITIONAL_DELETE=multiple): all in one contribution, or
    /// none when one of them is still referred to.
    @Test(arguments: TestEngine.available)
    func conditionalDeleteOfSeveralWhenConfigured(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            var service = FHIRService(store: database.store, systemID: "socle.test")
            let committal = Committal(committer: .identified(name: "t"))
            var ids: [String] = []
            for value in ["m-1", "m-2", "m-3"] {
                ids.append(try await service.create(type: "Practitioner", resource: JSONParser.parse(Self.practitioner(value, family: "Bernard")), committal: committal).id)
            }
            let kept = try await service.create(type: "Practitioner", resource: JSONParser.parse(Self.practitioner("m-4")), committal: committal).id
            await #expect(throws: ServiceError.self) { try await service.delete(type: "Practitioner", criteria: "name=bernard", committal: committal) }
            service.conditionalDelete = .multiple
            let role = #"{"resourceType": "PractitionerRole", "practitioner": {"reference": "Practitioner/\#(ids[0])"}}"#
            let roleID = try await service.create(type: "PractitionerRole", resource: JSONParser.parse(role), committal: committal).id
            await #expect(throws: ServiceError.self) { try await service.delete(type: "Practitioner", criteria: "name=bernard", committal: committal) }
            #expect(try await service.read(type: "Practitioner", id: ids[1]).isDeleted == false)
            _ = try await service.delete(type: "PractitionerRole", id: roleID, committal: committal)
            let deleted = try await service.delete(type: "Practitioner", criteria: "name=bernard", committal: committal)
            #expect(Set(deleted.map(\.id)) == Set(ids) && deleted.allSatisfy { $0.isDeleted && $0.versionID == 2 })
            var contributions: Set<String> = []
            for id in ids {
                contributions.insert(try #require(try await database.store.versions.latestVersion(objectID: "Practitioner/\(id)")).contributionID)
            }
            #expect(contributions.count == 1)
            #expect(try await service.read(type: "Practitioner", id: kept).isDeleted == false)
            #expect(try await service.delete(type: "Practitioner", criteria: "name=bernard", committal: committal).isEmpty)
        }
    }

    /// The same in a transaction (R4 §transaction, §delete): an entry
    /// `DELETE Practitioner?name=…` deletes every match with the rest of the
    /// transaction, in its one contribution, when the server deletes several;
    /// with `single` it is 412 and nothing of the transaction is written.
    @Test(arguments: TestEngine.available)
    func aTransactionsConditionalDeleteOfSeveral(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { database in
            var service = FHIRService(store: database.store, systemID: "socle.test")
            let committal = Committal(committer: .identified(name: "t"))
            var ids: [String] = []
            for value in ["t-1", "t-2"] {
                ids.append(try await service.create(type: "Practitioner", resource: JSONParser.parse(Self.practitioner(value, family: "Martin")), committal: committal).id)
            }
            let bundle = try JSONParser.parse(
                """
                {"resourceType": "Bundle", "type": "transaction", "entry": [
                  {"request": {"method": "DELETE", "url": "Practitioner?name=martin"}},
                  {"fullUrl": "urn:uuid:1e2a3b4c-0000-4000-8000-000000000001", "resource": \(Self.practitioner("t-3")),
                   "request": {"method": "POST", "url": "Practitioner"}}
                ]}
                """)
            await #expect(throws: ServiceError.self) { _ = try await service.process(bundle: bundle, committal: committal) }
            #expect(try await service.read(type: "Practitioner", id: ids[0]).isDeleted == false)
            service.conditionalDelete = .multiple
            let response = try await service.process(bundle: bundle, committal: committal)
            let statuses = response["entry"]?.arrayValue?.compactMap { $0["response"]?["status"]?.stringValue }
            #expect(statuses?.count == 2 && statuses?.first?.hasPrefix("204") == true && statuses?.last?.hasPrefix("201") == true, "\(response)")
            var contributions: Set<String> = []
            for id in ids {
                let latest = try #require(try await database.store.versions.latestVersion(objectID: "Practitioner/\(id)"))
                #expect(latest.lifecycleState == VersionLifecycleState.deleted.rawValue && latest.versionNumber == 2)
                contributions.insert(latest.contributionID)
            }
            let created = try #require(response["entry"]?.arrayValue?.last?["response"]?["location"]?.stringValue)
            let createdID = try #require(created.split(separator: "/").dropFirst().first.map(String.init))
            contributions.insert(try #require(try await database.store.versions.latestVersion(objectID: "Practitioner/\(createdID)")).contributionID)
            #expect(contributions.count == 1, "the deletions and the creation are one contribution")
        }
    }
}
