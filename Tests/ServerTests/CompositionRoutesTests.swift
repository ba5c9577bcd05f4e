import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Testing

/// ITS-REST 1.0.3 §COMPOSITION and §VERSIONED_COMPOSITION.
@Suite("openEHR REST: compositions")
struct CompositionRoutesTests {
    static let templateFile = Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")
    static let compositionText: String = {
        let url = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json")
        return JSONSerializer.string(try! JSONParser.parse(Array(try! Data(contentsOf: url))))
    }()

    /// An EHR and the blood pressure template, ready for compositions.
    static func prepared(_ server: TestServer) async throws -> String {
        let upload = try await server.send(
            .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"],
            body: try String(contentsOf: templateFile, encoding: .utf8))
        #expect(upload.status == .created)
        return try await server.createEHR()
    }

    static func systolic(_ value: String) -> String {
        compositionText.replacingOccurrences(of: #""units":"mm[Hg]","magnitude":22.0"#, with: #""units":"mm[Hg]","magnitude":\#(value)"#)
    }

    @Test(arguments: TestEngine.available)
    func createReadUpdateDelete(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.compositionText)
            #expect(created.status == .created, "\(created.body)")
            let v1 = try #require(created.eTag)
            let objectID = String(v1.split(separator: ":").first!)
            #expect(v1 == "\(objectID)::socle.test::1")
            #expect(created.headers[.location]?.hasSuffix("/openehr/v1/ehr/\(ehrID)/composition/\(v1)") == true)

            let latest = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)")
            #expect(latest.status == .ok)
            #expect(latest.json["uid"]?["value"]?.stringValue == v1)
            #expect(latest.json["archetype_details"]?["template_id"]?["value"]?.stringValue == "ehrbase_blood_pressure_simple.de.v0")

            let updated = try await server.send(
                .put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["If-Match": v1, "Prefer": "return=representation"], body: Self.systolic("130.0"))
            #expect(updated.status == .ok, "\(updated.body)")
            let v2 = try #require(updated.eTag)
            #expect(v2 == "\(objectID)::socle.test::2")
            #expect(updated.body.contains(#""magnitude":130.0"#))
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(v1)").body.contains(#""magnitude":22.0"#))

            let stale = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["If-Match": v1], body: Self.compositionText)
            #expect(stale.status == .preconditionFailed)
            #expect(stale.eTag == v2)

            let staleDelete = try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(v1)")
            #expect(staleDelete.status == .conflict)
            #expect(staleDelete.eTag == v2)
            let deleted = try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(v2)")
            #expect(deleted.status == .noContent)
            let v3 = try #require(deleted.eTag)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)").status == .noContent)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(v2)").status == .ok)
            #expect(try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/\(v3)").status == .badRequest)

            let history = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)/revision_history")
            let items = try #require(history.json["items"]?.arrayValue)
            #expect(items.compactMap { $0["audits"]?.arrayValue?.first?["change_type"]?["defining_code"]?["code_string"]?.stringValue } == ["249", "251", "523"])
            let version = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)/version")
            #expect(version.json["lifecycle_state"]?["defining_code"]?["code_string"]?.stringValue == "523")
            #expect(version.json["preceding_version_uid"]?["value"]?.stringValue == v2)
            let byID = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)/version/\(v1)")
            #expect(byID.json["data"]?["uid"]?["value"]?.stringValue == v1)
            let versioned = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)")
            #expect(versioned.json["_type"]?.stringValue == "VERSIONED_COMPOSITION")
            #expect(versioned.json["owner_id"]?["id"]?["value"]?.stringValue == ehrID)
        }
    }

    @Test(arguments: TestEngine.available)
    func versionAtTime(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let v1 = try #require(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.compositionText).eTag)
            let objectID = String(v1.split(separator: ":").first!)
            try await Task.sleep(for: .milliseconds(20))
            let between = ISODateTime.now()
            try await Task.sleep(for: .milliseconds(20))
            try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["If-Match": v1], body: Self.systolic("140.0"))
            let then = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)?version_at_time=\(between)")
            #expect(then.eTag == v1)
            let atVersion = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/versioned_composition/\(objectID)/version?version_at_time=\(between)")
            #expect(atVersion.json["uid"]?["value"]?.stringValue == v1)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)?version_at_time=2001-01-01T00:00:00Z").status == .notFound)
        }
    }

    /// A rejected composition is a 400 or 422 with every problem, and writes nothing.
    @Test(arguments: TestEngine.available)
    func refusalsListEveryProblemAndWriteNothing(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let before = try await server.database.rowCounts()
            let outOfRange = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.systolic("1200.0"))
            #expect(outOfRange.status == .unprocessableContent)
            #expect(outOfRange.problemPaths.contains("/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude"))
            let unknownTemplate = Self.compositionText.replacingOccurrences(of: #""template_id":{"value":"ehrbase_blood_pressure_simple.de.v0"}"#, with: #""template_id":{"value":"nope.v0"}"#)
            let unknown = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: unknownTemplate)
            #expect(unknown.status == .unprocessableContent)
            #expect(unknown.json["message"]?.stringValue?.contains("unknown template 'nope.v0'") == true)
            let notRM = Self.compositionText.replacingOccurrences(of: #""_type":"POINT_EVENT""#, with: #""_type":"POINT_EVENTS""#)
            let rm = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: notRM)
            #expect(rm.status == .badRequest)
            #expect(rm.problemPaths.contains { $0.hasSuffix("events[at0002]/_type") })
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: "{").status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition").status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(UUIDText.random())/composition", body: Self.compositionText).status == .notFound)
            #expect(try await server.database.rowCounts() == before)

            // Identifiers that are malformed or do not match.
            let v1 = try #require(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.compositionText).eTag)
            let objectID = String(v1.split(separator: ":").first!)
            let afterCreate = try await server.database.rowCounts()
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/not-a-uid").status == .badRequest)
            #expect(try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/composition/not-a-uuid", headers: ["If-Match": v1], body: Self.compositionText).status == .badRequest)
            let otherUID = Self.compositionText.replacingOccurrences(
                of: #""archetype_node_id":"openEHR-EHR-COMPOSITION.sample_encounter.v1"}"#,
                with: #""archetype_node_id":"openEHR-EHR-COMPOSITION.sample_encounter.v1","uid":{"_type":"HIER_OBJECT_ID","value":"\#(UUIDText.random())"}}"#)
            #expect(otherUID != Self.compositionText)
            let mismatch = try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", headers: ["If-Match": v1], body: otherUID)
            #expect(mismatch.status == .badRequest)
            #expect(mismatch.json["message"]?.stringValue?.contains("does not match the versioned object") == true)
            #expect(try await server.send(.delete, "/openehr/v1/ehr/\(ehrID)/composition/not-a-uuid").status == .badRequest)
            // A uid already taken (the store counts the insert's conflict on PostgreSQL, SQLite raises it): 409, nothing written.
            let taken = Self.compositionText.replacingOccurrences(
                of: #""archetype_node_id":"openEHR-EHR-COMPOSITION.sample_encounter.v1"}"#,
                with: #""archetype_node_id":"openEHR-EHR-COMPOSITION.sample_encounter.v1","uid":{"_type":"HIER_OBJECT_ID","value":"\#(objectID)"}}"#)
            let duplicate = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: taken)
            #expect(duplicate.status == .conflict)
            #expect(duplicate.json["message"]?.stringValue?.contains("\(objectID) already exists") == true, "\(duplicate.json)")
            #expect(try await server.database.rowCounts() == afterCreate)
        }
    }

    @Test(arguments: TestEngine.available)
    func anEHRThatIsNotModifiableRefusesNewContent(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let v1 = try #require(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/ehr_status").eTag)
            try await server.send(.put, "/openehr/v1/ehr/\(ehrID)/ehr_status", headers: ["If-Match": v1], body: statusJSON(modifiable: false))
            let before = try await server.database.rowCounts()
            let refused = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.compositionText)
            #expect(refused.status == .conflict)
            #expect(refused.json["message"]?.stringValue?.contains("is not modifiable") == true)
            #expect(try await server.database.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func aTemplateInUseCannotBeRemoved(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Self.compositionText).status == .created)
            #expect(try await server.send(.delete, "/admin/template/ehrbase_blood_pressure_simple.de.v0").status == .conflict)
        }
    }
}

@Suite("openEHR REST: the corpus compositions")
struct CorpusCompositionTests {
    /// Every corpus canonical JSON composition whose template is in the
    /// corpus commits (201), or is refused: 400 when it breaks the RM, 422
    /// when it breaks its template.
    @Test(arguments: TestEngine.available)
    func everyCorpusCompositionCommitsOrIsRefusedForItsReason(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            var templateIDs: Set<String> = []
            for file in DefinitionRoutesTests.opts(in: "openehr/templates/valid") {
                let reply = try await server.send(
                    .post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: try String(contentsOf: file, encoding: .utf8))
                if reply.status == .created { templateIDs.insert(try DefinitionRoutesTests.templateID(of: file)) }
            }
            let ehrID = try await server.createEHR()
            let root = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json")
            var committed = 0
            for file in Corpus.files(below: root, withExtension: "json") {
                let name = file.path.components(separatedBy: "canonical_json/").last ?? ""
                guard let json = try? JSONParser.parse(Array(try Data(contentsOf: file))),
                    let templateID = json["archetype_details"]?["template_id"]?["value"]?.stringValue, templateIDs.contains(templateID)
                else { continue }
                // Each composition is sent as a new one.
                var object = try #require(json.objectValue)
                object["uid"] = nil
                let reply = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: JSONSerializer.string(.object(object)))
                if CorpusExpectations.refusedByTheRMSchema[name] != nil {
                    #expect(reply.status == .badRequest, "\(name)")
                } else if let violation = CorpusExpectations.templateViolations[name] {
                    #expect(reply.status == .unprocessableContent, "\(name)")
                    let errors = reply.json["validationErrors"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    #expect(errors.contains { $0.contains(violation) }, "\(name): \(errors.prefix(3))")
                } else {
                    #expect(reply.status == .created, "\(name): \(reply.body.prefix(500))")
                    committed += 1
                }
            }
            #expect(committed == 109)
        }
    }
}
