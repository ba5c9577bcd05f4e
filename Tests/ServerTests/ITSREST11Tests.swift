import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.1 beside 1.0.3: the simplified formats' media types, the
/// `openehr-template-id`, `openehr-audit-details` and `openehr-version`
/// headers, `Prefer: return=identifier` (overview §HTTP headers,
/// §Representation details negotiation, §Simplified Formats).
@Suite("openEHR REST: ITS-REST 1.1")
struct ITSREST11Tests {
    static let templateID = "ehrbase.testcase06.v0"

    static func prepared(_ server: TestServer) async throws -> String {
        let upload = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: FlatRoutesTests.opt)
        #expect(upload.status == .created)
        return try await server.createEHR()
    }

    /// §Simplified Formats: `Content-Type: application/openehr.wt.flat+json`
    /// with `openehr-template-id`; the representation comes back in the
    /// format of the body unless Accept names another (§Data representation).
    @Test(arguments: TestEngine.available)
    func aFlatCommitIsAnsweredInFlat(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let flatHeaders = [
                "Content-Type": "application/openehr.wt.flat+json", "openehr-template-id": Self.templateID, "Prefer": "return=representation",
            ]
            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: flatHeaders, body: FlatRoutesTests.flat)
            #expect(created.status == .created, "\(created.body)")
            #expect(created.headers[.contentType] == "application/openehr.wt.flat+json")
            #expect(created.headers[HTTPField.Name("Preference-Applied")!] == "return=representation")
            let uid = try #require(created.eTag)
            #expect(created.json["ehrbase.testcase6.v0/_uid"]?.stringValue == uid)
            #expect(created.json["ehrbase.testcase6.v0/blood_pressure/any_event:0/systolic|magnitude"] == .number("500.0"))

            // EHRbase's form: format=FLAT answers FLAT under its .schema media type.
            let legacy = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=\(Self.templateID)", headers: ["Prefer": "return=representation"],
                body: FlatRoutesTests.flat)
            #expect(legacy.status == .created)
            #expect(legacy.headers[.contentType] == "application/openehr.wt.flat.schema+json")
            #expect(legacy.json["ehrbase.testcase6.v0/_uid"]?.stringValue == legacy.eTag)

            // Accept decides when it names a format: STRUCTURED, or canonical JSON.
            let structured = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition",
                headers: flatHeaders.merging(["Accept": "application/openehr.wt.structured+json"]) { $1 }, body: FlatRoutesTests.flat)
            #expect(structured.headers[.contentType] == "application/openehr.wt.structured+json")
            #expect(structured.json["ehrbase.testcase6.v0"]?["_uid"] != nil)
            let canonical = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: flatHeaders.merging(["Accept": "application/json"]) { $1 }, body: FlatRoutesTests.flat)
            #expect(canonical.headers[.contentType] == "application/json")
            #expect(canonical.json["uid"]?["value"]?.stringValue == canonical.eTag)

            // PUT in STRUCTURED, answered in STRUCTURED; GET by the 1.1 Accept types.
            let objectID = try #require(ObjectVersionID(uid)).objectID
            let asStructured = try await server.send(
                .get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)", headers: ["Accept": "application/openehr.wt.structured+json"])
            #expect(asStructured.status == .ok)
            #expect(asStructured.headers[.contentType] == "application/openehr.wt.structured+json")
            guard case .object(var tree) = asStructured.json, case .object(var root)? = tree["ehrbase.testcase6.v0"] else {
                Issue.record("no STRUCTURED root: \(asStructured.body)")
                return
            }
            root["_uid"] = nil
            tree["ehrbase.testcase6.v0"] = .object(root)
            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)",
                headers: [
                    "Content-Type": "application/openehr.wt.structured+json", "openehr-template-id": Self.templateID, "If-Match": "W/\"\(uid)\"",
                    "Prefer": "return=representation",
                ], body: JSONSerializer.string(.object(tree)))
            #expect(updated.status == .ok, "\(updated.body)")
            #expect(updated.headers[.contentType] == "application/openehr.wt.structured+json")
            #expect(ObjectVersionID(try #require(updated.eTag))?.versionNumber == 2)
            let asFlat = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["Accept": "application/openehr.wt.flat+json"])
            #expect(asFlat.headers[.contentType] == "application/openehr.wt.flat+json")
            #expect(asFlat.json["ehrbase.testcase6.v0/_uid"]?.stringValue == updated.eTag)
        }
    }

    /// Refusals: a simplified body without its template (400), a media type
    /// that is no format (415), an Accept no format satisfies (406).
    @Test(arguments: [TestEngine.sqlite])
    func formatsThatCannotBeServedAreRefused(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let before = try await server.database.rowCounts(ehrID: ehrID)
            let noTemplate = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/openehr.wt.flat+json"],
                body: #"{"ehrbase.testcase6.v0/language|code": "en"}"#)
            #expect(noTemplate.status == .badRequest)
            #expect(noTemplate.json["message"]?.stringValue?.contains("openehr-template-id") == true)
            let yaml = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/yaml"], body: "a: 1")
            #expect(yaml.status == .unsupportedMediaType)
            let unknownFormat = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=YAML", body: "{}")
            #expect(unknownFormat.status == .unsupportedMediaType)
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/openehr.wt.flat+json", "openehr-template-id": Self.templateID],
                body: FlatRoutesTests.flat)
            let uid = try #require(created.eTag)
            let unacceptable = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)", headers: ["Accept": "text/csv"])
            #expect(unacceptable.status == .notAcceptable)
            let after = try await server.database.rowCounts(ehrID: ehrID)
            #expect(after["object_version"] == (before["object_version"] ?? 0) + 1)
        }
    }

    /// §Prefer only identifier: a body holding the uid alone, never 204.
    @Test(arguments: TestEngine.available)
    func preferIdentifierAnswersTheUID(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Prefer": "return=identifier"], body: CompositionRoutesTests.compositionText)
            #expect(created.status == .created)
            let uid = try #require(created.eTag)
            #expect(created.json == ["uid": .string(uid)])
            #expect(created.headers[HTTPField.Name("Preference-Applied")!] == "return=identifier")
            let objectID = try #require(ObjectVersionID(uid)).objectID
            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["Prefer": "return=identifier", "If-Match": uid],
                body: CompositionRoutesTests.compositionText)
            #expect(updated.status == .ok)
            #expect(updated.json["uid"]?.stringValue == "\(objectID)::socle.test::2")

            // The EHR, its status, its directory and a contribution answer the same way.
            let ehr = try await server.send(.post, "/openehr/v1/ehr", headers: ["Prefer": "return=identifier"])
            #expect(ehr.status == .created)
            let newEHR = try #require(ehr.json["uid"]?.stringValue)
            #expect(ehr.eTag == newEHR)
            let statusUID = try #require(try await server.send(.get, "/openehr/v1/ehr/\(newEHR)/ehr_status").eTag)
            let status = try await server.send(
                .put, "/openehr/v1/ehr/\(newEHR)/ehr_status", headers: ["Prefer": "return=identifier", "If-Match": statusUID], body: statusJSON())
            #expect(status.status == .ok && status.json["uid"]?.stringValue == status.eTag)
            let folder = #"{"_type":"FOLDER","archetype_node_id":"openEHR-EHR-FOLDER.generic.v1","name":{"_type":"DV_TEXT","value":"root"}}"#
            let directory = try await server.send(.post, "/openehr/v1/ehr/\(newEHR)/directory", headers: ["Prefer": "return=identifier"], body: folder)
            #expect(directory.status == .created && directory.json["uid"]?.stringValue == directory.eTag)
            let minimal = try await server.send(
                .put, "/openehr/v1/ehr/\(newEHR)/directory", headers: ["Prefer": "return=minimal", "If-Match": try #require(directory.eTag)], body: folder)
            #expect(minimal.status == .noContent && minimal.body.isEmpty)
            #expect(minimal.headers[HTTPField.Name("Preference-Applied")!] == "return=minimal")
        }
    }

    /// §openehr-version and openehr-audit-details: the 1.1 names, sent once
    /// or several times; `system_id` must be this system's; the lifecycle
    /// state is the version's.
    @Test(arguments: TestEngine.available)
    func theNewAuditHeadersAreRead(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            var fields = HTTPFields()
            fields[.authorization] = TestServer.authorization(TestServer.admin)
            fields[.contentType] = "application/json"
            fields.append(HTTPField(name: HTTPField.Name("openehr-audit-details")!, value: #"change_type.code_string="251""#))
            fields.append(HTTPField(name: HTTPField.Name("openehr-audit-details")!, value: #"description.value="An amended note""#))
            fields.append(
                HTTPField(name: HTTPField.Name("openehr-audit-details")!, value: #"committer.name="John Doe",committer.external_ref.id="BC8132EA-8F4A-11E7-BB31-BE2E44B06B34",committer.external_ref.namespace="demographic",committer.external_ref.type="PERSON""#))
            fields.append(HTTPField(name: HTTPField.Name("openehr-audit-details")!, value: #"system_id="socle.test""#))
            fields.append(HTTPField(name: HTTPField.Name("openehr-version")!, value: #"lifecycle_state.code_string="553""#))
            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", fields: fields, body: CompositionRoutesTests.compositionText)
            #expect(created.status == .created, "\(created.body)")
            let uid = try #require(created.eTag)
            let objectID = try #require(ObjectVersionID(uid)).objectID
            let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)/version")
            #expect(version.json["commit_audit"]?["change_type"]?["defining_code"]?["code_string"] == "251")
            #expect(version.json["commit_audit"]?["description"]?["value"] == "An amended note")
            #expect(version.json["commit_audit"]?["committer"]?["name"] == "John Doe")
            #expect(version.json["commit_audit"]?["committer"]?["external_ref"]?["namespace"] == "demographic")
            #expect(version.json["lifecycle_state"]?["defining_code"]?["code_string"] == "553")

            let before = try await server.database.rowCounts(ehrID: ehrID)
            let foreign = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["openehr-audit-details": #"system_id="elsewhere.example""#],
                body: CompositionRoutesTests.compositionText)
            #expect(foreign.status == .badRequest)
            #expect(foreign.json["message"]?.stringValue?.contains("elsewhere.example") == true)
            let deletedByPost = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["openehr-version": #"lifecycle_state.code_string="523""#],
                body: CompositionRoutesTests.compositionText)
            #expect(deletedByPost.status == .badRequest)
            let unknownState = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["openEHR-VERSION": #"lifecycle_state.code_string="999""#],
                body: CompositionRoutesTests.compositionText)
            #expect(unknownState.status == .badRequest)
            #expect(try await server.database.rowCounts(ehrID: ehrID) == before)
        }
    }
}
