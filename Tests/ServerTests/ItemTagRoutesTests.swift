import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Storage
import Testing

/// ITEM_TAG (RM 1.1.0 common §Tags; ITS-REST development §ITEM_TAG and
/// §HTTP headers `openehr-item-tag`, `openehr-version-item-tag`), and the
/// tags in AQL (Socle's `TAG` and `TAGGED`, docs/architecture.md §Tags).
@Suite("openEHR REST: item tags")
struct ItemTagRoutesTests {
    static let flagAndReview = #"[{"key": "flag", "value": "follow-up", "target_path": "/context/start_time/value"}, {"key": "reviewed"}]"#

    /// The version uid a reply's ETag names.
    static func uid(_ reply: Reply) throws -> ObjectVersionID {
        guard let eTag = reply.eTag, let uid = ObjectVersionID(eTag) else { throw TestDatabaseError("no version uid: \(reply.status) \(reply.body)") }
        return uid
    }

    /// An EHR with one composition; its version uid.
    static func composition(_ server: TestServer, headers: [String: String] = [:]) async throws -> (ehrID: String, uid: ObjectVersionID) {
        let ehrID = try await CompositionRoutesTests.prepared(server)
        let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", headers: headers, body: CompositionRoutesTests.systolic("130"))
        #expect(created.status == .created, "\(created.body)")
        return (ehrID, try Self.uid(created))
    }

    /// §composition_tags_update, §composition_tags_get, §composition_tags_delete, §ehr_tags_get.
    @Test(arguments: TestEngine.available)
    func aCompositionAndItsVersionsAreTagged(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, uid) = try await Self.composition(server)
            let base = "/openehr/v1/ehr/\(ehrID)/composition"

            // PUT answers the stored list with return=representation, 204 otherwise.
            let put = try await server.send(.put, "\(base)/\(uid.objectID)/tags", headers: ["Prefer": "return=representation"], body: Self.flagAndReview)
            #expect(put.status == .ok, "\(put.body)")
            guard case .array(let tags) = put.json else { throw TestDatabaseError("not a list: \(put.body)") }
            #expect(tags.count == 2)
            let flag = try #require(tags.first { $0["key"]?.stringValue == "flag" })
            #expect(flag["value"]?.stringValue == "follow-up")
            #expect(flag["target_path"]?.stringValue == "/context/start_time/value")
            #expect(flag["target"]?["id"]?["_type"]?.stringValue == "HIER_OBJECT_ID")
            #expect(flag["target"]?["id"]?["value"]?.stringValue == uid.objectID)
            #expect(flag["target"]?["type"]?.stringValue == "COMPOSITION")
            #expect(flag["owner_id"]?["id"]?["value"]?.stringValue == ehrID)
            #expect(flag["owner_id"]?["type"]?.stringValue == "EHR")
            let reviewed = try #require(tags.first { $0["key"]?.stringValue == "reviewed" })
            #expect(reviewed["value"] == nil && reviewed["target_path"] == nil)

            // A version has tags of its own, its object's are not its.
            let onVersion = try await server.send(.put, "\(base)/\(uid)/tags", body: #"[{"key": "signed", "value": "dr-house"}]"#)
            #expect(onVersion.status == .noContent)
            let versionTags = try await server.send(.get, "\(base)/\(uid)/tags")
            #expect(versionTags.json.arrayValue?.count == 1)
            #expect(versionTags.json.arrayValue?.first?["target"]?["id"]?["_type"]?.stringValue == "OBJECT_VERSION_ID")
            #expect(versionTags.json.arrayValue?.first?["target"]?["id"]?["value"]?.stringValue == uid.description)
            #expect(try await server.send(.get, "\(base)/\(uid.objectID)/tags").json.arrayValue?.count == 2)

            // The EHR's tags, filtered (each filter any of its values).
            let ehrTags = "/openehr/v1/ehr/\(ehrID)/tags"
            #expect(try await server.send(.get, ehrTags).json.arrayValue?.count == 3)
            #expect(try await server.send(.get, "\(ehrTags)?tag_key=flag&tag_key=signed").json.arrayValue?.count == 2)
            #expect(try await server.send(.get, "\(ehrTags)?tag_value=dr-house").json.arrayValue?.first?["key"]?.stringValue == "signed")
            #expect(try await server.send(.get, "\(ehrTags)?tag_target_path=%2Fcontext%2Fstart_time%2Fvalue").json.arrayValue?.count == 1)
            #expect(try await server.send(.get, "\(ehrTags)?tag_key=none").json == .array([]))

            // DELETE by key; a second time there is none (404).
            #expect(try await server.send(.delete, "\(base)/\(uid.objectID)/tags/reviewed").status == .noContent)
            #expect(try await server.send(.delete, "\(base)/\(uid.objectID)/tags/reviewed").status == .notFound)
            #expect(try await server.send(.get, "\(base)/\(uid.objectID)/tags").json.arrayValue?.count == 1)
            // PUT replaces the list; an empty list removes every tag.
            #expect(try await server.send(.put, "\(base)/\(uid.objectID)/tags", body: "[]").status == .noContent)
            #expect(try await server.send(.get, "\(base)/\(uid.objectID)/tags").json == .array([]))

            // Every change is logged, with who made it.
            let log = try await server.database.store.tags.log(of: TagTarget(ehrID: ehrID, objectID: uid.objectID))
            #expect(log.map(\.change) == ["set", "set", "removed", "removed"])
            #expect(log.allSatisfy { $0.changedBy == "alice" })
        }
    }

    /// §…_tags: 404 for an unknown EHR, object or version, an object of another kind, another system's uid.
    @Test(arguments: TestEngine.available)
    func unknownTargetsAreNotFound(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, uid) = try await Self.composition(server)
            let other = try await server.createEHR()
            let status = try Self.uid(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status"))
            let missing = [
                "/openehr/v1/ehr/\(UUIDText.random())/composition/\(uid.objectID)/tags",
                "/openehr/v1/ehr/\(other)/composition/\(uid.objectID)/tags",
                "/openehr/v1/ehr/\(ehrID)/composition/\(UUIDText.random())/tags",
                "/openehr/v1/ehr/\(ehrID)/composition/\(uid.objectID)::\(uid.creatingSystemID)::2/tags",
                "/openehr/v1/ehr/\(ehrID)/composition/\(uid.objectID)::other.system::1/tags",
                "/openehr/v1/ehr/\(ehrID)/composition/\(status.objectID)/tags",
                "/openehr/v1/ehr/\(ehrID)/ehr_status/\(uid.objectID)/tags",
                "/openehr/v1/ehr/\(ehrID)/composition/not-an-id/tags",
            ]
            for path in missing {
                #expect(try await server.send(.get, path).status == .notFound, "\(path)")
                #expect(try await server.send(.put, path, body: #"[{"key": "flag"}]"#).status == .notFound, "\(path)")
            }
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(UUIDText.random())/tags").status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status/\(status)/tags").json == .array([]))
        }
    }

    /// RM 1.1.0 ITEM_TAG invariants (Key_valid, Value_valid), a key and path
    /// naming one tag, target_path an AQL path: 400 with every problem, nothing changed.
    @Test(arguments: TestEngine.available)
    func badTagsAreRefusedWithEveryProblem(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let (ehrID, uid) = try await Self.composition(server)
            let path = "/openehr/v1/ehr/\(ehrID)/composition/\(uid.objectID)/tags"
            #expect(try await server.send(.put, path, body: #"[{"key": "kept"}]"#).status == .noContent)
            let bad = #"""
                [{"key": ""}, {"key": " padded"}, {"key": "v", "value": ""}, {"value": "no key"}, {"key": "p", "target_path": "not a path"},
                 {"key": "x", "colour": "red"}, {"key": 3}, "flag", {"key": "twice"}, {"key": "twice"}]
                """#
            let refused = try await server.send(.put, path, body: bad)
            #expect(refused.status == .badRequest)
            let paths = Set(refused.json["problems"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? [])
            #expect(paths == ["/0/key", "/1/key", "/2/value", "/3/key", "/4/target_path", "/5/colour", "/6/key", "/7", "/9"], "\(refused.body)")
            #expect(try await server.send(.put, path, body: #"{"key": "flag"}"#).status == .badRequest)
            for notAPath in ["context", "/context,t/uid", "/context AS x", "/context[", "/items[at0001"] {
                let reply = try await server.send(.put, path, body: JSONSerializer.string([["key": "k", "target_path": .string(notAPath)]]))
                #expect(reply.status == .badRequest, "\(notAPath)")
            }
            #expect(try await server.send(.put, path, body: #"[{"key": "k", "target_path": "/content[openEHR-EHR-OBSERVATION.x.v1,'a b']/data"}]"#).status == .noContent)
            #expect(try await server.send(.put, path, body: #"[{"key": "kept"}]"#).status == .noContent)
            #expect(try await server.send(.put, path).status == .badRequest)
            #expect(try await server.send(.get, path).json.arrayValue?.first?["key"]?.stringValue == "kept")
        }
    }

    /// §HTTP headers: tags sent with a commit are set in its transaction and
    /// confirmed in the response; a bad one refuses the commit.
    @Test(arguments: TestEngine.available)
    func tagsSentWithACommit(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let headers = [
                "openehr-item-tag": #"key="category",value="final"; key="flag",value="a; b",target_path="/context/start_time/value""#,
                "openehr-version-item-tag": #"key="reviewed",value="true""#,
            ]
            let (ehrID, uid) = try await Self.composition(server, headers: headers)
            let base = "/openehr/v1/ehr/\(ehrID)/composition"
            let objectTags = try await server.send(.get, "\(base)/\(uid.objectID)/tags").json.arrayValue ?? []
            #expect(Set(objectTags.compactMap { $0["key"]?.stringValue }) == ["category", "flag"])
            #expect(objectTags.first { $0["key"]?.stringValue == "flag" }?["value"]?.stringValue == "a; b")
            #expect(try await server.send(.get, "\(base)/\(uid)/tags").json.arrayValue?.first?["key"]?.stringValue == "reviewed")

            // An update: the new version's tags, an empty header clears the object's.
            let updated = try await server.send(
                .put, "\(base)/\(uid.objectID)",
                headers: ["If-Match": uid.description, "openehr-item-tag": "", "openehr-version-item-tag": #"key="reviewed",value="false""#],
                body: CompositionRoutesTests.systolic("140"))
            #expect(updated.status == .noContent, "\(updated.body)")
            #expect(updated.headers[HTTPField.Name("openehr-version-item-tag")!] == #"key="reviewed",value="false""#)
            #expect(updated.headers[HTTPField.Name("openehr-item-tag")!] == "")
            let v2 = try Self.uid(updated)
            #expect(try await server.send(.get, "\(base)/\(uid.objectID)/tags").json == .array([]))
            #expect(try await server.send(.get, "\(base)/\(v2)/tags").json.arrayValue?.first?["value"]?.stringValue == "false")
            #expect(try await server.send(.get, "\(base)/\(uid)/tags").json.arrayValue?.first?["value"]?.stringValue == "true")

            // A bad tag header refuses the commit: no version 3.
            let refused = try await server.send(
                .put, "\(base)/\(uid.objectID)", headers: ["If-Match": v2.description, "openehr-item-tag": #"value="no key""#],
                body: CompositionRoutesTests.systolic("150"))
            #expect(refused.status == .badRequest, "\(refused.body)")
            #expect(refused.body.contains("openehr-item-tag"))
            #expect(try Self.uid(try await server.send(.get, "\(base)/\(uid.objectID)")).versionNumber == 2)

            // EHR_STATUS: tags with its update.
            let status = try #require(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").eTag)
            let statusUpdate = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/ehr_status",
                headers: ["If-Match": status, "openehr-item-tag": #"key="consent",value="research""#, "Prefer": "return=representation"],
                body: try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").body)
            #expect(statusUpdate.status == .ok, "\(statusUpdate.body)")
            #expect(statusUpdate.headers[HTTPField.Name("openehr-item-tag")!] == #"key="consent",value="research""#)
            let statusObject = try #require(ObjectVersionID(status)).objectID
            let statusTags = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status/\(statusObject)/tags")
            #expect(statusTags.json.arrayValue?.first?["target"]?["type"]?.stringValue == "EHR_STATUS")
        }
    }

    /// Tags in AQL: `TAGGED(c, key [, path])` and `TAG(c, key [, path])`,
    /// on the composition's object or on the version read.
    @Test(arguments: TestEngine.available)
    func tagsInAQL(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await QueryRoutesTests.prepared(server)
            let all = try await server.send(.get, "/openehr/v1/query/aql?q=\(QueryRoutesTests.encoded("SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"))")
            let uids = (all.json["rows"]?.arrayValue ?? []).compactMap { $0.arrayValue?.first?.stringValue }.compactMap(ObjectVersionID.init)
            #expect(uids.count == 2)
            let (first, second) = (uids[0], uids[1])
            let base = "/openehr/v1/ehr/\(ehrID)/composition"
            try await server.send(.put, "\(base)/\(first.objectID)/tags", body: #"[{"key": "flag", "value": "follow-up"}, {"key": "flag", "value": "late", "target_path": "/context"}]"#)
            try await server.send(.put, "\(base)/\(second)/tags", body: #"[{"key": "reviewed"}]"#)

            func rows(_ q: String) async throws -> [[JSON]] {
                let reply = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(["q": .string(q)]))
                #expect(reply.status == .ok, "\(q): \(reply.body)")
                return (reply.json["rows"]?.arrayValue ?? []).map { $0.arrayValue ?? [] }
            }
            let from = "FROM EHR e CONTAINS COMPOSITION c"
            let flagged = try await rows("SELECT c/uid/value, TAG(c, 'flag'), TAG(c, 'flag', '/context') \(from) WHERE TAGGED(c, 'flag') = true")
            #expect(flagged.count == 1)
            #expect(flagged.first?[0].stringValue == first.description)
            #expect(flagged.first?[1].stringValue == "follow-up")
            #expect(flagged.first?[2].stringValue == "late")
            #expect(try await rows("SELECT c/uid/value \(from) WHERE TAG(c, 'flag') = 'follow-up'").count == 1)
            #expect(try await rows("SELECT c/uid/value \(from) WHERE TAG(c, 'flag') = 'other'").isEmpty)
            // A version's tag, without value: '' from TAG, and TAGGED true.
            let reviewed = try await rows("SELECT c/uid/value, TAG(c, 'reviewed') \(from) WHERE TAGGED(c, 'reviewed') = true")
            #expect(reviewed.map { $0[0].stringValue } == [second.description])
            #expect(reviewed.first?[1].stringValue == "")
            #expect(try await rows("SELECT c/uid/value \(from) WHERE TAGGED(c, 'reviewed') = false").count == 1)
            // Booleans compare as 0 and 1 on both engines, CONTAINS's too.
            #expect(try await rows("SELECT c/uid/value \(from) WHERE CONTAINS(c/name/value, 'x') = false").count == 2)
            let untagged = try await rows("SELECT TAG(c, 'none') \(from)")
            #expect(untagged.count == 2 && untagged.allSatisfy { $0.first == .null })

            for bad in ["SELECT TAG(c/name, 'flag') \(from)", "SELECT TAG(c) \(from)", "SELECT TAG(e, 'flag') \(from)", "SELECT TAG(c, c/name/value) \(from)"] {
                let reply = try await server.send(.post, "/openehr/v1/query/aql", body: JSONSerializer.string(["q": .string(bad)]))
                #expect(reply.status == .badRequest, "\(bad): \(reply.status) \(reply.body)")
                #expect(reply.body.contains("TAG"), "\(bad): \(reply.body)")
            }
        }
    }
}
