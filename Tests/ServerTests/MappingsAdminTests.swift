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
        try await TestServer.with(engine, configure: { $0.mappingsFolder = folder }) { server in
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

    /// Without the setting the lists are empty; a folder that is not one stops the start.
    @Test(arguments: TestEngine.available)
    func withoutMappingsTheListIsEmpty(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let reply = try await server.send(.get, "/admin/mappings")
            #expect(reply.status == .ok)
            #expect(reply.json["files"] == [] && reply.json["contexts"] == [] && reply.json["folder"] == .null)
        }
        await #expect(throws: ConfigurationError.self) {
            try await TestServer.with(engine, configure: { $0.mappingsFolder = "/nonexistent/socle-mappings" }) { _ in }
        }
    }
}
