import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §EHR: create, create with id, get by id, get by subject.
@Suite("openEHR REST: EHR")
struct EHRRoutesTests {
    @Test(arguments: TestEngine.available)
    func createWithoutBodyIsMinimalByDefault(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let reply = try await server.send(.post, "/openehr/v1/ehr")
            #expect(reply.status == .created)
            #expect(reply.body.isEmpty)
            let location = try #require(reply.headers[.location])
            let ehrID = String(location.split(separator: "/").last!)
            #expect(location.hasSuffix("/openehr/v1/ehr/\(ehrID)"))
            #expect(reply.eTag == ehrID)
            #expect(reply.headers[.lastModified]?.hasSuffix("GMT") == true)

            let get = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            #expect(get.status == .ok)
            #expect(get.json["ehr_id"]?["value"]?.stringValue == ehrID)
            #expect(get.json["system_id"]?["value"]?.stringValue == "socle.test")
            #expect(get.json["ehr_status"]?["type"]?.stringValue == "EHR_STATUS")
            #expect(get.json["time_created"]?["value"]?.stringValue?.hasSuffix("Z") == true)

            // The default EHR_STATUS (ITS-REST 1.0.3 POST /ehr): queryable, modifiable, PARTY_SELF.
            let status = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status")
            #expect(status.json["is_queryable"] == .bool(true))
            #expect(status.json["is_modifiable"] == .bool(true))
            #expect(status.json["subject"]?["_type"]?.stringValue == "PARTY_SELF")
        }
    }

    @Test(arguments: TestEngine.available)
    func createWithRepresentationAndStatusThenFindBySubject(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let subject = UUID().uuidString
            let reply = try await server.send(
                .post, "/openehr/v1/ehr", headers: ["Prefer": "return=representation"], body: statusJSON(subject: subject, queryable: false))
            #expect(reply.status == .created)
            let ehrID = try #require(reply.json["ehr_id"]?["value"]?.stringValue)

            let found = try await server.send(.get, "/openehr/v1/ehr?subject_id=\(subject)&subject_namespace=patients")
            #expect(found.status == .ok)
            #expect(found.json["ehr_id"]?["value"]?.stringValue == ehrID)

            let status = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status")
            #expect(status.json["is_queryable"] == .bool(false))
            #expect(status.json["subject"]?["external_ref"]?["id"]?["value"]?.stringValue == subject)

            let again = try await server.send(.post, "/openehr/v1/ehr", body: statusJSON(subject: subject))
            #expect(again.status == .conflict)
            #expect(again.json["message"]?.stringValue?.contains("already exists for subject") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func everyValidCorpusStatusCreatesAnEHR(engine: TestEngine) async throws {
        let files = try Corpus.files(in: "openehr/ehr_status/valid", withExtension: "json")
            .filter { $0.lastPathComponent != "000_ehr_status_ecis.json" }
        try await TestServer.with(engine) { server in
            for file in files {
                let text = try String(contentsOf: file, encoding: .utf8)
                    .replacingOccurrences(of: "__AUTO-GENRATED-BY-TEST__", with: UUID().uuidString)
                    .replacingOccurrences(of: "abc12345-none-exis-ting-fa8308e1242f", with: UUID().uuidString)
                    .replacingOccurrences(of: "\"12345\"", with: "\"\(UUID().uuidString)\"")
                let reply = try await server.send(.post, "/openehr/v1/ehr", body: text)
                #expect(reply.status == .created, "\(file.lastPathComponent): \(reply.body)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func createWithClientID(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = UUID().uuidString
            let reply = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)", headers: ["Prefer": "return=representation"])
            #expect(reply.status == .created)
            #expect(reply.json["ehr_id"]?["value"]?.stringValue == ehrID.lowercased())
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID.lowercased())").status == .ok)
            let again = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)")
            #expect(again.status == .conflict)
            #expect(again.json["message"]?.stringValue == "EHR \(ehrID.lowercased()) already exists")
            let bad = try await server.send(.put, "/openehr/v1/ehr/not-a-uuid")
            #expect(bad.status == .badRequest)
            #expect(bad.json["message"]?.stringValue?.contains("not a valid EHR id") == true)
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownAndMalformedEHRs(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(UUID().uuidString)").status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/ehr/12345").status == .badRequest)
            #expect(try await server.send(.get, "/openehr/v1/ehr?subject_id=nobody&subject_namespace=patients").status == .notFound)
            let missing = try await server.send(.get, "/openehr/v1/ehr?subject_id=x")
            #expect(missing.status == .badRequest)
            #expect(missing.json["message"]?.stringValue?.contains("subject_namespace") == true)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(UUID().uuidString)/ehr_status").status == .notFound)
        }
    }

    /// Malformed input is a 400 that says what and where, and writes nothing.
    @Test(arguments: TestEngine.available)
    func badInputsGetAClear400AndLeaveNoData(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let before = try await server.database.rowCounts()
            let cases: [(String, String, String)] = [
                (#"{"_type":"EHR_STATUS","#, "message", "line 1, column 23"),
                (#"{"_type":"EHR_STATUS","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":1,"is_modifiable":true}"#, "/is_queryable", "must be a boolean"),
                (#"{"_type":"DV_TEXT","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true}"#, "/_type", "not allowed here"),
                (#"{"_type":"NO_SUCH_TYPE","archetype_node_id":"a","name":{"value":"n"},"subject":{},"is_queryable":true,"is_modifiable":true}"#, "/_type", "unknown RM type"),
                (#"{"archetype_node_id":"a","name":{"value":"n"},"subject":{"external_ref":{"id":{"_type":"GENERIC_ID","value":"x","scheme":"s"},"namespace":"","type":"PERSON"}},"is_queryable":true,"is_modifiable":true}"#, "/subject/external_ref/namespace", "must not be empty"),
                ("42", "/", "must be a JSON object"),
            ]
            for (body, path, message) in cases {
                let reply = try await server.send(.post, "/openehr/v1/ehr", body: body)
                #expect(reply.status == .badRequest, "\(body)")
                if path == "message" {
                    #expect(reply.json["message"]?.stringValue?.contains(message) == true, "\(reply.body)")
                } else {
                    let problem = reply.json["problems"]?.arrayValue?.first { $0["path"]?.stringValue == path }
                    #expect(problem?["message"]?.stringValue?.contains(message) == true, "\(reply.body)")
                    #expect(reply.json["validationErrors"]?.arrayValue?.isEmpty == false)
                }
            }
            for file in try Corpus.files(in: "openehr/ehr_status/invalid", withExtension: "json")
            where !["001_ehr_status_subject_empty.json", "000_ehr_status_type_missing.json"].contains(file.lastPathComponent) {
                let reply = try await server.send(.post, "/openehr/v1/ehr", body: try String(contentsOf: file, encoding: .utf8))
                #expect(reply.status == .badRequest, "\(file.lastPathComponent)")
                #expect(!reply.problemPaths.isEmpty, "\(file.lastPathComponent)")
            }
            #expect(try await server.database.rowCounts() == before)
        }
    }

    /// A NUL character cannot be stored as text (PostgreSQL refuses it): a
    /// 400 on both engines, naming where it is, and nothing written.
    @Test(arguments: TestEngine.available)
    func aSubjectWithANulCharacter(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let before = try await server.database.rowCounts()
            let reply = try await server.send(.post, "/openehr/v1/ehr", body: statusJSON(subject: "a\\u0000b"))
            #expect(reply.status == .badRequest, "\(reply.body)")
            #expect(reply.problemPaths == ["/subject/external_ref/id/value"], "\(reply.body)")
            let lookup = try await server.send(.get, "/openehr/v1/ehr?subject_id=a%00b&subject_namespace=patients")
            #expect(lookup.status == .badRequest, "\(lookup.body)")
            #expect(try await server.database.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func mediaTypesAreNegotiated(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let text = try await server.send(.post, "/openehr/v1/ehr", headers: ["Content-Type": "text/plain"], body: "status")
            #expect(text.status == .unsupportedMediaType)
            // An EHR_STATUS in XML without its mandatory attributes: a 400 naming them.
            let xml = try await server.send(.post, "/openehr/v1/ehr", headers: ["Content-Type": "application/xml"], body: "<ehr_status/>")
            #expect(xml.status == .badRequest)
            #expect(xml.body.contains("subject"), "\(xml.body)")
            let accept = try await server.send(.post, "/openehr/v1/ehr", headers: ["Accept": "text/html"])
            #expect(accept.status == .notAcceptable)
            let any = try await server.send(
                .post, "/openehr/v1/ehr", headers: ["Accept": "application/xml;q=0.9, */*;q=0.1", "Prefer": "return=representation"])
            #expect(any.status == .created)
            #expect(any.headers[.contentType] == "application/xml")
            let json = try await server.send(
                .post, "/openehr/v1/ehr", headers: ["Accept": "application/xml;q=0.5, application/json", "Prefer": "return=representation"])
            #expect(json.headers[.contentType] == "application/json")
        }
    }

    @Test(arguments: TestEngine.available)
    func unknownRoutesAnswerJSON404(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let reply = try await server.send(.get, "/openehr/v1/nothing-here")
            #expect(reply.status == .notFound)
            #expect(reply.json["error"]?.stringValue == "Not Found")
        }
    }
}
