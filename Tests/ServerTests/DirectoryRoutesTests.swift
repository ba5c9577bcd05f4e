import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §DIRECTORY (RM 1.1.0 ehr package: EHR.directory, one
/// VERSIONED_FOLDER per EHR), on both engines.
@Suite("openEHR REST: directory")
struct DirectoryRoutesTests {
    static func corpus(_ name: String) -> String {
        let url = Corpus.root.appendingPathComponent("openehr/directory/\(name)")
        return JSONSerializer.string(try! JSONParser.parse(Array(try! Data(contentsOf: url))))
    }

    @Test(arguments: TestEngine.available)
    func createReadAtPathUpdateAndDelete(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let base = "/openehr/v1/ehr/\(ehrID)/directory"
            #expect(try await server.send(.get, base).status == .notFound)

            let created = try await server.send(.post, base, headers: ["Prefer": "return=representation"], body: Self.corpus("subfolders_in_directory_items.json"))
            #expect(created.status == .created, "\(created.body)")
            let v1 = try #require(created.eTag)
            let objectID = String(v1.split(separator: ":").first!)
            #expect(v1 == "\(objectID)::socle.test::1")
            #expect(created.headers[.location]?.hasSuffix("\(base)/\(v1)") == true)
            #expect(created.json["uid"]?["value"]?.stringValue == v1)

            // The EHR names its directory.
            let ehr = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            #expect(ehr.json["directory"]?["id"]?["value"]?.stringValue == objectID)
            #expect(ehr.json["directory"]?["type"] == "VERSIONED_FOLDER")

            let latest = try await server.send(.get, base)
            #expect(latest.status == .ok)
            #expect(latest.eTag == v1)
            #expect(latest.json["folders"]?.arrayValue?.count == 2)
            #expect(latest.json["items"]?.arrayValue?.first?["id"]?["value"] == "d936409e-901f-4994-8d33-ed104d46015b")
            let sub = try await server.send(.get, base + "?path=subfolder%202")
            #expect(sub.status == .ok)
            #expect(sub.json["name"]?["value"] == "subfolder 2")
            #expect(try await server.send(.get, base + "?path=subfolder%203").status == .notFound)

            // One directory per EHR.
            #expect(try await server.send(.post, base, body: Self.corpus("empty_directory.json")).status == .conflict)

            // PUT needs If-Match naming the latest version.
            let replacement = Self.corpus("subfolders_in_directory_different_name.json")
            #expect(try await server.send(.put, base, body: replacement).status == .badRequest)
            let wrong = "\(objectID)::socle.test::7"
            let stale = try await server.send(.put, base, headers: ["If-Match": wrong], body: replacement)
            #expect(stale.status == .preconditionFailed)
            #expect(stale.eTag == v1)
            let updated = try await server.send(.put, base, headers: ["If-Match": v1], body: replacement)
            #expect(updated.status == .noContent, "\(updated.body)")
            let v2 = try #require(updated.eTag)
            #expect(v2 == "\(objectID)::socle.test::2")

            // Earlier versions stay readable, by uid and at a time.
            let first = try await server.send(.get, "\(base)/\(v1)?path=subfolder%201")
            #expect(first.status == .ok)
            #expect(first.json["name"]?["value"] == "subfolder 1")

            // DELETE with If-Match; a deleted directory answers 204; its versions remain.
            #expect(try await server.send(.delete, base, headers: ["If-Match": v1]).status == .preconditionFailed)
            let deleted = try await server.send(.delete, base, headers: ["If-Match": v2])
            #expect(deleted.status == .noContent)
            let v3 = try #require(deleted.eTag)
            #expect(try await server.send(.get, base).status == .noContent)
            #expect(try await server.send(.get, "\(base)/\(v2)").status == .ok)
            #expect(try await server.send(.delete, base, headers: ["If-Match": v3]).status == .conflict)
            // A version of another object is not a directory version.
            #expect(try await server.send(.get, "\(base)/\(UUIDText.random())::socle.test::1").status == .notFound)
        }
    }

    @Test(arguments: TestEngine.available)
    func versionAtTimeSelectsTheVersionThen(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let base = "/openehr/v1/ehr/\(ehrID)/directory"
            let created = try await server.send(.post, base, body: Self.corpus("update/1_create_empty_directory.json"))
            let v1 = try #require(created.eTag)
            try await Task.sleep(for: .milliseconds(20))
            let between = ISODateTime.now()
            try await Task.sleep(for: .milliseconds(20))
            let updated = try await server.send(.put, base, headers: ["If-Match": v1], body: Self.corpus("update/2_add_subfolders.json"))
            let v2 = try #require(updated.eTag)
            let encoded = between.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let then = try await server.send(.get, base + "?version_at_time=" + encoded)
            #expect(then.eTag == v1)
            #expect(then.json["folders"] == nil)
            let now = try await server.send(.get, base)
            #expect(now.eTag == v2)
            #expect(now.json["folders"]?.arrayValue?.isEmpty == false)
            let third = try await server.send(.put, base, headers: ["If-Match": v2], body: Self.corpus("update/3_add_items.json"))
            #expect(third.status == .noContent)
        }
    }

    @Test(arguments: TestEngine.available)
    func badFoldersAreRefusedAndNothingIsWritten(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let before = try await server.database.rowCounts(ehrID: ehrID)
            let base = "/openehr/v1/ehr/\(ehrID)/directory"
            let composition = #"{"_type":"COMPOSITION","name":{"_type":"DV_TEXT","value":"x"},"archetype_node_id":"a"}"#
            for body in [#"{"_type":"FOLDER","archetype_node_id":"openEHR-EHR-FOLDER.generic.v1"}"#, composition, "[]", "{", ""] {
                let reply = try await server.send(.post, base, body: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status) \(reply.body)")
            }
            let noName = try await server.send(.post, base, body: #"{"_type":"FOLDER","archetype_node_id":"openEHR-EHR-FOLDER.generic.v1"}"#)
            #expect(noName.problemPaths.contains("/name"))
            #expect(try await server.database.rowCounts(ehrID: ehrID) == before)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(UUIDText.random())/directory", body: Self.corpus("empty_directory.json")).status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/not-a-uuid/directory").status == .badRequest)
        }
    }

    /// Every directory of the corpus (ehrbase integration tests) is accepted,
    /// but one that sends `folders: []` (RM FOLDER.Folders_valid: the list is
    /// left out or not empty).
    static let refusedDirectories = ["aql_data_load/folder_simple.json": "must be left out rather than empty (RM invariant FOLDER.Folders_valid)"]

    @Test(arguments: TestEngine.available)
    func everyCorpusDirectoryIsAccepted(engine: TestEngine) async throws {
        let folder = Corpus.root.appendingPathComponent("openehr/directory")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
            + (try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("aql_data_load").path)).filter { $0.hasSuffix(".json") }.sorted().map { "aql_data_load/" + $0 }
        #expect(names.count >= 20)
        try await TestServer.with(engine) { server in
            for name in names {
                let ehrID = try await server.createEHR()
                let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/directory", body: Self.corpus(name))
                if let reason = Self.refusedDirectories[name] {
                    #expect(reply.status == .badRequest && reply.body.contains(reason), "\(name): \(reply.body)")
                    continue
                }
                #expect(reply.status == .created, "\(name): \(reply.body)")
                let read = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/directory")
                let sent = try JSONParser.parse(Self.corpus(name))
                #expect(read.json["name"] == sent["name"], "\(name)")
                // An empty list is not kept (the RM's lists hold at least one item).
                #expect((read.json["folders"]?.arrayValue?.count ?? 0) == (sent["folders"]?.arrayValue?.count ?? 0), "\(name)")
                #expect((read.json["items"]?.arrayValue?.count ?? 0) == (sent["items"]?.arrayValue?.count ?? 0), "\(name)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func concurrentCreationsLeaveOneDirectory(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            let body = Self.corpus("empty_directory.json")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<4 { group.addTask { try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/directory", body: body).status } }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .created }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 3)
            // EHR_STATUS, EHR_ACCESS and the one directory.
            #expect(try await server.database.rowCounts(ehrID: ehrID)["versioned_object"] == 3)
        }
    }

    @Test(arguments: TestEngine.available)
    func aContributionCommitsFolderVersions(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            func contribution(_ versions: [JSON]) -> String {
                JSONSerializer.string([
                    "audit": ["committer": ["_type": "PARTY_IDENTIFIED", "name": "dr who"], "change_type": ["defining_code": ["code_string": "249"]]],
                    "versions": .array(versions),
                ])
            }
            let folder = try JSONParser.parse(Self.corpus("subfolders_in_directory.json"))
            let create: JSON = ["_type": "ORIGINAL_VERSION", "data": folder, "lifecycle_state": ["defining_code": ["code_string": "532"]]]
            let committed = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: contribution([create]))
            #expect(committed.status == .created, "\(committed.body)")
            let read = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/directory")
            let v1 = try #require(read.eTag)
            // A second creation in a contribution is refused like POST.
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: contribution([create])).status == .conflict)
            // Deletion without data: the preceding version says it is the directory.
            let delete: JSON = [
                "_type": "ORIGINAL_VERSION", "preceding_version_uid": ["value": .string(v1)],
                "lifecycle_state": ["defining_code": ["code_string": "523"]],
                "commit_audit": ["change_type": ["defining_code": ["code_string": "523"]]],
            ]
            let deleted = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/contribution", body: contribution([delete]))
            #expect(deleted.status == .created, "\(deleted.body)")
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/directory").status == .noContent)
            // A bad folder names its path inside the contribution.
            let bad: JSON = ["_type": "ORIGINAL_VERSION", "data": ["_type": "FOLDER", "archetype_node_id": "x"]]
            let refused = try await server.send(.post, "/openehr/v1/ehr/\(UUIDText.random())/contribution", body: contribution([bad]))
            #expect(refused.status == .notFound)
            let other = try await server.createEHR()
            let refusedHere = try await server.send(.post, "/openehr/v1/ehr/\(other)/contribution", body: contribution([bad]))
            #expect(refusedHere.status == .badRequest)
            #expect(refusedHere.problemPaths.contains("/versions[0]/data/name"))
        }
    }
}
