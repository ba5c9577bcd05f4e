import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// FLAT compositions on POST and PUT (`format=FLAT` or
/// `application/openehr.wt.flat.schema+json`).
@Suite("openEHR REST: FLAT compositions")
struct FlatRoutesTests {
    static let flat = try! String(
        contentsOf: Corpus.root.appendingPathComponent("openehr/compositions/flat/aql_data_load/external/ehrbase.testcase06.v0__compo1_test_set_3_flat.json"),
        encoding: .utf8)
    static let opt = try! String(
        contentsOf: Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/external/ehrbase.testcase06.v0.opt"), encoding: .utf8)

    @Test(arguments: TestEngine.available)
    func aFlatCompositionCommitsAndReadsAsCanonical(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Self.opt).status == .created)
            let ehrID = try await server.createEHR()
            let created = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: Self.flat)
            #expect(created.status == .created, "\(created.body)")
            let uid = try #require(created.eTag)
            let read = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)")
            #expect(read.body.contains(#""magnitude":500.0"#))
            #expect(read.json["archetype_details"]?["template_id"]?["value"] == "ehrbase.testcase06.v0")
            // GET in FLAT: the values sent come back under their keys.
            let flat = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)?format=FLAT")
            #expect(flat.status == .ok)
            #expect(flat.headers[.contentType] == "application/openehr.wt.flat.schema+json")
            #expect(flat.json["ehrbase.testcase6.v0/blood_pressure/any_event:0/systolic|magnitude"] == .number("500.0"))
            #expect(flat.json["ehrbase.testcase6.v0/blood_pressure/any_event:1/systolic|unit"] == "mm[Hg]")
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)?format=YAML").status == .notAcceptable)
            // STRUCTURED: written nested, read back as the same composition.
            let structured = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(uid)?format=STRUCTURED")
            #expect(structured.status == .ok)
            #expect(structured.headers[.contentType] == "application/openehr.wt.structured.schema+json")
            let events = structured.json["ehrbase.testcase6.v0"]?["blood_pressure"]?.arrayValue?.first?["any_event"]?.arrayValue
            #expect(events?.first?["systolic"]?.arrayValue?.first?["|magnitude"] == .number("500.0"))
            // It carries the composition's uid: posted again it is a conflict; without it, a new composition with the same content.
            let conflict = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=STRUCTURED&templateId=ehrbase.testcase06.v0", body: structured.body)
            #expect(conflict.status == .conflict)
            func withoutUID(_ json: JSON) -> JSON {
                guard case .object(var object) = json, case .object(var tree)? = object["ehrbase.testcase6.v0"] else { return json }
                tree["_uid"] = nil
                object["ehrbase.testcase6.v0"] = .object(tree)
                return .object(object)
            }
            let writtenUID = JSONSerializer.string(structured.json["ehrbase.testcase6.v0"]?["_uid"] ?? .null)
            #expect(writtenUID.contains(uid))
            let again = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=STRUCTURED&templateId=ehrbase.testcase06.v0",
                body: JSONSerializer.string(withoutUID(structured.json)))
            #expect(again.status == .created, "\(again.body)")
            let second = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(try #require(again.eTag))?format=STRUCTURED")
            #expect(withoutUID(second.json) == withoutUID(structured.json))
            // The FLAT media type works as well, and PUT reads FLAT too.
            let objectID = String(uid.split(separator: ":").first!)
            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)?templateId=ehrbase.testcase06.v0",
                headers: ["If-Match": uid, "Content-Type": "application/openehr.wt.flat.schema+json"], body: Self.flat)
            #expect(updated.status == .noContent, "\(updated.body)")
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownKeysAndMissingTemplatesAreRefused(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            _ = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Self.opt)
            let ehrID = try await server.createEHR()
            let before = try await server.database.rowCounts(ehrID: ehrID)
            var flat = try JSONParser.parse(Self.flat).objectValue!
            flat["ehrbase.testcase6.v0/blood_pressure/no_such_node|magnitude"] = 1
            let refused = try await server.send(
                .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: JSONSerializer.string(.object(flat)))
            #expect(refused.status == .unprocessableContent)
            #expect(refused.problemPaths.contains("ehrbase.testcase6.v0/blood_pressure/no_such_node|magnitude"))
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT", body: Self.flat).status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=nothing", body: Self.flat).status == .unprocessableContent)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=STRUCTURED", body: "{}").status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: "[1]").status == .badRequest)
            // Keys that could harm are refused with their reason, not served a 500.
            for key in ["ehrbase.testcase6.v0/_link:-1|meaning", "ehrbase.testcase6.v0/_link:99999999|meaning", "ehrbase.testcase6.v0/blood_pressure:-3/any_event:0/systolic|magnitude",
                        "_uid", "|code", "", "ehrbase.testcase6.v0/_uid/x", "ehrbase.testcase6.v0/blood_pressure|magnitude",
                        // A key nesting RM attributes without end (more than 64 segments).
                        "ehrbase.testcase6.v0/_uid" + String(repeating: "/_mapping:0/purpose", count: 2_000) + "|code"] {
                var bad = try JSONParser.parse(Self.flat).objectValue!
                bad[key] = "1"
                let reply = try await server.send(
                    .post, "/openehr/v1/ehr/\(ehrID)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: JSONSerializer.string(.object(bad)))
                #expect(reply.status == .unprocessableContent, "\(key): \(reply.status) \(reply.body.prefix(200))")
            }
            #expect(try await server.database.rowCounts(ehrID: ehrID) == before)
        }
    }
}
