import Testing

@testable import Templates

/// The path steps FLAT keys and template annotations are resolved with:
/// AQL predicates (AQL 1.1 §Predicates: `[nodeId and name/value='…']`) and the
/// archetype path form OPT annotations use (`[nodeId, '…']`).
struct AQLStepTests {
    @Test func aqlPredicates() {
        let steps = AQLStep.parse("/content[openEHR-EHR-SECTION.adhoc.v1 and name/value='Allergies & Intolerances']/items[at0002]/value")
        #expect(steps == [
            AQLStep(attribute: "content", nodeID: "openEHR-EHR-SECTION.adhoc.v1", name: "Allergies & Intolerances"),
            AQLStep(attribute: "items", nodeID: "at0002", name: nil),
            AQLStep(attribute: "value", nodeID: nil, name: nil),
        ])
    }

    @Test func quotedNamesKeepSlashesBracketsAndEscapedQuotes() {
        let steps = AQLStep.parse(#"/items[at0001 and name/value='a/b] c\'d\\e']/value"#)
        #expect(steps.first == AQLStep(attribute: "items", nodeID: "at0001", name: #"a/b] c'd\e"#))
        #expect(steps.count == 2)
        #expect(AQLStep.parse("/items[at0001 and name/value='Blutdruck – systolisch']").first?.name == "Blutdruck – systolisch")
    }

    @Test func archetypePathsWithARootStep() {
        let steps = AQLStep.parse("[openEHR-EHR-COMPOSITION.x.v1]/content[openEHR-EHR-EVALUATION.y.v1]/data[at0001]/items[at0074, 'Overall use']")
        #expect(steps.map(\.attribute) == ["", "content", "data", "items"])
        #expect(steps.first?.nodeID == "openEHR-EHR-COMPOSITION.x.v1")
        #expect(steps.last == AQLStep(attribute: "items", nodeID: "at0074", name: "Overall use"))
    }

    @Test func anUnclosedPredicateEndsTheSteps() {
        #expect(AQLStep.parse("/items[at0001/value") == [])
        #expect(AQLStep.parse("") == [])
    }
}
