import Foundation
import Mappings
import SocleTestSupport
import Testing

/// Every FHIRconnect file of the corpus read as a set, the way a folder of
/// mappings is loaded: the mapping library of the specification
/// (`fhirconnect-mapping-lib`, grammar v1.0.0, which its README says has no
/// implementation yet and may hold errors) and openFHIR's test folders. The
/// counts are ratchets: fewer files or contexts loading fails, and so does
/// a problem no longer found (raise the ratchet then).
@Suite struct CorpusMappingFilesTests {
    /// The folder's mapping files; `fixes`: text replaced in a file before it is read, for an error of the file (named where used).
    static func load(_ folder: String, fixes: [String: [(String, String)]] = [:]) -> MappingLibrary {
        let directory = Corpus.root.appendingPathComponent("fhir/mappings/" + folder)
        let files = (Corpus.files(below: directory, withExtension: "yml") + Corpus.files(below: directory, withExtension: "yaml")).map { url in
            let name = String(url.path.dropFirst(directory.path.count + 1))
            let text = (fixes[name] ?? []).reduce((try? String(contentsOf: url, encoding: .utf8)) ?? "") { $0.replacingOccurrences(of: $1.0, with: $1.1) }
            return (file: name, text: text)
        }
        return MappingLibrary(files: files)
    }

    static func report(_ library: MappingLibrary) -> String {
        library.files.filter { !$0.loaded }.flatMap(\.problems).map(\.description).joined(separator: "\n")
    }

    /// (folder, files, files that load, contexts that resolve, context files).
    /// What keeps the rest out, by folder (each an error of the files, not of
    /// the reading; the issue note lists them):
    /// - fhirconnect-mapping-lib (v1.0.0): five `KDS_composition.yml` write
    ///   `mapping:` for `mappings:`, and four of them share one name; a file is
    ///   empty, one is not YAML (line 19); `not contains` is no operator; `link`
    ///   and `unidirectional` inside `with`; `preprocessor` inside `spec`; an
    ///   `extension:` in a model file; contexts naming mappings no file
    ///   defines (`KDS_problem_diagnose`, `COMPOSITION.report-result.v1.DiagnosticReport`…).
    /// - openfhir/kds: the person contexts name extensions no file defines
    ///   (`KDS_person_data.v0`, `KDS_person_pseudo_cluster.v1`).
    /// - openfhir/nigerianhealth: no context; stu3_blood_pressure: FHIR STU3,
    ///   not R4.
    /// - fhir-connect-spec: the earlier draft grammar (`format`, no `grammar`).
    @Test(arguments: [
        ("fhirconnect-mapping-lib", 99, 76, 5, 13),
        ("openfhir/blood_pressure", 3, 3, 1, 1),
        ("openfhir/growth_chart", 6, 6, 1, 1),
        ("openfhir/ips", 13, 13, 1, 1),
        ("openfhir/kds", 85, 83, 10, 12),
        ("openfhir/medication_order", 4, 4, 1, 1),
        ("openfhir/news2", 9, 9, 1, 1),
        ("openfhir/problemlist", 10, 10, 1, 1),
        ("openfhir/interoplab", 2, 2, 1, 1),
        ("openfhir/nigerianhealth", 5, 5, 0, 0),
        ("openfhir/stu3_blood_pressure", 3, 0, 0, 0),
        ("fhir-connect-spec", 35, 0, 0, 0),
    ])
    func folderLoads(folder: String, files: Int, loaded: Int, contexts: Int, contextFiles: Int) {
        let library = Self.load(folder)
        let report = Self.report(library)
        #expect(library.files.count == files)
        #expect(library.files.filter(\.loaded).count >= loaded, "\(report)")
        #expect(library.contexts.count >= contexts, "\(report)")
        let contextCount = library.files.filter { if case .context = $0.document { true } else { false } }.count
        #expect(contextCount == contextFiles)
        // Every problem has its file, and a reason that says what is wrong.
        for problem in library.files.flatMap(\.problems) {
            #expect(!problem.file.isEmpty && problem.reason.count > 10)
        }
    }

    /// The contexts of openFHIR's test folders resolve to the model mappings
    /// their tests run: the blood pressure context starts at the composition
    /// mapping, whose reference mapping slots the observation mapping in.
    @Test func bloodPressureContextResolves() throws {
        let library = Self.load("openfhir/blood_pressure")
        let context = try #require(library.contexts(template: "Blood Pressure").first)
        #expect(context.context.profileURL == "Bundle")
        #expect(context.start.header.name == "openEHR-EHR-COMPOSITION.blood_pressure.v0")
        #expect(context.models.keys.sorted() == ["OBSERVATION.blood_pressure.v2", "openEHR-EHR-COMPOSITION.blood_pressure.v0"])
        let observation = try #require(context.model(for: "OBSERVATION.blood_pressure.v2"))
        let systolic = try #require(observation.methods.first { $0.name == "systolic" })
        #expect(systolic.fhir?.start == .resource)
        #expect(systolic.fhir?.steps == [.element("component")])
        #expect(systolic.openEHR?.start == .archetype)
        #expect(systolic.openEHR?.steps.map(\.attribute) == ["data", "events", "data"])
        #expect(systolic.openEHR?.steps.map(\.nodeID) == ["at0001", "at0006", "at0003"])
        let condition = try #require(systolic.fhirConditions.first)
        #expect(condition.operator == .oneOf && condition.criteria == ["8480-6"] && condition.targetAttributes == ["code.coding.code"])
        #expect(systolic.followedBy.map(\.name) == ["value", "loincCode"])
        #expect(systolic.followedBy[1].manual.first?.fhir == [.init(path: "code.coding.code", value: "8480-6")])
        #expect(observation.preprocessor.hierarchy?.splitFHIR?.create == "resource")
    }

    /// KDS extensions change the model mappings as the specification says:
    /// an overwrite of a nested method by its name (openFHIR's files do so)
    /// replaces that method in place.
    @Test func kdsExtensionsApply() throws {
        let library = Self.load("openfhir/kds")
        let context = try #require(library.contexts(template: "KDS_Medikationseintrag").first)
        let statement = try #require(context.model(for: "OBSERVATION.medication_statement.v0"))
        let base = try #require(library.models["OBSERVATION.medication_statement.v0"])
        func find(_ name: String, _ methods: [MappingMethod]) -> MappingMethod? {
            methods.lazy.compactMap { $0.name == name ? $0 : find(name, $0.followedBy) }.first
        }
        let replaced = try #require(find("medicationCode", statement.methods))
        let original = try #require(find("medicationCode", base.methods))
        #expect(replaced.line != original.line)
        #expect(replaced.extensionAction != nil && original.extensionAction == nil)
    }
}
