import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §Template: `GET /definition/template/adl1.4/{id}/example`.
@Suite("openEHR REST: example compositions")
struct ExampleRoutesTests {
    /// Examples that commit again when sent in FLAT and in STRUCTURED (of 116): all.
    static let flatExamplesCommitted = 116

    /// For every valid corpus OPT (but the two no composition can satisfy,
    /// see CorpusTemplates.unsatisfiable), the example commits as a composition,
    /// in canonical JSON, canonical XML, FLAT and STRUCTURED.
    @Test(arguments: TestEngine.available)
    func everyTemplatesExampleCommits(engine: TestEngine) async throws {
        let root = Corpus.root.appendingPathComponent("openehr/templates/valid")
        let files = Corpus.files(below: root, withExtension: "opt")
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            var ids: Set<String> = []
            var failures: [String] = []
            var flatCommitted = 0
            var structuredCommitted = 0
            var mediumCommitted = 0
            var flatFailures: [String] = []
            for file in files {
                let upload = try await server.send(
                    .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"],
                    body: try String(contentsOf: file, encoding: .utf8))
                guard upload.status == .created, let id = upload.eTag, ids.insert(id).inserted,
                    !CorpusTemplates.unsatisfiable.contains(id)
                else { continue }
                let path = id.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"]))!
                let example = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(path)/example")
                guard example.status == .ok else {
                    failures.append("\(id): example \(example.status)")
                    continue
                }
                #expect(example.json["archetype_details"]?["template_id"]?["value"]?.stringValue == id)
                let committed = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: example.body)
                if committed.status != .created { failures.append("\(id): \(committed.status) \(committed.body.prefix(300))") }
                // The same example in canonical XML commits as XML.
                let xml = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(path)/example?format=XML")
                #expect(xml.headers[.contentType] == "application/xml")
                let fromXML = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/xml"], body: xml.body)
                if fromXML.status != .created { failures.append("\(id) in XML: \(fromXML.status) \(fromXML.body.prefix(300))") }
                // The same example in FLAT commits as FLAT.
                let flat = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(path)/example?format=FLAT")
                let query = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let fromFlat = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=\(query)", body: flat.body)
                if fromFlat.status == .created { flatCommitted += 1 } else { flatFailures.append("\(id): \(fromFlat.status) \(fromFlat.body.prefix(1000))") }
                // And in STRUCTURED as STRUCTURED.
                let structured = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(path)/example?format=STRUCTURED")
                let fromStructured = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition?format=STRUCTURED&templateId=\(query)", body: structured.body)
                if fromStructured.status == .created { structuredCommitted += 1 } else { flatFailures.append("\(id) in STRUCTURED: \(fromStructured.status)") }
                // ITS-REST 1.1: the medium example, asked for and committed by the 1.1 FLAT media type.
                let medium = try await server.send(
                    .get, "/openehr/v1/definition/template/adl1.4/\(path)/example?detail_level=medium", headers: ["Accept": "application/openehr.wt.flat+json"])
                let fromMedium = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition", headers: ["Content-Type": "application/openehr.wt.flat+json", "openehr-template-id": id],
                    body: medium.body)
                if fromMedium.status == .created { mediumCommitted += 1 } else { flatFailures.append("\(id) medium: \(fromMedium.status) \(fromMedium.body.prefix(600))") }
            }
            #expect(ids.count == 118)
            #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
            try? flatFailures.joined(separator: "\n").write(toFile: NSTemporaryDirectory() + "example-flat-failures.txt", atomically: true, encoding: .utf8)
            #expect(flatCommitted == Self.flatExamplesCommitted, "\(flatCommitted): \(flatFailures.prefix(5).joined(separator: "\n"))")
            #expect(structuredCommitted == flatCommitted)
            #expect(mediumCommitted == flatCommitted)
        }
    }

    /// ITS-REST 1.1 §Template example: `detail_level` (required, medium,
    /// complete) and `type` (input, or output: as read back, with a uid).
    @Test(arguments: [TestEngine.sqlite])
    func detailLevelAndType(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let upload = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: FlatRoutesTests.opt)
            let base = "/openehr/v1/definition/template/adl1.4/\(try #require(upload.eTag))/example"
            let flat = ["Accept": "application/openehr.wt.flat+json"]
            var keys: [Int] = []
            for level in ["required", "medium", "COMPLETE"] {
                let reply = try await server.send(.get, base + "?detail_level=\(level)", headers: flat)
                #expect(reply.status == .ok && reply.headers[.contentType] == "application/openehr.wt.flat+json")
                keys.append(reply.json.objectValue?.count ?? 0)
            }
            #expect(keys[0] < keys[1] && keys[1] < keys[2], "\(keys)")
            #expect(try await server.send(.get, base, headers: flat).json.objectValue?.count == keys[0])
            let input = try await server.send(.get, base + "?type=input")
            #expect(input.json["uid"] == nil)
            let output = try await server.send(.get, base + "?type=output")
            let uid = try #require(ObjectVersionID(output.json["uid"]?["value"]?.stringValue ?? ""))
            #expect(uid.creatingSystemID == "socle.test" && uid.versionNumber == 1)
            let outputFlat = try await server.send(.get, base + "?type=output", headers: flat)
            #expect(ObjectVersionID(outputFlat.json["ehrbase.testcase6.v0/_uid"]?.stringValue ?? "")?.creatingSystemID == "socle.test")
            #expect(try await server.send(.get, base, headers: flat).json["ehrbase.testcase6.v0/_uid"] == nil)
            for bad in ["detail_level=most", "type=both"] {
                let refused = try await server.send(.get, base + "?" + bad)
                #expect(refused.status == .badRequest)
                #expect(refused.json["message"]?.stringValue?.contains(String(bad.split(separator: "=")[0])) == true)
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownTemplatesAndFormatsAreRefused(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4/nothing/example").status == .notFound)
            let upload = try await server.send(
                .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"],
                body: try String(contentsOf: CompositionRoutesTests.templateFile, encoding: .utf8))
            let id = try #require(upload.eTag)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)/example?format=YAML").status == .notAcceptable)
            // Accept chooses the canonical form when no format is given.
            let xml = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)/example", headers: ["Accept": "application/xml"])
            #expect(xml.status == .ok && xml.body.hasPrefix("<?xml") && xml.body.contains("<composition xmlns=\"http://schemas.openehr.org/v1\""))
            let structured = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)/example?format=STRUCTURED")
            #expect(structured.status == .ok)
            let ehrID = try await server.createEHR()
            let committed = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=STRUCTURED&templateId=\(id)", body: structured.body)
            #expect(committed.status == .created, "\(committed.body)")
            let json = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)/example?format=JSON")
            #expect(json.status == .ok)
            #expect(json.json["_type"] == "COMPOSITION")
        }
    }
}

/// `GET /definition/template/adl1.4/{id}` with `Accept: application/openehr.wt+json`.
@Suite("openEHR REST: web templates")
struct WebTemplateRoutesTests {
    @Test(arguments: TestEngine.available)
    func theWebTemplateIsServedByMediaType(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let upload = try await server.send(
                .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"],
                body: try String(contentsOf: CompositionRoutesTests.templateFile, encoding: .utf8))
            let id = try #require(upload.eTag)
            let web = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)", headers: ["Accept": "application/openehr.wt+json"])
            #expect(web.status == .ok)
            #expect(web.headers[.contentType] == "application/openehr.wt+json")
            #expect(web.json["templateId"]?.stringValue == id)
            #expect(web.json["tree"]?["rmType"] == "COMPOSITION")
            #expect(web.json["tree"]?["children"]?.arrayValue?.first?["id"] == "category")
            let opt = try await server.send(.get, "/openehr/v1/definition/template/adl1.4/\(id)", headers: ["Accept": "application/xml"])
            #expect(opt.status == .ok)
            #expect(opt.body.contains("<template_id>"))
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4/none", headers: ["Accept": "application/openehr.wt+json"]).status == .notFound)
        }
    }
}
