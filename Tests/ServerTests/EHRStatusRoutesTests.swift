import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §EHR_STATUS and §VERSIONED_EHR_STATUS.
@Suite("openEHR REST: EHR_STATUS")
struct EHRStatusRoutesTests {
    /// Creates an EHR and returns its id and its status' first version uid.
    static func ehrWithStatus(_ server: TestServer) async throws -> (String, String) {
        let ehrID = try await server.createEHR(statusJSON())
        let status = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status")
        return (ehrID, try #require(status.eTag))
    }

    @Test(arguments: TestEngine.available)
    func updateWithIfMatchMakesANewVersion(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            #expect(v1.hasSuffix("::socle.test::1"))

            let minimal = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": "\"\(v1)\""], body: statusJSON(modifiable: false))
            #expect(minimal.status == .noContent)
            let v2 = try #require(minimal.eTag)
            #expect(v2 == v1.replacingOccurrences(of: "::1", with: "::2"))
            #expect(minimal.headers[.location]?.hasSuffix("/openehr/v1/ehr/\(ehrID)/ehr_status/\(v2)") == true)

            let full = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v2, "Prefer": "return=representation"],
                body: statusJSON(modifiable: false, queryable: false))
            #expect(full.status == .ok)
            let v3 = try #require(full.eTag)
            #expect(full.json["uid"]?["value"]?.stringValue == v3)
            #expect(full.json["is_queryable"] == .bool(false))

            let latest = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status")
            #expect(latest.eTag == v3)
            #expect(latest.json["is_modifiable"] == .bool(false))
            let first = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status/\(v1)")
            #expect(first.status == .ok)
            #expect(first.json["is_modifiable"] == .bool(true))
            #expect(first.json["uid"]?["value"]?.stringValue == v1)
        }
    }

    @Test(arguments: TestEngine.available)
    func versionAtTimeFindsTheVersionExtantThen(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            try await Task.sleep(for: .milliseconds(20))
            let between = ISODateTime.now()
            try await Task.sleep(for: .milliseconds(20))
            let put = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v1], body: statusJSON(modifiable: false))
            let v2 = try #require(put.eTag)

            let atBetween = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status?version_at_time=\(between)")
            #expect(atBetween.status == .ok)
            #expect(atBetween.eTag == v1)
            let now = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status?version_at_time=\(ISODateTime.now())")
            #expect(now.eTag == v2)
            // The same instant written with an offset (`+` encoded in the query).
            let offset = between.description.replacingOccurrences(of: "Z", with: "")
            let local = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version?version_at_time=\(offset)%2B00:00")
            #expect(local.eTag == v1)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status?version_at_time=2000-01-01T00:00:00Z").status == .notFound)
            let bad = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status?version_at_time=yesterday")
            #expect(bad.status == .badRequest)
            #expect(bad.json["message"]?.stringValue?.contains("version_at_time") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func staleMissingAndMalformedIfMatch(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            let put = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v1], body: statusJSON())
            let v2 = try #require(put.eTag)
            let before = try await server.database.rowCounts()

            let stale = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v1], body: statusJSON())
            #expect(stale.status == .preconditionFailed)
            #expect(stale.eTag == v2)
            let missing = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", body: statusJSON())
            #expect(missing.status == .badRequest)
            #expect(missing.json["message"]?.stringValue?.contains("If-Match") == true)
            let malformed = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": "\"v1\""], body: statusJSON())
            #expect(malformed.status == .badRequest)
            let otherObject = "\(UUIDText.random())::socle.test::2"
            #expect(try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": otherObject], body: statusJSON()).status == .preconditionFailed)
            let noBody = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v2])
            #expect(noBody.status == .badRequest)
            let badBody = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v2], body: #"{"is_queryable":true}"#)
            #expect(badBody.status == .badRequest)
            #expect(badBody.problemPaths.contains("/is_modifiable"))
            #expect(try await server.send(.put, "/openehr/v1/ehr/\(UUIDText.random())/ehr_status", headers: ["If-Match": v2], body: statusJSON()).status == .notFound)
            #expect(try await server.database.rowCounts() == before)
        }
    }

    /// Two clients update the same version at once: one wins, one gets 412,
    /// and both versions that were committed are kept.
    @Test(arguments: TestEngine.available)
    func concurrentUpdatesWithTheSameIfMatch(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<2 {
                    group.addTask {
                        try await server.send(
                            .put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v1], body: statusJSON(queryable: index == 0)
                        ).status
                    }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.sorted { $0.code < $1.code } == [.noContent, .preconditionFailed])
            let history = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/revision_history")
            #expect(history.json["items"]?.arrayValue?.count == 2)
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownAndMalformedVersionUIDs(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            let v9 = v1.replacingOccurrences(of: "::1", with: "::9")
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status/\(v9)").status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status/garbage").status == .badRequest)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version/\(v9)").status == .notFound)
            let otherEHR = try await server.createEHR()
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(otherEHR)/ehr_status/\(v1)").status == .notFound)
        }
    }

    @Test(arguments: TestEngine.available)
    func versionedStatusHistoryAndOriginalVersions(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, v1) = try await Self.ehrWithStatus(server)
            let put = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/ehr_status",
                headers: [
                    "If-Match": v1, "openEHR-AUDIT_DETAILS.committer": #"name="Dr. Marie Curie", external_ref.id="8b1a6f7e-3c2d-4e5f-9a0b-1c2d3e4f5a6b", external_ref.namespace="rpps""#,
                    "openEHR-AUDIT_DETAILS.description": #"value="Patient identity validated""#,
                ], body: statusJSON(modifiable: false))
            let v2 = try #require(put.eTag)

            let versioned = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status")
            #expect(versioned.status == .ok)
            #expect(versioned.json["_type"]?.stringValue == "VERSIONED_EHR_STATUS")
            #expect(versioned.json["owner_id"]?["id"]?["value"]?.stringValue == ehrID)
            #expect(versioned.json["uid"]?["value"]?.stringValue == String(v1.split(separator: ":").first!))

            let history = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/revision_history")
            let items = try #require(history.json["items"]?.arrayValue)
            #expect(items.compactMap { $0["version_id"]?["value"]?.stringValue } == [v1, v2])
            #expect(items.compactMap { $0["audits"]?.arrayValue?.first?["change_type"]?["defining_code"]?["code_string"]?.stringValue } == ["249", "251"])
            #expect(items.first?["audits"]?.arrayValue?.first?["committer"]?["name"]?.stringValue == "alice")

            let latest = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version")
            #expect(latest.status == .ok)
            #expect(latest.eTag == v2)
            #expect(latest.json["_type"]?.stringValue == "ORIGINAL_VERSION")
            #expect(latest.json["uid"]?["value"]?.stringValue == v2)
            #expect(latest.json["preceding_version_uid"]?["value"]?.stringValue == v1)
            #expect(latest.json["data"]?["is_modifiable"] == .bool(false))
            #expect(latest.json["lifecycle_state"]?["defining_code"]?["code_string"]?.stringValue == "532")
            #expect(latest.json["contribution"]?["type"]?.stringValue == "CONTRIBUTION")
            let audit = latest.json["commit_audit"]
            #expect(audit?["committer"]?["name"]?.stringValue == "Dr. Marie Curie")
            #expect(audit?["committer"]?["external_ref"]?["namespace"]?.stringValue == "rpps")
            #expect(audit?["description"]?["value"]?.stringValue == "Patient identity validated")
            #expect(audit?["system_id"]?.stringValue == "socle.test")

            let byID = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version/\(v1)")
            #expect(byID.json["uid"]?["value"]?.stringValue == v1)
            #expect(byID.json["preceding_version_uid"] == nil)
            #expect(byID.json["data"]?["is_modifiable"] == .bool(true))
            #expect(byID.headers[.location]?.hasSuffix("/versioned_ehr_status/version/\(v1)") == true)
        }
    }

    /// ITS-REST 1.0.3 §HTTP headers: the committal headers, both forms.
    @Test(arguments: TestEngine.available)
    func auditHeadersAreMergedIntoTheCommit(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let created = try await server.send(
                .post, "/openehr/v1/ehr",
                headers: ["openEHR-AUDIT_DETAILS": #"committer.name="Interface engine", change_type.code_string="252", description.value="Imported from PAM feed""#])
            let ehrID = String(try #require(created.headers[.location]).split(separator: "/").last!)
            let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_ehr_status/version")
            let audit = version.json["commit_audit"]
            #expect(audit?["committer"]?["name"]?.stringValue == "Interface engine")
            #expect(audit?["change_type"]?["defining_code"]?["code_string"]?.stringValue == "252")
            #expect(audit?["change_type"]?["value"]?.stringValue == "synthesis")
            #expect(audit?["description"]?["value"]?.stringValue == "Imported from PAM feed")

            let badCode = try await server.send(.post, "/openehr/v1/ehr", headers: ["openEHR-AUDIT_DETAILS.change_type": #"code_string="999""#])
            #expect(badCode.status == .badRequest)
            #expect(badCode.json["message"]?.stringValue?.contains("audit change type") == true)
            let badSyntax = try await server.send(.post, "/openehr/v1/ehr", headers: ["openEHR-AUDIT_DETAILS.committer": #"name="unterminated"#])
            #expect(badSyntax.status == .badRequest)
        }
    }
}
