import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// Profiles validate like the base (R4 §Profiling), here FR Core
/// 2.2.0-ballot-2 (../shared/corpus/fhir/fr-core): its examples validate
/// against the profiles they claim; broken copies fail where they break them.
@Suite struct FRCoreProfileTests {
    static let folder = "fhir/fr-core/package-2.2.0-ballot-2"

    static let registry: ProfileRegistry = {
        let registry = ProfileRegistry()
        let files = (try? Corpus.files(in: folder, withExtension: "json")) ?? []
        for file in files where ["StructureDefinition-", "ValueSet-", "CodeSystem-"].contains(where: { file.lastPathComponent.hasPrefix($0) }) {
            guard let json = try? JSONParser.parse(Array(Data(contentsOf: file))) else { continue }
            try? registry.load(json)
        }
        return registry
    }()

    static func example(_ name: String) throws -> JSON {
        try JSONParser.parse(Array(Data(contentsOf: Corpus.root.appendingPathComponent("\(folder)/example/\(name).json"))))
    }

    @Test func everyConformanceResourceLoads() throws {
        #expect(Self.registry.profiles.count == 64)
        #expect(Self.registry.codes(of: "https://hl7.fr/ig/fhir/core/ValueSet/fr-core-vs-patient-identifier-use-ins|2.2.0-ballot-2") != nil)
    }

    /// Examples that break their own profile, with where: the UAC and UF
    /// organisations give Organization.type a `text` beside the coding the
    /// profile fixes with fixedCodeableConcept, and a fixed value admits
    /// nothing more (R4 §ElementDefinition.fixed[x]: "Missing
    /// elements/attributes must also be missing"; a pattern would allow it);
    /// the établissement with four members repeats the `members` extension
    /// its profile allows once (slice max 1).
    static let breakingTheirProfile: [String: (location: String, code: String)] = [
        "Organization-hopitaltest-uac-4420-uac-01.json": ("Organization.type[0]", "value"),
        "Organization-hopitaltest-uac-4420-uac-02.json": ("Organization.type[0]", "value"),
        "Organization-hopitaltest-uf-4420-dialyse.json": ("Organization.type[0]", "value"),
        "Organization-hopitaltest-uf-4701-endocrino-diab.json": ("Organization.type[0]", "value"),
        "Organization-hopitaltest-uf-4705-nutrition.json": ("Organization.type[0]", "value"),
        "Organization-hopitaltest-eg-4-members.json": ("Organization.extension", "structure"),
    ]

    @Test func everyExampleValidatesAgainstItsProfiles() throws {
        var failures: [String] = []
        for file in try Corpus.files(in: "\(Self.folder)/example", withExtension: "json") {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            let errors = ProfileValidator.validate(json, registry: Self.registry).filter { $0.severity == .error }
            if let expected = Self.breakingTheirProfile[file.lastPathComponent] {
                if errors.map(\.location) != [expected.location] || errors.first?.code != expected.code {
                    failures.append("\(file.lastPathComponent): expected \(expected), got \(errors)")
                }
                continue
            }
            if !errors.isEmpty { failures.append("\(file.lastPathComponent): \(errors.map(\.description).joined(separator: "; "))") }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// The FR Core Socle carries (`ProfileRegistry.frCore`, what
    /// scripts/generate_fr_core.py keeps of the package) finds exactly what
    /// the whole package finds, example by example, and holds every profile.
    @Test func theBuiltInFRCoreValidatesAsThePackageDoes() throws {
        #expect(ProfileRegistry.frCore.profiles.keys.sorted() == Self.registry.profiles.keys.sorted())
        #expect(ProfileRegistry.frCore.profilesByType["Patient"]?.contains("https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins") == true)
        var compared = 0
        for file in try Corpus.files(in: "\(Self.folder)/example", withExtension: "json") {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            let builtIn = ProfileValidator.validate(json, registry: .frCore).map(\.description)
            let package = ProfileValidator.validate(json, registry: Self.registry).map(\.description)
            #expect(builtIn == package, "\(file.lastPathComponent)")
            compared += 1
        }
        #expect(compared > 30)
    }

    static func patient() throws -> JSON { try example("Patient-FRCorePatientExample") }

    func errors(_ edit: (inout JSONObject) -> Void) throws -> [FHIRIssue] {
        var object = try Self.patient().objectValue!
        edit(&object)
        return ProfileValidator.validate(.object(object), registry: Self.registry).filter { $0.severity == .error }
    }

    @Test func theINSPatientExampleIsClean() throws {
        let patient = try Self.patient()
        #expect(patient["meta"]?["profile"] == ["https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-patient-ins"])
        #expect(try errors { _ in }.isEmpty)
    }

    @Test func aMissingRequiredElementOfTheProfileIsReported() throws {
        // fr-core-patient-ins makes birthDate 1..1 (the base has 0..1).
        let found = try errors { $0["birthDate"] = nil }
        #expect(found.map(\.location) == ["Patient.birthDate"])
        #expect(found.first?.code == "required")
    }

    @Test func aSliceOverItsMaximumIsReported() throws {
        // name:officialName is 1..1 (use = official).
        let found = try errors { object in
            var names = object["name"]?.arrayValue ?? []
            names.append(names.first { $0["use"] == "official" }!)
            object["name"] = .array(names)
        }
        #expect(found.contains { $0.location == "Patient.name" && $0.message.contains("officialName") && $0.message.contains("at most 1") })
    }

    @Test func aRequiredExtensionSliceIsReported() throws {
        // The INS patient needs its birth place (extension:birthPlace 1..1).
        let found = try errors { object in
            object["extension"] = .array((object["extension"]?.arrayValue ?? []).filter { !($0["url"]?.stringValue?.hasSuffix("patient-birthPlace") ?? false) })
        }
        #expect(found.contains { $0.location == "Patient.extension" && $0.message.contains("birthPlace") })
    }

    @Test func aCodeOutsideTheProfilesRequiredBindingIsReported() throws {
        // identifier:INS-NIR.use is bound (required) to official only.
        let found = try errors { object in
            var identifiers = object["identifier"]?.arrayValue ?? []
            guard let index = identifiers.firstIndex(where: { $0["system"] == "urn:oid:1.2.250.1.213.1.4.8" }),
                case .object(var identifier) = identifiers[index] else { return }
            identifier["use"] = "temp"
            identifiers[index] = .object(identifier)
            object["identifier"] = .array(identifiers)
        }
        #expect(found.contains { $0.code == "code-invalid" && $0.location.hasPrefix("Patient.identifier[") && $0.location.hasSuffix("].use") })
    }

    @Test func aProfileOfAnotherTypeIsRefused() throws {
        let profile = try #require(Self.registry.profile("https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-observation-bp"))
        let found = ProfileValidator.validate(try Self.patient(), against: profile, registry: Self.registry)
        #expect(found.first?.message.contains("profiles Observation") == true)
    }

    @Test func anUnknownProfileIsAWarning() throws {
        let json: JSON = ["resourceType": "Patient", "meta": ["profile": ["http://example.org/StructureDefinition/nothing"]]]
        let found = ProfileValidator.validate(json, registry: Self.registry)
        #expect(found.filter { $0.code == "not-supported" }.map(\.severity) == [.warning])
        #expect(!found.hasErrors)
    }
}
