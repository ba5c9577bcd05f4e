import Foundation
import JSONCore
import Mappings
import SocleTestSupport
import Templates
import Testing

/// `MappingRun`, what `socle mappings map` runs: an input either way through
/// a context, on openFHIR's KDS vital status case.
@Suite struct MappingRunTests {
    static let base = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/kds/vitalstatus")

    static func run() throws -> MappingRun {
        let template = try OPTParser().parse(try Data(contentsOf: base.appendingPathComponent("KDS_Vitalstatus.opt")))
        let context = try #require(KDSCasesTests.library.contexts(template: "KDS_Vitalstatus").first)
        return MappingRun(context: context, template: template)
    }

    @Test func aCompositionGivesItsResources() throws {
        let composition = try KDSCasesTests.read(Self.base.appendingPathComponent("toOpenEHR/output/Composition-mii-exa-test-data-patient-1-vitalstatus-1.json"))
        #expect(MappingRun.isComposition(composition))
        guard case .resources(let outcome) = try Self.run().run(composition, zone: try #require(TimeZone(identifier: "Europe/Paris"))) else {
            Issue.record("a composition gives resources")
            return
        }
        #expect(outcome.resources.count == 1)
        #expect(outcome.resources.first?["status"]?.stringValue == "final")
        // The composition's local time, given the zone asked for.
        #expect(outcome.resources.first?["effectiveDateTime"]?.stringValue == "2024-02-21T16:46:17+01:00")
    }

    @Test func aResourceGivesAValidComposition() throws {
        let observation = try KDSCasesTests.read(Self.base.appendingPathComponent("toOpenEHR/input/Observation-mii-exa-test-data-patient-1-vitalstatus-1.json"))
        #expect(!MappingRun.isComposition(observation))
        let values: [String: JSON] = ["language": "de", "territory": "DE", "composer_name": "Test"]
        guard case .composition(let composition, _, let problems) = try Self.run().run(observation, contextValues: values) else {
            Issue.record("a resource gives a composition")
            return
        }
        #expect(problems.isEmpty, "\(problems)")
        #expect(composition["archetype_details"]?["template_id"]?["value"]?.stringValue == "KDS_Vitalstatus")
        #expect(composition["language"]?["code_string"]?.stringValue == "de")
    }

    /// A context value FLAT does not know is the FLAT reader's error, with its key.
    @Test func aRefusedContextValueIsAnError() throws {
        let observation = try KDSCasesTests.read(Self.base.appendingPathComponent("toOpenEHR/input/Observation-mii-exa-test-data-patient-1-vitalstatus-1.json"))
        let run = try Self.run()
        let error = #expect(throws: FlatError.self) {
            _ = try run.run(observation, contextValues: ["language": "de", "territory": "DE", "composer_name": "Test", "no_such_key": "x"])
        }
        #expect(error?.problems.contains { $0.description.contains("ctx/no_such_key") } == true, "\(error?.problems ?? [])")
    }

    /// A resource the context's preprocessor excludes (openFHIR's diagnose
    /// mapping: no Condition entered in error) is not mapped, and says so.
    @Test func aResourceTheContextExcludesIsNotMapped() throws {
        let folder = Corpus.root.appendingPathComponent("fhir/mappings/openfhir/kds/diagnose")
        let template = try OPTParser().parse(try Data(contentsOf: folder.appendingPathComponent("KDS_Diagnose.opt")))
        let run = MappingRun(context: try #require(KDSCasesTests.library.contexts(template: "KDS_Diagnose").first), template: template)
        let url = folder.appendingPathComponent("toOpenEHR/input/Condition-mii-exa-test-data-patient-1-diagnose-1.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        let values: [String: JSON] = ["language": "de", "territory": "DE", "composer_name": "Test"]
        // The case as given maps; entered in error, it does not.
        guard case .composition = try run.run(try JSONParser.parse(Array(text.utf8)), contextValues: values) else {
            Issue.record("the case as given maps to a composition")
            return
        }
        let excluded = text.replacingOccurrences(of: "\"code\": \"confirmed\"", with: "\"code\": \"entered-in-error\"")
        #expect(excluded != text)
        guard case .notApplicable = try run.run(try JSONParser.parse(Array(excluded.utf8)), contextValues: values) else {
            Issue.record("a Condition entered in error is not the context's to map")
            return
        }
    }
}
