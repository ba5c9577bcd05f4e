import Foundation
import JSONCore
import Server
import SocleTestSupport
import Testing

/// `SOCLE_MAPPINGS` and `GET /admin/mappings`: the folder's files, each with
/// its load status and problems (file, line, reason), and each context with
/// its template, profile and model mappings; admin only.
@Suite("Admin API: mappings")
struct MappingsAdminTests {
    /// openFHIR's blood pressure mappings, and a file with a bad operator at line 9.
    static func folder() throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-mappings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("bp"), withIntermediateDirectories: true)
        let source = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/blood_pressure")
        for name in ["simple-blood-pressure.context.yml", "blood-pressure-parent.model.yml", "blood-pressure.model.yml"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(name), to: folder.appendingPathComponent("bp/" + name))
        }
        let broken = """
            grammar: FHIRConnect/v1.0.0
            type: model
            metadata: {name: broken, version: 1.0.0}
            spec: {system: FHIR, version: R4, openEhrConfig: {archetype: openEHR-EHR-OBSERVATION.x.v1}, fhirConfig: {structureDefinition: x}}
            mappings:
              - name: "a"
                with: {fhir: "$resource.code", openehr: "$archetype/data[at0001]"}
                fhirCondition:
                  operator: "equals"
                  targetRoot: "$resource.code"
                  criteria: "x"
            """
        try broken.write(to: folder.appendingPathComponent("broken.yml"), atomically: true, encoding: .utf8)
        // Not UTF-8: listed with its problem; the server still starts.
        try Data([0x67, 0x72, 0xff, 0xfe, 0x0a]).write(to: folder.appendingPathComponent("latin.yml"))
        return folder.path
    }

    @Test(arguments: TestEngine.available)
    func theLoadedMappingsAreListed(engine: TestEngine) async throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await TestServer.with(engine, configure: { $0.mappings = .folder(folder) }) { server in
            #expect(try await server.send(.get, "/admin/mappings", as: TestServer.clinician).status == .forbidden)
            let opt = try String(contentsOf: Corpus.root.appendingPathComponent("fhir/mappings/openfhir/blood_pressure/Blood Pressure.opt"), encoding: .utf8)
            let upload = try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: opt)
            #expect(upload.status == .created || upload.status == .noContent || upload.status == .ok, "\(upload.body)")

            let reply = try await server.send(.get, "/admin/mappings")
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(reply.json["folder"]?.stringValue == folder)
            let files = try #require(reply.json["files"]?.arrayValue)
            #expect(files.compactMap { $0["file"]?.stringValue } == [
                "latin.yml", "bp/blood-pressure-parent.model.yml", "bp/blood-pressure.model.yml", "bp/simple-blood-pressure.context.yml", "broken.yml",
            ])
            #expect(files.map { $0["loaded"] } == [false, true, true, true, false])
            #expect(files[0]["problems"]?.arrayValue?.first?["reason"] == "the file cannot be read as UTF-8 text")
            #expect(files[3]["type"] == "context" && files[1]["type"] == "model" && files[1]["grammar"] == "FHIRConnect/v0.0.1")
            let problem = try #require(files[4]["problems"]?.arrayValue?.first)
            #expect(problem["line"] == 9)
            #expect(problem["reason"]?.stringValue?.contains("operator 'equals'") == true)

            let context = try #require(reply.json["contexts"]?.arrayValue?.first)
            #expect(context["template_id"] == "Blood Pressure" && context["template_loaded"] == true)
            #expect(context["profile"] == "Bundle")
            #expect(context["start"] == "openEHR-EHR-COMPOSITION.blood_pressure.v0")
            #expect(context["models"]?.arrayValue?.count == 2)
            #expect(context["methods"]?["both"] != nil)
        }
    }

    /// Issue 15 §6: mapping files added, replaced and removed through the
    /// API on a running server, each change an audited version (who, when,
    /// what), in force at once: a body weight is stored as a composition
    /// once its context is added, and as a FHIR resource again once removed.
    @Test(arguments: TestEngine.available)
    func mappingFilesAreAddedReplacedAndRemovedThroughTheAPI(engine: TestEngine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-mappings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/mappings/body-weight")
        let model = try String(contentsOf: fixtures.appendingPathComponent("body-weight.model.yml"), encoding: .utf8)
        let context = try String(contentsOf: fixtures.appendingPathComponent("body-weight.context.yml"), encoding: .utf8)
        try await TestServer.with(engine, configure: { $0.mappings = .folder(folder.path) }) { server in
            let opt = try String(
                contentsOf: Corpus.root.appendingPathComponent("openehr/templates/valid/all_types/cistec.openehr.body_weight.v1.opt"), encoding: .utf8)
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: opt).status == .created)
            #expect(try await server.send(.put, "/fhir/Patient/p1", headers: FHIRRoutesTests.json, body: #"{"resourceType": "Patient", "id": "p1"}"#).status == .created)
            let weight = JSONSerializer.string(try FHIRMappedWritesTests.bodyWeight())

            // Admin only; a file that does not load is refused with its line, and nothing changes.
            #expect(try await server.send(.put, "/admin/mappings/body-weight.model.yml", as: TestServer.clinician, body: model).status == .forbidden)
            let broken = try await server.send(.put, "/admin/mappings/body-weight.model.yml", body: model.replacingOccurrences(of: "one of", with: "equals"))
            #expect(broken.status == .unprocessableContent, "\(broken.body)")
            #expect(broken.body.contains("body-weight.model.yml:"), "\(broken.body)")
            #expect(try await server.send(.put, "/admin/mappings/..%2Fescape.yml", body: model).status == .badRequest)
            #expect(try await server.send(.get, "/admin/mappings").json["files"] == [])

            // Added: listed with its audit, in force once the FHIR view is rebuilt.
            let added = try await server.send(.put, "/admin/mappings/body-weight.model.yml", headers: ["openEHR-AUDIT_DETAILS.description": "value=\"body weight\""], body: model)
            #expect(added.status == .ok && added.json["version"] == 1 && added.json["committer"] == "alice", "\(added.body)")
            #expect(try await server.send(.put, "/admin/mappings/body-weight.context.yml", body: context).status == .ok)
            let listed = try await server.send(.get, "/admin/mappings")
            #expect(listed.json["files"]?.arrayValue?.map { $0["source"] } == ["api", "api"], "\(listed.body)")
            #expect(listed.json["contexts"]?.arrayValue?.first?["name"] == "socle.body_weight.context", "\(listed.body)")
            try await Self.waitForTheFHIRIndex(server)
            #expect(try await server.send(.post, "/fhir/Observation", headers: FHIRRoutesTests.json, body: weight).status == .created)
            #expect(try await FHIRMappedWritesTests.rows(server).count == 1)

            // Replaced, then removed: each a version; the removal puts writes back as FHIR resources.
            #expect(try await server.send(.put, "/admin/mappings/body-weight.model.yml", body: model + "\n# v2\n").json["version"] == 2)
            let removed = try await server.send(.delete, "/admin/mappings/body-weight.context.yml")
            #expect(removed.status == .ok && removed.json["deleted"] == true, "\(removed.body)")
            try await Self.waitForTheFHIRIndex(server)
            #expect(try await server.send(.post, "/fhir/Observation", headers: FHIRRoutesTests.json, body: weight).status == .created)
            #expect(try await FHIRMappedWritesTests.rows(server).count == 1)
            #expect(try await server.send(.delete, "/admin/mappings/body-weight.context.yml").status == .notFound)

            let history = try await server.send(.get, "/admin/mappings/body-weight.model.yml/history")
            let versions = try #require(history.json.arrayValue)
            #expect(versions.map { $0["change_type"] } == ["creation", "modification"], "\(history.body)")
            #expect(versions.first?["description"] == "body weight" && versions.first?["text"]?.stringValue == model)
            #expect(try await server.send(.get, "/admin/mappings/none.yml/history").status == .notFound)
        }
        // Without a folder there is nowhere to add them.
        try await TestServer.with(engine) { server in
            let refused = try await server.send(.put, "/admin/mappings/body-weight.model.yml", body: model)
            #expect(refused.status == .conflict, "\(refused.body)")
        }
    }

    /// FHIR search answers 503 while the index is rebuilt after a mapping change.
    static func waitForTheFHIRIndex(_ server: TestServer) async throws {
        for _ in 0..<200 {
            if try await server.send(.get, "/fhir/Observation?_summary=count", headers: FHIRRoutesTests.json).status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the FHIR search index was not rebuilt within 10 s")
    }

    /// Without the setting the lists are empty; a folder that is not one stops the start.
    @Test(arguments: TestEngine.available)
    func withoutMappingsTheListIsEmpty(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let reply = try await server.send(.get, "/admin/mappings")
            #expect(reply.status == .ok)
            #expect(reply.json["files"] == [] && reply.json["contexts"] == [] && reply.json["folder"] == .null)
        }
        await #expect(throws: ConfigurationError.self) {
            try await TestServer.with(engine, configure: { $0.mappings = .folder("/nonexistent/socle-mappings") }) { _ in }
        }
    }
}
