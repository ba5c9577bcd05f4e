import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §CONTRIBUTION: several versions, one transaction.
@Suite("openEHR REST: contributions")
struct ContributionRoutesTests {
    static func version(_ data: String, change: String = "249", preceding: String? = nil, lifecycle: String = "532") -> String {
        let precedingJSON = preceding.map { #","preceding_version_uid":{"_type":"OBJECT_VERSION_ID","value":"\#($0)"}"# } ?? ""
        return #"{"_type":"ORIGINAL_VERSION","commit_audit":{"change_type":{"value":"x","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"\#(change)"}},"committer":{"_type":"PARTY_IDENTIFIED","name":"Dr. Yamamoto"}},"lifecycle_state":{"value":"x","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"\#(lifecycle)"}},"data":\#(data)\#(precedingJSON)}"#
    }

    static func contribution(_ versions: [String]) -> String {
        #"{"_type":"CONTRIBUTION","versions":[\#(versions.joined(separator: ","))],"audit":{"change_type":{"value":"creation","defining_code":{"terminology_id":{"value":"openehr"},"code_string":"249"}},"committer":{"_type":"PARTY_IDENTIFIED","name":"Integration engine"},"description":{"value":"batch"}}}"#
    }

    @Test(arguments: TestEngine.available)
    func createsCompositionsAndAStatusAtomically(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let status = try #require(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").eTag)
            let body = Self.contribution([
                Self.version(CompositionRoutesTests.compositionText), Self.version(CompositionRoutesTests.systolic("120.0")),
                Self.version(statusJSON(queryable: false), change: "251", preceding: status),
            ])
            let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", headers: ["Prefer": "return=representation"], body: body)
            #expect(reply.status == .created, "\(reply.body)")
            let id = try #require(reply.eTag)
            #expect(reply.headers[.location]?.hasSuffix("/contribution/\(id)") == true)
            let versions = try #require(reply.json["versions"]?.arrayValue)
            #expect(versions.count == 3)
            #expect(reply.json["audit"]?["committer"]?["name"]?.stringValue == "Integration engine")
            #expect(reply.json["audit"]?["description"]?["value"]?.stringValue == "batch")

            let fetched = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/contribution/\(id)")
            #expect(fetched.json == reply.json)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").json["is_queryable"] == .bool(false))
            for uid in versions.compactMap({ $0["id"]?["value"]?.stringValue }) where !uid.hasPrefix(status.split(separator: ":").first.map(String.init) ?? "-") {
                let composition = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(uid.split(separator: ":").first!)/version/\(uid)")
                #expect(composition.json["commit_audit"]?["committer"]?["name"]?.stringValue == "Dr. Yamamoto")
                #expect(composition.json["contribution"]?["id"]?["value"]?.stringValue == id)
            }
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/contribution/\(UUIDText.random())").status == .notFound)
        }
    }

    @Test(arguments: TestEngine.available)
    func oneInvalidVersionAndNothingIsCommitted(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let before = try await server.database.rowCounts()
            let body = Self.contribution([Self.version(CompositionRoutesTests.compositionText), Self.version(CompositionRoutesTests.systolic("1200.0"))])
            let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: body)
            // ITS-REST 1.0.3 §CONTRIBUTION, POST: 400 for invalid content (no 422 is listed).
            #expect(reply.status == .badRequest)
            #expect(reply.json["message"]?.stringValue?.hasPrefix("version 1 (/versions[1]) was refused") == true)
            #expect(reply.problemPaths.contains { $0.hasPrefix("/versions[1]/data/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]") && $0.hasSuffix("/value/magnitude") })
            #expect(try await server.database.rowCounts() == before)
            // A composition naming a template Socle does not have: 400 as well.
            let unknown = CompositionRoutesTests.compositionText.replacingOccurrences(of: "ehrbase_blood_pressure_simple.de.v0", with: "no.such.template")
            let refused = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: Self.contribution([Self.version(unknown)]))
            #expect(refused.status == .badRequest && refused.body.contains("unknown template"), "\(refused.body)")
            #expect(try await server.database.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func modifiesAndDeletesInOneContribution(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let a = try #require(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.compositionText).eTag)
            let b = try #require(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.compositionText).eTag)
            let body = Self.contribution([
                Self.version(CompositionRoutesTests.systolic("150.0"), change: "251", preceding: a),
                Self.version("null", change: "523", preceding: b, lifecycle: "523"),
            ])
            let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: body)
            #expect(reply.status == .created, "\(reply.body)")
            let objectA = a.split(separator: ":").first!, objectB = b.split(separator: ":").first!
            let latestA = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectA)")
            #expect(latestA.eTag == "\(objectA)::socle.test::2")
            #expect(latestA.body.contains(#""magnitude":150.0"#))
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectB)").status == .noContent)

            // A stale preceding version: 409, and nothing of the contribution is written.
            let before = try await server.database.rowCounts()
            let stale = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/contribution",
                body: Self.contribution([Self.version(CompositionRoutesTests.compositionText), Self.version(CompositionRoutesTests.systolic("160.0"), change: "251", preceding: a)]))
            #expect(stale.status == .conflict)
            #expect(try await server.database.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func malformedContributionsAreRefused(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let before = try await server.database.rowCounts()
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"versions":[]}"#, .badRequest, "at least one version"),
                (#"[]"#, .badRequest, "must be a JSON object"),
                (Self.contribution([Self.version(CompositionRoutesTests.compositionText, change: "251")]), .badRequest, "needs preceding_version_uid"),
                (Self.contribution([Self.version(CompositionRoutesTests.compositionText, preceding: "\(UUIDText.random())::socle.test::1")]), .badRequest, "change type creation, but preceding_version_uid"),
                (Self.contribution([Self.version(#"{"_type":"FOLDER","archetype_node_id":"openEHR-EHR-FOLDER.generic.v1"}"#)]), .badRequest, "not a valid FOLDER"),
                (Self.contribution([Self.version(CompositionRoutesTests.compositionText, change: "999")]), .badRequest, "audit change type"),
                (Self.contribution([Self.version(statusJSON())]), .badRequest, "an EHR has one EHR_STATUS"),
            ]
            for (body, status, message) in cases {
                let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: body)
                #expect(reply.status == status, "\(body.prefix(80)): \(reply.body)")
                #expect(reply.json["message"]?.stringValue?.contains(message) == true, "\(reply.body)")
            }
            #expect(try await server.database.rowCounts() == before)
        }
    }
}
