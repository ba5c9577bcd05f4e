import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Storage
import Testing

/// ITS-REST 1.0.3 §Definitions (ADL 1.4 templates) and the admin template API.
@Suite("openEHR REST: templates")
struct DefinitionRoutesTests {
    static func opts(in folder: String) -> [URL] {
        let root = Corpus.root.appendingPathComponent(folder)
        return Corpus.files(below: root, withExtension: "opt")
    }

    static func templateID(of url: URL) throws -> String {
        let text = try String(contentsOf: url, encoding: .utf8)
        let start = try #require(text.range(of: "<template_id>"))
        let value = try #require(text.range(of: "<value>", range: start.upperBound..<text.endIndex))
        let end = try #require(text.range(of: "</value>", range: value.upperBound..<text.endIndex))
        return String(text[value.upperBound..<end.lowerBound])
    }

    func upload(_ server: TestServer, _ url: URL, headers: [String: String] = [:]) async throws -> Reply {
        try await server.send(
            .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"].merging(headers) { $1 },
            body: try String(contentsOf: url, encoding: .utf8))
    }

    @Test(arguments: TestEngine.available)
    func everyValidCorpusTemplateUploadsAndComesBackAsSent(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            var uploaded: Set<String> = []
            let files = Self.opts(in: "openehr/templates/valid")
            let distinct = Set(try files.map(Self.templateID))
            for file in files {
                let id = try Self.templateID(of: file)
                let reply = try await upload(server, file)
                if uploaded.contains(id) {
                    #expect(reply.status == .conflict, "\(file.lastPathComponent)")
                    continue
                }
                #expect(reply.status == .created, "\(file.lastPathComponent): \(reply.body)")
                #expect(reply.headers[.location]?.hasSuffix("/definition/template/adl1.4/" + (id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? id)) == true)
                uploaded.insert(id)
            }
            #expect(uploaded == distinct)
            let list = try await server.send(.get, "/openehr/v1/definition/template/adl1.4")
            let items = try #require(list.json.arrayValue)
            #expect(Set(items.compactMap { $0["template_id"]?.stringValue }) == uploaded)
            #expect(items.allSatisfy { $0["archetype_id"]?.stringValue?.hasPrefix("openEHR-EHR-COMPOSITION.") == true && $0["concept"] != nil && $0["created_timestamp"] != nil })

            let file = Corpus.root.appendingPathComponent("openehr/templates/valid/all_types/International_Patient_Summary.opt")
            let get = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/International%20Patient%20Summary")
            #expect(get.status == .ok)
            #expect(get.headers[.contentType] == "application/xml")
            #expect(get.body == (try String(contentsOf: file, encoding: .utf8)))
        }
    }

    @Test(arguments: TestEngine.available)
    func everyInvalidCorpusTemplateIsRefusedWithAReason(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            for file in Self.opts(in: "openehr/templates/invalid") {
                let reply = try await upload(server, file)
                #expect(reply.status == .badRequest, "\(file.lastPathComponent)")
                #expect(reply.json["message"]?.stringValue?.contains("not a valid operational template") == true)
                #expect(!reply.problemPaths.isEmpty, "\(file.lastPathComponent): \(reply.body)")
            }
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4").json == .array([]))
        }
    }

    @Test(arguments: TestEngine.available)
    func uploadGetAndRefusals(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let file = Corpus.root.appendingPathComponent("openehr/templates/valid/minimal/minimal_action.opt")
            let created = try await upload(server, file, headers: ["Prefer": "return=representation"])
            #expect(created.status == .created)
            #expect(created.body == (try String(contentsOf: file, encoding: .utf8)))
            #expect(created.eTag == "minimal_action.en.v1")
            #expect(try await upload(server, file).status == .conflict)
            let json = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", body: "{}")
            #expect(json.status == .unsupportedMediaType)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4/nope").status == .notFound)
            let wrongAccept = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/minimal_action.en.v1", headers: ["Accept": "application/json"])
            #expect(wrongAccept.status == .notAcceptable)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4", as: nil).status == .unauthorized)
        }
    }

    @Test(arguments: TestEngine.available)
    func adminReplacesAndDeletesTemplatesNotInUse(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let action = Corpus.root.appendingPathComponent("openehr/templates/valid/minimal/minimal_action.opt")
            let admin = Corpus.root.appendingPathComponent("openehr/templates/valid/minimal/minimal_admin.opt")
            _ = try await upload(server, action)
            _ = try await upload(server, admin)
            let xml = try String(contentsOf: action, encoding: .utf8)

            let forbidden = try await server.send(.put, "/admin/template/minimal_action.en.v1", as: TestServer.clinician, headers: ["Content-Type": "application/xml"], body: xml)
            #expect(forbidden.status == .forbidden)
            // The web template (and the FLAT reader built with it) is kept per template:
            // a replacement is served at once.
            let webTemplate: [String: String] = ["Accept": "application/openehr.wt+json"]
            let before = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/minimal_action.en.v1", headers: webTemplate)
            #expect(before.json["tree"]?["name"] == "Minimal")
            let renamed = xml.replacingOccurrences(of: "<items id=\"text\">Minimal</items>", with: "<items id=\"text\">Minimal renamed</items>")
            let replaced = try await server.send(.put, "/admin/template/minimal_action.en.v1", headers: ["Content-Type": "application/xml"], body: renamed)
            #expect(replaced.status == .ok)
            let after = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/minimal_action.en.v1", headers: webTemplate)
            #expect(after.json["tree"]?["name"] == "Minimal renamed")
            let example = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/minimal_action.en.v1/example?format=FLAT")
            #expect(example.json.objectValue?.keys.contains { $0.hasPrefix("minimal_renamed/") } == true)
            let mismatch = try await server.send(.put, "/admin/template/minimal_admin.en.v1", headers: ["Content-Type": "application/xml"], body: xml)
            #expect(mismatch.status == .badRequest)
            #expect(try await server.send(.put, "/admin/template/unknown", headers: ["Content-Type": "application/xml"], body: xml).status == .badRequest)

            // A composition following minimal_admin makes it in use.
            try await server.database.database.transaction([
                SQLStatement(
                    "INSERT INTO versioned_object (object_id, ehr_id, rm_type, time_created, latest_version, template_id) VALUES ('o1', 'e1', 'COMPOSITION', 0, 1, 'minimal_admin.en.v1')")
            ])
            let inUse = try await server.send(.delete, "/admin/template/minimal_admin.en.v1")
            #expect(inUse.status == .conflict)
            #expect(try await server.send(.put, "/admin/template/minimal_admin.en.v1", headers: ["Content-Type": "application/xml"], body: try String(contentsOf: admin, encoding: .utf8)).status == .conflict)
            let all = try await server.send(.delete, "/admin/template/all")
            #expect(all.status == .conflict)
            #expect(all.json["message"]?.stringValue?.contains("minimal_admin.en.v1") == true)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4").json.arrayValue?.count == 2)

            let deleted = try await server.send(.delete, "/admin/template/minimal_action.en.v1")
            #expect(deleted.status == .ok)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4/minimal_action.en.v1").status == .notFound)
            #expect(try await server.send(.delete, "/admin/template/minimal_action.en.v1").status == .notFound)

            try await server.database.database.transaction([SQLStatement("DELETE FROM versioned_object WHERE object_id = 'o1'")])
            let cleared = try await server.send(.delete, "/admin/template/all")
            #expect(cleared.json["deleted"] == JSON(1))
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4").json == .array([]))
        }
    }
}
