import Mappings
import Testing

/// A mapping file is read into its typed model, or refused with every
/// problem, each with its file, line and reason (FHIRconnect v1.0.0 and its
/// JSON schemas, `fhirconnect-spec-v1/attachments`).
@Suite struct MappingFileParserTests {
    static let header = """
        grammar: FHIRConnect/v1.0.0
        type: model
        metadata:
          name: EVALUATION.problem_diagnosis.v1
          version: 1.0.0
        spec:
          system: FHIR
          version: R4
          openEhrConfig:
            archetype: openEHR-EHR-EVALUATION.problem_diagnosis.v1
          fhirConfig:
            structureDefinition: http://hl7.org/fhir/StructureDefinition/Condition

        """

    static func problems(_ text: String) -> [MappingProblem] {
        do {
            _ = try MappingFileParser.parse(text, file: "test.yml")
            return []
        } catch {
            return error.problems
        }
    }

    static func model(_ text: String) throws -> ModelMapping {
        guard case .model(let model) = try MappingFileParser.parse(text, file: "test.yml") else { throw MappingFileError([]) }
        return model
    }

    /// §Basics: with, followedBy, unidirectional; §Conditions; §Manual mappings; §Path operators.
    @Test func aModelMappingReadsIntoItsModel() throws {
        let model = try Self.model(Self.header + """
            mappings:
              - name: "problemDiagnose"
                with:
                  fhir: "$resource.code"
                  openehr: "$archetype"
                  type: "NONE"
                followedBy:
                  mappings:
                    - name: "name"
                      with:
                        fhir: "coding"
                        openehr: "data[at0001]/items[at0002]"
                    - name: "use"
                      with:
                        fhir: "^^.use.coding"
                        openehr: "../data[at0001]/items[at0009]"
              - name: "onset"
                with:
                  fhir: "$resource.onset.ofType(Period).start"
                  openehr: "$archetype/data[at0001]/items[at0077]"
                unidirectional: "fhir->openEHR"
                fhirCondition:
                  - targetRoot: "$resource.verificationStatus.coding"
                    targetAttribute: "code"
                    operator: "not of"
                    criteria:
                      - "entered-in-error"
                      - "refuted"
              - name: "status"
                with:
                  fhir: "$resource"
                  openehr: "$archetype/items[at0073]/value"
                manual:
                  - name: "registered"
                    fhir:
                      - path: "status"
                        value: "registered"
                    openehrCondition:
                      targetRoot: "$openehrRoot/defining_code"
                      targetAttribute: "code_string"
                      operator: "one of"
                      criteria: "at0107"
            """)
        #expect(model.kind == .model && model.archetype == "openEHR-EHR-EVALUATION.problem_diagnosis.v1")
        #expect(model.header.grammar == GrammarVersion(1, 0, 0))
        let diagnose = model.methods[0]
        #expect(diagnose.dataType == DataMappingType.none && diagnose.line == 14)
        #expect(diagnose.followedBy[1].fhir?.start == .ancestor(2))
        #expect(diagnose.followedBy[1].fhir?.steps == [.element("use"), .element("coding")])
        #expect(diagnose.followedBy[1].openEHR?.start == .relative(up: 1))
        let onset = model.methods[1]
        #expect(onset.fhir?.steps == [.element("onset"), .cast("Period"), .element("start")])
        #expect(onset.direction == .fhirToOpenEHR)
        #expect(onset.fhirConditions.first?.criteria == ["entered-in-error", "refuted"])
        #expect(onset.fhirConditions.first?.operator == .notOf)
        let manual = try #require(model.methods[2].manual.first)
        #expect(manual.fhir == [.init(path: "status", value: "registered")])
        #expect(manual.openEHRConditions.first?.targetRoot.start == .parent)
    }

    /// Each problem of a file is reported, with the line of the key or value at fault.
    @Test func everyProblemIsReportedWithItsLine() {
        let problems = Self.problems(Self.header + """
            mappings:
              - name: "a"
                with:
                  fhir: "$patient.code"
                  openehr: "$archetype/data[at0001"
                unidirectional: "both ways"
                fhirCondition:
                  targetRoot: "$resource.code"
                  targetAttribute: "coding.code"
                  operator: "equals"
                  criteria: "x"
                colour: "blue"
            """)
        let byLine = Dictionary(grouping: problems, by: { $0.line ?? 0 })
        #expect(problems.count == 5)
        #expect(byLine[16]?.first?.reason.contains("'$patient' is not a FHIR path variable") == true)
        #expect(byLine[17]?.first?.reason.contains("a predicate is not closed") == true)
        #expect(byLine[18]?.first?.reason.contains("'both ways'") == true)
        #expect(byLine[22]?.first?.reason.contains("operator 'equals'") == true)
        #expect(byLine[24]?.first?.reason.contains("'colour' is not a key of mapping 'a'") == true)
        #expect(problems.allSatisfy { $0.file == "test.yml" })
        #expect(problems.first?.description.hasPrefix("test.yml:") == true)
    }

    @Test(arguments: [
        ("grammar: FHIRConnect/v1.0.0\ntype: model\nmetadata: [a\n", 4, "not YAML: did not find expected"),
        ("format: FHIRConnect\nmappings: []\n", 1, "declares no 'grammar'"),
        ("grammar: FHIRConnect/v2.0.0\ntype: model\n", 1, "is not one read here"),
        ("grammar: FHIRConnect/v1.0.0\ntype: recipe\nmetadata: {name: a, version: b}\nspec: {system: FHIR, version: R4}\n", 2, "not a mapping file type"),
        ("grammar: FHIRConnect/v1.0.0\ntype: model\nmetadata: {name: a, version: b}\nspec: {system: FHIR, version: STU3}\n", 4, "is not R4"),
        ("grammar: FHIRConnect/v1.0.0\ntype: extension\nmetadata: {name: a, version: b}\nspec: {system: FHIR, version: R4}\n", 4, "spec.extends"),
        ("grammar: FHIRConnect/v1.0.0\ntype: context\nmetadata: {name: a, version: b}\nspec: {system: FHIR, version: R4}\ncontext: {profile: {url: x}, archetypes: []}\n", 5, "lacks 'template'"),
        ("- just\n- a list\n", 1, "must be a mapping"),
        ("", nil, "empty"),
    ] as [(String, Int?, String)])
    func aFileThatIsNotAMappingIsRefused(text: String, line: Int?, reason: String) {
        let problems = Self.problems(text)
        #expect(problems.contains { $0.line == line && $0.reason.contains(reason) }, "\(problems)")
    }

    /// §Conditions, operator: `empty` takes no criteria, `one of` needs some.
    @Test func conditionOperatorsAndCriteriaAgree() {
        let problems = Self.problems(Self.header + """
            mappings:
              - name: "a"
                with: {fhir: "$resource.code", openehr: "$archetype/data[at0001]/items[at0002]"}
                fhirCondition: {targetRoot: "$resource.code", targetAttribute: "coding", operator: "empty", criteria: "x"}
                openehrCondition: {targetRoot: "$archetype", targetAttribute: "data[at0001]", operator: "one of"}
            """)
        #expect(problems.map(\.line) == [16, 17])
        #expect(problems[0].reason.contains("takes no criteria") && problems[1].reason.contains("needs criteria"))
    }

    /// A method that is not a mapping is one problem, reported once.
    @Test func aMethodThatIsNotAMappingIsReportedOnce() {
        let problems = Self.problems(Self.header + "mappings:\n  - \"oops\"\n")
        #expect(problems.count == 1, "\(problems)")
        #expect(problems.first?.line == 14 && problems.first?.reason.contains("must be a mapping") == true)
    }

    /// Methods nest; a file nesting them without end is refused, not a crash.
    @Test func deepNestingIsBounded() {
        var text = Self.header + "mappings:\n"
        var indent = "  "
        for level in 0..<80 {
            text += "\(indent)- name: \"m\(level)\"\n\(indent)  followedBy:\n\(indent)    mappings:\n"
            indent += "      "
        }
        text += "\(indent)- name: \"leaf\"\n"
        #expect(Self.problems(text).contains { $0.reason.contains("nest deeper than 64") })
    }
}
