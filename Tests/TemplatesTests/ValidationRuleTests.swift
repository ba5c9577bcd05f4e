import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// One rule at a time: a valid corpus composition, then the same with one
/// change that breaks one rule, asserting the path and the rule reported.
@Suite("Template validation: rule by rule")
struct ValidationRuleTests {
    static let template: OperationalTemplate = {
        let url = Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/ehrbase_blood_pressure_simple.de.v0.opt")
        return try! OPTParser().parse(try! Data(contentsOf: url))
    }()
    static let composition: String = {
        let url = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/aql_data_load/ehrbase_blood_pressure_simple.de.v0.json")
        return JSONSerializer.string(try! JSONParser.parse(Array(try! Data(contentsOf: url))))
    }()

    static let systolic = "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/data[at0001]/events[at0002]/data[at0003]/items[at0004]"

    func problems(_ text: String) throws -> [DecodingProblem] {
        let tree = try CanonicalDecoder().decode(try JSONParser.parse(text), as: "COMPOSITION")
        return TemplateValidator().validate(tree, against: Self.template)
    }

    /// Replaces the first occurrence of `old` (which must be there).
    func changed(_ old: String, _ new: String) throws -> String {
        let range = try #require(Self.composition.range(of: old), "\(old) is not in the composition")
        return Self.composition.replacingCharacters(in: range, with: new)
    }

    @Test func theUnchangedCompositionIsValid() throws {
        #expect(try problems(Self.composition) == [])
    }

    @Test(arguments: [
        // DV_QUANTITY units (C_DV_QUANTITY list).
        (#""units":"mm[Hg]","magnitude":22.0"#, #""units":"kPa","magnitude":22.0"#, systolic + "/value/units", "'kPa' is not a unit the template allows"),
        // DV_QUANTITY magnitude range.
        (#""units":"mm[Hg]","magnitude":22.0"#, #""units":"mm[Hg]","magnitude":1200.0"#, systolic + "/value/magnitude", "outside the range"),
        // DV_QUANTITY precision.
        (#""units":"mm[Hg]","magnitude":22.0"#, #""units":"mm[Hg]","magnitude":22.25"#, systolic + "/value/magnitude", "more than 0 decimal place(s)"),
        // RM type of a value.
        (#"{"_type":"DV_QUANTITY","units":"mm[Hg]","magnitude":22.0}"#, #"{"_type":"DV_TEXT","value":"22"}"#, systolic + "/value", "DV_TEXT is not allowed here by the template"),
        // Archetype node id.
        (#""archetype_node_id":"at0004""#, #""archetype_node_id":"at9999""#, "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/data[at0001]/events[at0002]/data[at0003]/items[at9999]", "archetype node id at9999 is not allowed here"),
        // Local code list (C_CODE_PHRASE).
        (#""code_string":"at0015""#, #""code_string":"at0999""#, "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/protocol[at0011]/items[at0013]/value/defining_code/code_string", "'at0999' is not in the template's code list"),
        // Terminology of a code phrase.
        (#""value":"local"},"code_string":"at0015""#, #""value":"SNOMED-CT"},"code_string":"at0015""#, "/content[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]/protocol[at0011]/items[at0013]/value/defining_code/terminology_id/value", "the template requires terminology local"),
        // COMPOSITION.category code list.
        (#""code_string":"433""#, #""code_string":"451""#, "/category/defining_code/code_string", "'451' is not in the template's code list (433)"),
        // Template id the composition names.
        (#""template_id":{"value":"ehrbase_blood_pressure_simple.de.v0"},"rm_version":"1.0.4"},"language""#, #""template_id":{"value":"another.v1"},"rm_version":"1.0.4"},"language""#, "/archetype_details/template_id/value", "is 'another.v1'"),
    ])
    func reportsThePathAndTheRule(old: String, new: String, path: String, rule: String) throws {
        let found = try problems(try changed(old, new))
        #expect(found.contains { $0.path == path && $0.message.contains(rule) }, "\(found)")
    }

    @Test func reportsEveryViolationNotOnlyTheFirst() throws {
        let text = try changed(#""units":"mm[Hg]","magnitude":22.0"#, #""units":"kPa","magnitude":22.0"#)
            .replacingOccurrences(of: #""code_string":"at0015""#, with: #""code_string":"at0999""#)
            .replacingOccurrences(of: #""code_string":"433""#, with: #""code_string":"451""#)
        #expect(try problems(text).count >= 3)
    }

    @Test func occurrencesAndExistence() throws {
        // The systolic ELEMENT twice: occurrences 0..1.
        let systolic = #"{"_type":"ELEMENT","name":{"_type":"DV_TEXT","value":"Systolic"},"value":{"_type":"DV_QUANTITY","units":"mm[Hg]","magnitude":22.0},"archetype_node_id":"at0004"}"#
        let twice = try changed(systolic, systolic + "," + systolic)
        #expect(try problems(twice).contains { $0.path.hasSuffix("items[at0004]") && $0.message.contains("occurs 2 time(s)") })
        // Without its data, an OBSERVATION breaks the template's existence 1..1.
        let template = Self.template
        let observation = try #require(template.definition.attribute("content")?.children.first)
        #expect(observation.attribute("data")?.existence.lower == 1)
    }
}

/// Alternatives of one node told apart by name (AM 1.4 §C_ATTRIBUTE
/// children with one node id): an item whose name one alternative lists is
/// that alternative's, before one that leaves the name open.
@Suite("Template validation: alternatives by name")
struct AlternativesByNameTests {
    @Test func anItemNamedByAnAlternativeIsCountedThere() throws {
        let template = try #require(CorpusTemplates.byID["RIPPLE - Conformance Test template"])
        // The template's request-procedure INSTRUCTION: ACTIVITY at0001 with any name (1..*), and with the name "Request #3" (1..1).
        var example = ExampleComposition.generate(template, detail: .medium)
        let problems = TemplateValidator().validate(try CanonicalDecoder().decode(example, as: "COMPOSITION"), against: template)
        #expect(problems.isEmpty, "\(problems.prefix(3))")
        // Renamed, the second activity is no longer the "Request #3" one: that alternative is then missing.
        let text = JSONSerializer.string(example).replacingOccurrences(of: #""value":"Request #3""#, with: #""value":"Request #4""#)
        example = try JSONParser.parse(text)
        let renamed = TemplateValidator().validate(try CanonicalDecoder().decode(example, as: "COMPOSITION"), against: template)
        #expect(renamed.contains { $0.path.hasSuffix("activities[at0001]") && $0.message.contains("occurs 0 time(s), the template requires 1..1") })
    }
}

/// Rules the template implies beyond its leaf constraints.
@Suite("Template validation: ordinals and durations")
struct OrdinalAndDurationRuleTests {
    func problems(_ composition: JSON, _ templateID: String) throws -> [DecodingProblem] {
        let template = try #require(CorpusTemplates.byID[templateID])
        return TemplateValidator().validate(try CanonicalDecoder().decode(composition, as: "COMPOSITION"), against: template)
    }

    /// A DV_ORDINAL's symbol is the archetype's term for its code (AM 1.4
    /// C_DV_ORDINAL: the symbol codes a term of the archetype; RM DV_ORDINAL
    /// `symbol`: its rubric is the text): `ord1` for at0003, whose term is
    /// "option 1", is refused.
    @Test func anOrdinalsSymbolIsItsCodesTerm() throws {
        let url = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json/openEHR_SDK/obs_admin.json")
        let sent = try String(contentsOf: url, encoding: .utf8)
        let refused = try problems(try JSONParser.parse(sent), "obs_admin.en.v1")
        #expect(refused.contains { $0.path.hasSuffix("items[at0002]/value/symbol/value") && $0.message == "'ord1' is not the term of at0003 ('option 1')" }, "\(refused)")
        let kept = try problems(try JSONParser.parse(sent.replacingOccurrences(of: #""ord1""#, with: #""option 1""#)), "obs_admin.en.v1")
        #expect(kept.isEmpty, "\(kept)")
    }

    /// A duration the template bounds (C_DURATION range): an INTERVAL_EVENT
    /// whose width the template fixes to PT24H (a 24-hour average) has no
    /// other width.
    @Test func aDurationOutsideItsRangeIsRefused() throws {
        let template = try #require(CorpusTemplates.byID["a1"])
        let example = ExampleComposition.generate(template, detail: .medium)
        #expect(JSONSerializer.string(example).contains(#""value":"PT24H""#))
        #expect(try problems(example, "a1").isEmpty)
        let other = try JSONParser.parse(JSONSerializer.string(example).replacingOccurrences(of: #""value":"PT24H""#, with: #""value":"PT12H""#))
        let refused = try problems(other, "a1")
        #expect(refused.contains { $0.path.hasSuffix("/width/value") && $0.message == "PT12H is outside the range PT24H..PT24H the template allows" }, "\(refused)")
    }
}
