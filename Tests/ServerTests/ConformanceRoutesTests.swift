import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// What existing openEHR clients expect where ITS-REST speaks (1.0.3, or
/// the development version where 1.0.3 is silent), each with its section.
@Suite("openEHR REST conformance")
struct ConformanceRoutesTests {
    /// ITS-REST 1.1 (development) §COMPOSITION, DELETE: the versioned object
    /// id (`uuid` or `uuid::system`) deletes the latest version; `If-Match`,
    /// when sent, must name it (412). 1.0.3's form, the version uid, stays.
    @Test(arguments: TestEngine.available)
    func aCompositionIsDeletedByItsVersionedObjectID(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            func create() async throws -> String {
                let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.compositionText)
                return try #require(reply.eTag)
            }
            let first = try await create()
            let objectID = try #require(ObjectVersionID(first)).objectID
            let deleted = try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)")
            #expect(deleted.status == .noContent, "\(deleted.body)")
            #expect(deleted.eTag == "\(objectID)::socle.test::2")
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)").status == .noContent)

            let second = try #require(ObjectVersionID(try await create()))
            let stale = try await server.send(
                .delete, "/openehr/v1/ehr/\(ehrID)/composition/\(second.objectID)::socle.test", headers: ["If-Match": "\(second.objectID)::socle.test::7"])
            #expect(stale.status == .preconditionFailed, "\(stale.body)")
            let matching = try await server.send(
                .delete, "/openehr/v1/ehr/\(ehrID)/composition/\(second.objectID)::socle.test", headers: ["If-Match": "\"\(second)\""])
            #expect(matching.status == .noContent, "\(matching.body)")
            #expect(try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(UUIDText.random())::other.system").status == .notFound)
        }
    }

    /// ITS-REST 1.0.3 §VERSIONED_COMPOSITION and §VERSIONED_EHR_STATUS list
    /// 200 and 404 only: an id that cannot name the resource is a 404.
    @Test(arguments: TestEngine.available)
    func malformedIDsOnVersionedResourcesAreNotFound(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            for path in [
                "ehr/\(ehrID)/versioned_composition/not-a-uuid", "ehr/\(ehrID)/versioned_composition/not-a-uuid/revision_history",
                "ehr/\(ehrID)/versioned_composition/not-a-uuid/version", "ehr/not-an-ehr/versioned_composition/\(UUIDText.random())",
                "ehr/not-an-ehr/versioned_ehr_status", "ehr/not-an-ehr/versioned_ehr_status/revision_history",
                "ehr/not-an-ehr/versioned_ehr_status/version", "ehr/\(ehrID)/versioned_ehr_status/version/not-a-version",
            ] {
                let reply = try await server.send(.get, "/openehr/v1/" + path)
                #expect(reply.status == .notFound, "\(path): \(reply.status) \(reply.body)")
            }
        }
    }

    /// ITS-REST 1.0.3 §DIRECTORY, PUT and DELETE: If-Match must name the
    /// latest version; an EHR without a directory has none, so the
    /// precondition fails (412), while the EHR exists (not 404).
    @Test(arguments: TestEngine.available)
    func changingADirectoryThatDoesNotExistIsAFailedPrecondition(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let ifMatch = ["If-Match": "\(UUIDText.random())::socle.test::1"]
            let folder = #"{"_type":"FOLDER","name":{"_type":"DV_TEXT","value":"root"},"archetype_node_id":"openEHR-EHR-FOLDER.generic.v1"}"#
            #expect(try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/directory", headers: ifMatch, body: folder).status == .preconditionFailed)
            #expect(try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/directory", headers: ifMatch).status == .preconditionFailed)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/directory").status == .notFound)
            #expect(try await server.send(.delete, "/openehr/v1/ehr/\(UUIDText.random())/directory", headers: ifMatch).status == .notFound)
        }
    }

    /// A method a resource does not have is 405 with `Allow` (RFC 9110
    /// §15.5.6), not 404: templates and stored queries are removed through
    /// the admin API.
    @Test(arguments: [TestEngine.sqlite])
    func methodsADefinitionDoesNotHaveAreNotAllowed(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            for (method, path, allow) in [
                (HTTPRequest.Method.delete, "definition/template/adl1.4/some.template", "GET"),
                (.put, "definition/template/adl1.4", "GET, POST"),
                (.delete, "definition/query/org.example::q/1.0.0", "GET, PUT"),
                (.post, "definition/query/org.example::q", "GET, PUT"),
                // ITS-REST has no DELETE of an EHR (the admin API erases).
                (.delete, "ehr/\(UUIDText.random())", "GET, PUT"),
            ] {
                let reply = try await server.send(method, "/openehr/v1/" + path)
                #expect(reply.status == .methodNotAllowed, "\(method) \(path): \(reply.status)")
                #expect(reply.headers[.allow] == allow)
            }
        }
    }

    /// A query string as forms encode it: `+` is a space (`%2B` a plus),
    /// and an unencoded `+` of a time zone still reads as one.
    @Test(arguments: [TestEngine.sqlite])
    func plusInAQueryStringIsASpace(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR(statusJSON(subject: "patient 7", namespace: "hospital"))
            let found = try await server.send(.get, "/openehr/v1/ehr?subject_id=patient+7&subject_namespace=hospital")
            #expect(found.status == .ok && found.json["ehr_id"]?["value"]?.stringValue == ehrID, "\(found.body)")
            let status = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status?version_at_time=2999-01-20T19:30:22.765+01:00")
            #expect(status.status == .ok, "\(status.body)")
        }
    }

    /// ITS-REST 1.0.3 §EHR, its example: `ehr_status.id` and `ehr_access.id`
    /// are the OBJECT_VERSION_IDs of the current versions, so a client may
    /// take `ehr_status.id` as the `If-Match` of its next `PUT ehr_status`.
    @Test(arguments: TestEngine.available)
    func theEHRNamesTheCurrentStatusAndAccessVersions(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR(statusJSON())
            let ehr = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            #expect(ehr.json["ehr_status"]?["id"]?["_type"]?.stringValue == "OBJECT_VERSION_ID")
            #expect(ehr.json["ehr_status"]?["type"]?.stringValue == "EHR_STATUS")
            let current = try #require(ehr.json["ehr_status"]?["id"]?["value"]?.stringValue)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").eTag == current)
            let accessText = try #require(ehr.json["ehr_access"]?["id"]?["value"]?.stringValue)
            let access = try #require(ObjectVersionID(accessText))
            #expect(access.versionNumber == 1 && access.creatingSystemID == "socle.test")
            #expect(ehr.json["ehr_access"]?["type"]?.stringValue == "EHR_ACCESS")

            let updated = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": current], body: statusJSON())
            #expect(updated.status == .noContent, "\(updated.body)")
            let after = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            let next = try #require(after.json["ehr_status"]?["id"]?["value"]?.stringValue)
            #expect(ObjectVersionID(next)?.versionNumber == 2 && next == updated.eTag)
            #expect(after.json["ehr_access"] == ehr.json["ehr_access"])
        }
    }

    /// RM 1.1.0 class invariants, enforced where the RM is decoded (400 with
    /// the path and the invariant, nothing stored): in a composition, in an
    /// EHR_STATUS's other_details, in a directory.
    @Test(arguments: TestEngine.available)
    func dataBreakingAnRMInvariantIsRefused(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await CompositionRoutesTests.prepared(server)
            let before = try await server.database.rowCounts(ehrID: ehrID)
            let hour48 = CompositionRoutesTests.compositionText.replacingOccurrences(of: #""2019-04-03T22:00:00Z""#, with: #""2019-04-03T48:00:00Z""#)
            let composition = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: hour48)
            #expect(composition.status == .badRequest)
            #expect(composition.json["problems"]?.arrayValue?.contains {
                $0["path"] == "/context/start_time/value" && $0["message"]?.stringValue?.contains("(RM invariant DV_DATE_TIME.Value_valid)") == true
            } == true, "\(composition.body)")

            let status = statusJSON().replacingOccurrences(
                of: #""is_modifiable""#,
                with: #""other_details":{"_type":"ITEM_TREE","name":{"value":"d"},"archetype_node_id":"at0001","items":[{"_type":"ELEMENT","name":{"value":"u"},"archetype_node_id":"at0002","value":{"_type":"DV_EHR_URI","value":"http://example.org/x"}}]},"is_modifiable""#)
            let ehr = try await server.send(.post, "/openehr/v1/ehr", body: status)
            #expect(ehr.status == .badRequest)
            #expect(ehr.body.contains("(RM invariant DV_EHR_URI.Scheme_valid)"), "\(ehr.body)")

            let folder = #"{"_type":"FOLDER","archetype_node_id":"openEHR-EHR-FOLDER.generic.v1","name":{"_type":"DV_TEXT","value":"root"},"folders":[]}"#
            let directory = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/directory", body: folder)
            #expect(directory.status == .badRequest)
            #expect(directory.body.contains("(RM invariant FOLDER.Folders_valid)"), "\(directory.body)")
            #expect(try await server.database.rowCounts(ehrID: ehrID) == before)
        }
    }

    /// ITS-REST development §Qualified query name (SPECITS-46): the query
    /// name `aql` is reserved, whatever its case.
    @Test(arguments: [TestEngine.sqlite])
    func theQueryNameAQLIsReserved(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            for name in ["org.example::aql", "org.example::AQL"] {
                let reply = try await server.send(.put, "/openehr/v1/definition/query/\(name)", headers: ["Content-Type": "text/plain"], body: "SELECT e/ehr_id/value FROM EHR e")
                #expect(reply.status == .badRequest, "\(name): \(reply.status)")
                #expect(reply.body.contains("reserved"))
            }
            let allowed = try await server.send(
                .put, "/openehr/v1/definition/query/org.example::aql_like", headers: ["Content-Type": "text/plain"], body: "SELECT e/ehr_id/value FROM EHR e")
            #expect(allowed.status == .ok, "\(allowed.body)")
        }
    }

    /// ITS-REST development §admin_ehr_delete_all: the EHRs named by
    /// `ehr_id` are erased, none when one is unknown; all at once is 405.
    @Test(arguments: TestEngine.available)
    func adminErasesTheEHRsNamed(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (a, b, kept) = (try await server.createEHR(), try await server.createEHR(), try await server.createEHR())
            #expect(try await server.send(.delete, "/rest/admin/ehr/all").status == .methodNotAllowed)
            #expect(try await server.send(.delete, "/admin/ehr/all?ehr_id=\(a)", as: TestServer.clinician).status == .forbidden)
            let unknown = try await server.send(.delete, "/admin/ehr/all?ehr_id=\(a)&ehr_id=\(UUIDText.random())")
            #expect(unknown.status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(a)").status == .ok)
            #expect(try await server.send(.delete, "/admin/ehr/all?ehr_id=\(a)&ehr_id=not-a-uuid").status == .badRequest)
            #expect(try await server.send(.delete, "/admin/ehr/all?ehr_id=\(a)&ehr_id=\(b)").status == .noContent)
            for erased in [a, b] { #expect(try await server.send(.get, "/openehr/v1/ehr/\(erased)").status == .notFound) }
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(kept)").status == .ok)
            #expect(try await server.database.store.versions.erasures(ehrID: a).count == 1)
        }
    }
}
