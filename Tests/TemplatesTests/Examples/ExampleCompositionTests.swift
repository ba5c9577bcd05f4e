import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// Example compositions (ITS-REST 1.0.3 §Template example): for every valid
/// corpus OPT, the example decodes as a COMPOSITION against the RM and
/// passes validation against its own template.
@Suite struct ExampleCompositionTests {

    /// At every detail level (ITS-REST 1.1 `detail_level`), and each level
    /// holds at least as much as the one below.
    @Test(arguments: ExampleComposition.DetailLevel.allCases)
    func everyCorpusTemplatesExampleValidates(detail: ExampleComposition.DetailLevel) throws {
        let templates = CorpusTemplates.byID
        #expect(templates.count == 118)
        let decoder = CanonicalDecoder()
        let validator = TemplateValidator()
        var failures: [String] = []
        for (id, template) in templates.sorted(by: { $0.key < $1.key }) {
            if CorpusTemplates.unsatisfiable.contains(id) { continue }
            let example = ExampleComposition.generate(template, detail: detail)
            do {
                let tree = try decoder.decode(example, as: "COMPOSITION")
                let problems = validator.validate(tree, against: template)
                if !problems.isEmpty { failures.append("\(id): \(problems.prefix(4).map { "\($0.path) \($0.message)" })") }
            } catch {
                failures.append("\(id): RM \(error.problems.prefix(4).map { "\($0.path) \($0.message)" })")
            }
        }
        try? failures.joined(separator: "\n").write(toFile: NSTemporaryDirectory() + "example-failures-\(detail).txt", atomically: true, encoding: .utf8)
        #expect(failures.isEmpty, "\(failures.count) of \(templates.count): \(failures.prefix(10).joined(separator: "\n"))")
    }

    /// The levels differ as they say: medium shows the optional nodes the
    /// required example leaves out, complete repeats what may repeat.
    @Test func levelsShowMoreAsTheyGo() throws {
        let template = try #require(CorpusTemplates.byID["ehrbase.testcase06.v0"])
        func size(_ detail: ExampleComposition.DetailLevel) -> Int { JSONSerializer.bytes(ExampleComposition.generate(template, detail: detail)).count }
        #expect(size(.required) < size(.medium))
        #expect(size(.medium) < size(.complete))
        let complete = ExampleComposition.generate(template, detail: .complete)
        let events = complete["content"]?.arrayValue?.first?["data"]?["events"]?.arrayValue ?? []
        #expect(events.count >= 2, "a repeatable event appears twice at complete")
    }
}
