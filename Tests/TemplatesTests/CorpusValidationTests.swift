import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// Corpus compositions against the corpus templates they name.
@Suite("Template validation: the corpus")
struct CorpusValidationTests {
    static func compositions() -> [URL] {
        let root = Corpus.root.appendingPathComponent("openehr/compositions/canonical_json")
        return Corpus.files(below: root, withExtension: "json")
    }


    @Test func everyCorpusCompositionWithItsTemplateValidatesOrIsRefusedForTheRightReason() throws {
        let templates = CorpusTemplates.byID
        let decoder = CanonicalDecoder()
        let validator = TemplateValidator()
        var valid = 0
        var refused: [String: [DecodingProblem]] = [:]
        for file in Self.compositions() {
            guard let json = try? JSONParser.parse(Array(try Data(contentsOf: file))), let tree = try? decoder.decode(json, as: "COMPOSITION"),
                let id = tree["archetype_details"]?["template_id"]?["value"]?.stringValue, let template = templates[id]
            else { continue }
            let problems = validator.validate(tree, against: template)
            let name = file.path.components(separatedBy: "canonical_json/").last ?? file.lastPathComponent
            if problems.isEmpty { valid += 1 } else { refused[name] = problems }
        }
        #expect(valid == 109)
        #expect(Set(refused.keys) == Set(CorpusExpectations.templateViolations.keys))
        for (name, problems) in refused {
            let expected = CorpusExpectations.templateViolations[name] ?? "?"
            #expect(problems.contains { $0.description.contains(expected) }, "\(name): \(problems.prefix(3))")
        }
    }
}
