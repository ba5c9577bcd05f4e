import Foundation
import HTTPTypes
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// Profiles on write and `$validate` (R4 §Profiling, §Resource-validate
/// operation): a resource claiming a profile Socle holds (FR Core by
/// default, or a conformance resource stored here) is checked against it; a
/// profile it does not hold is a warning. `$validate` answers 200 with every
/// issue whether or not the resource is valid, 4xx only when it cannot validate.
@Suite("FHIR REST: profiles and $validate")
struct FHIRValidateTests {
    static let json = FHIRRoutesTests.json
    static let frCorePackage = "fhir/fr-core/package-2.2.0-ballot-2"
    static let insProfile = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"

    static func corpusText(_ path: String) throws -> String {
        try String(contentsOf: Corpus.root.appendingPathComponent(path), encoding: .utf8)
    }

    /// The FR Core INS patient example, with its birthDate removed when asked
    /// (fr-core-patient-ins makes it 1..1; R4 leaves it 0..1).
    static func insPatient(withBirthDate: Bool = true) throws -> String {
        let text = try corpusText("\(frCorePackage)/example/Patient-FRCorePatientExample.json")
        guard !withBirthDate, case .object(var object) = try JSONParser.parse(text) else { return text }
        object["birthDate"] = nil
        return JSONSerializer.string(.object(object))
    }

    static func issues(_ reply: Reply) -> [(severity: String, code: String, location: String)] {
        (reply.json["issue"]?.arrayValue ?? []).map { issue in
            (issue["severity"]?.stringValue ?? "", issue["code"]?.stringValue ?? "", issue["expression"]?.arrayValue?.first?.stringValue ?? "")
        }
    }

    @Test(arguments: TestEngine.available)
    func writesAreCheckedAgainstTheProfilesTheyClaim(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try Self.insPatient(withBirthDate: false) != Self.insPatient())
            let valid = try await server.send(.post, "/fhir/Patient", headers: Self.json, body: try Self.insPatient())
            #expect(valid.status == .created, "\(valid.body)")
            let invalid = try await server.send(.post, "/fhir/Patient", headers: Self.json, body: try Self.insPatient(withBirthDate: false))
            #expect(invalid.status == .unprocessableContent, "\(invalid.body)")
            #expect(Self.issues(invalid).contains { $0.location == "Patient.birthDate" && $0.severity == "error" }, "\(invalid.body)")
            // The same in a transaction: refused as a whole, the entry named.
            let bundle = FHIRBundleTests.bundle("transaction", [FHIRBundleTests.entry("POST", "Patient", resource: try Self.insPatient(withBirthDate: false))])
            let refused = try await server.send(.post, "/fhir", headers: Self.json, body: bundle)
            #expect(refused.status == .unprocessableContent && refused.body.contains("birthDate"), "\(refused.body)")
            // A profile Socle does not hold: stored, with a warning for who asks for the outcome.
            let unknown = #"{"resourceType": "Patient", "meta": {"profile": ["http://example.org/StructureDefinition/unknown"]}}"#
            let warned = try await server.send(.post, "/fhir/Patient", headers: Self.json.merging(["Prefer": "return=OperationOutcome"]) { $1 }, body: unknown)
            #expect(warned.status == .created)
            #expect(Self.issues(warned).contains { $0.severity == "warning" && $0.code == "not-supported" }, "\(warned.body)")
            #expect(try await server.database.store.versions.count(rmType: "Patient") == 2)
        }
    }

    /// A profile stored here (a StructureDefinition with a snapshot written
    /// through the API) is used from the next write on; deleted, it is not.
    @Test(arguments: TestEngine.available)
    func aStoredProfileIsUsedUntilDeleted(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let url = "http://example.org/StructureDefinition/my-ins-patient"
            guard case .object(var object) = try JSONParser.parse(try Self.corpusText("\(Self.frCorePackage)/StructureDefinition-fr-core-patient-ins.json"))
            else { throw TestDatabaseError("the FR Core INS profile is not an object") }
            (object["id"], object["url"]) = ("my-ins-patient", .string(url))
            let definition = JSONSerializer.string(.object(object))
            let stored = try await server.send(.put, "/fhir/StructureDefinition/my-ins-patient", headers: Self.json, body: definition)
            #expect(stored.status == .created, "\(stored.body.prefix(3000))")
            let claiming = try Self.insPatient(withBirthDate: false).replacingOccurrences(of: Self.insProfile, with: url)
            let refused = try await server.send(.post, "/fhir/Patient", headers: Self.json, body: claiming)
            #expect(refused.status == .unprocessableContent && refused.body.contains("Patient.birthDate"), "\(refused.body)")
            let metadata = try await server.send(.get, "/fhir/metadata", as: nil)
            let declared = metadata.body.contains(url)
            #expect(declared, "the stored profile is in the CapabilityStatement")
            #expect(try await server.send(.delete, "/fhir/StructureDefinition/my-ins-patient").status == .ok)
            #expect(try await server.send(.post, "/fhir/Patient", headers: Self.json, body: claiming).status == .created)
        }
    }

    @Test(arguments: TestEngine.available)
    func validateAnswersEveryIssueWithoutStoring(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            func validate(_ path: String, _ body: String?, method: HTTPRequest.Method = .post) async throws -> Reply {
                try await server.send(method, path, headers: Self.json, body: body)
            }
            let clean = try await validate("/fhir/Patient/$validate", FHIRRoutesTests.patient)
            #expect(clean.status == .ok && !Self.issues(clean).contains { $0.severity == "error" }, "\(clean.body)")
            // Invalid content is still 200: the issues are the answer, with their locations.
            let broken = try await validate("/fhir/Patient/$validate", #"{"resourceType": "Patient", "gender": "woman", "colour": "blue"}"#)
            #expect(broken.status == .ok)
            let locations = Set(Self.issues(broken).filter { $0.severity == "error" }.map(\.location))
            #expect(locations.isSuperset(of: ["Patient.gender", "Patient.colour"]), "\(broken.body)")
            let profiled = try await validate("/fhir/Patient/$validate", try Self.insPatient(withBirthDate: false))
            #expect(Self.issues(profiled).contains { $0.location == "Patient.birthDate" && $0.severity == "error" })
            // The profile parameter, in the query or a Parameters body.
            let asked = try await validate("/fhir/Patient/$validate?profile=\(Self.insProfile)", FHIRRoutesTests.patient)
            #expect(asked.status == .ok && Self.issues(asked).contains { $0.severity == "error" }, "\(asked.body)")
            let parameters = #"""
                {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": \#(FHIRRoutesTests.patient)},
                 {"name": "mode", "valueCode": "create"}, {"name": "profile", "valueUri": "\#(Self.insProfile)"}]}
                """#
            let fromParameters = try await validate("/fhir/Patient/$validate", parameters)
            #expect(Self.issues(fromParameters).contains { $0.severity == "error" && $0.location.hasPrefix("Patient.identifier") }, "\(fromParameters.body)")
            // mode=create checks references; nothing is stored by $validate.
            let dangling = try await validate("/fhir/Observation/$validate?mode=create", FHIRRoutesTests.observation(patient: "Patient/nobody"))
            #expect(dangling.status == .ok && Self.issues(dangling).contains { $0.code == "not-found" && $0.severity == "error" }, "\(dangling.body)")
            #expect(try await server.database.store.versions.count(rmType: "Patient") == 0)
            #expect(try await server.database.store.versions.count(rmType: "Observation") == 0)
        }
    }

    @Test(arguments: TestEngine.available)
    func validateAtInstanceLevelAndItsModes(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let id = try await FHIRRoutesTests.create(server, "Patient", FHIRRoutesTests.patient)
            // GET: the stored resource, as it is.
            let stored = try await server.send(.get, "/fhir/Patient/\(id)/$validate")
            #expect(stored.status == .ok && !Self.issues(stored).contains { $0.severity == "error" }, "\(stored.body)")
            // mode=update: the id must be the instance's.
            let other = #"{"resourceType": "Patient", "id": "someone-else"}"#
            let update = try await server.send(.post, "/fhir/Patient/\(id)/$validate?mode=update", headers: Self.json, body: other)
            #expect(update.status == .ok && Self.issues(update).contains { $0.location == "Patient.id" && $0.severity == "error" }, "\(update.body)")
            // mode=delete: refused while an Observation refers to it, accepted otherwise.
            let deletable = try await server.send(.post, "/fhir/Patient/\(id)/$validate?mode=delete")
            #expect(Self.issues(deletable).map(\.severity) == ["information"], "\(deletable.body)")
            _ = try await FHIRRoutesTests.create(server, "Observation", FHIRRoutesTests.observation(patient: "Patient/\(id)"))
            let referenced = try await server.send(.get, "/fhir/Patient/\(id)/$validate?mode=delete")
            #expect(Self.issues(referenced).contains { $0.code == "conflict" && $0.severity == "error" }, "\(referenced.body)")
            let missing = try await server.send(.get, "/fhir/Patient/nobody/$validate?mode=delete")
            #expect(missing.status == .ok && Self.issues(missing).contains { $0.code == "not-found" })
        }
    }

    /// When the validation cannot be performed: 4xx with an OperationOutcome.
    @Test(arguments: TestEngine.available)
    func validationThatCannotBePerformed(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let cases: [(String, String?, HTTPResponse.Status)] = [
                ("/fhir/Patient/$validate?mode=sideways", FHIRRoutesTests.patient, .badRequest),
                ("/fhir/Patient/$validate?mode=update", FHIRRoutesTests.patient, .badRequest),
                ("/fhir/Patient/$validate?profile=http://example.org/none", FHIRRoutesTests.patient, .badRequest),
                ("/fhir/Patient/$validate", nil, .badRequest),
                ("/fhir/Patient/$validate", "{not json", .badRequest),
                ("/fhir/Nothing/$validate", FHIRRoutesTests.patient, .notFound),
                ("/fhir/Patient/bad%20id/$validate", FHIRRoutesTests.patient, .badRequest),
                (#"/fhir/Patient/$validate"#, #"{"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "create"}]}"#, .badRequest),
            ]
            for (path, body, status) in cases {
                let reply = try await server.send(.post, path, headers: Self.json, body: body)
                #expect(reply.status == status && reply.json["resourceType"]?.stringValue == "OperationOutcome", "\(path): \(reply.status) \(reply.body)")
            }
            #expect(try await server.send(.get, "/fhir/Patient/unknown/$validate").status == .notFound)
        }
    }
    /// `socle fhir load-package`: a package (.tgz) of conformance resources
    /// stored in one transaction, its profiles used from the next write;
    /// loaded again, nothing new. Its other files are left out; a file that
    /// is not a package is refused.
    @Test(arguments: TestEngine.available)
    func aPackageIsLoadedAndUsed(engine: TestEngine) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-test-package-\(UUID().uuidString)")
        let package = folder.appendingPathComponent("package")
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = "http://example.org/StructureDefinition/packaged-ins-patient"
        guard case .object(var definition) = try JSONParser.parse(try Self.corpusText("\(Self.frCorePackage)/StructureDefinition-fr-core-patient-ins.json"))
        else { throw TestDatabaseError("the FR Core INS profile is not an object") }
        (definition["id"], definition["url"]) = ("packaged-ins-patient", .string(url))
        let files: [(String, String)] = [
            ("package.json", #"{"name": "example.ig", "version": "1.0.0"}"#),
            ("StructureDefinition-packaged-ins-patient.json", JSONSerializer.string(.object(definition))),
            ("Patient-example.json", try Self.insPatient()),
        ]
        for (name, text) in files { try Data(text.utf8).write(to: package.appendingPathComponent(name)) }
        let archive = folder.appendingPathComponent("example.tgz").path
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-czf", archive, "-C", folder.path, "package"]
        try tar.run()
        tar.waitUntilExit()

        let read = try FHIRPackage.read(archive)
        #expect(read.name == "example.ig" && read.version == "1.0.0" && read.resources.count == 1 && read.skipped == 1)
        #expect(throws: ServiceError.self) { try FHIRPackage.read(package.appendingPathComponent("package.json").path) }
        try await TestDatabase.with(engine) { database in
            let service = FHIRService(store: database.store, systemID: "socle.test")
            let committal = Committal(committer: .identified(name: "admin"))
            let claiming = try JSONParser.parse(try Self.insPatient(withBirthDate: false).replacingOccurrences(of: Self.insProfile, with: url))
            #expect(try await service.create(type: "Patient", resource: claiming, committal: committal).issues.map(\.code) == ["not-supported"])
            let first = try await service.load(read, committal: committal)
            #expect(first.created == 1 && first.kept == 0 && first.broken.isEmpty)
            await #expect(throws: ServiceError.self) { try await service.create(type: "Patient", resource: claiming, committal: committal) }
            #expect(try await service.load(read, committal: committal).created == 0)
            #expect(try await database.store.versions.count(rmType: "StructureDefinition") == 1)
            // Another service on the same store (a restart) reads it from the store.
            let restarted = FHIRService(store: database.store, systemID: "socle.test", profiles: try await FHIRProfiles.loaded(from: database.store.versions))
            #expect(restarted.profiles.registry.profile(url) != nil)
        }
    }
}
