import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// R4 §Validation against the base StructureDefinitions.
@Suite struct ValidationTests {
    /// Corpus examples that break an R4 rule, and the rule: display items of
    /// the generated questionnaires have no linkId (Questionnaire.item.linkId
    /// is 1..1) and two repeat a link id (que-2); the code system
    /// example defines `chol-mass` twice (csd-1).
    static let invalidExamples: [String: Set<String>] = [
        "bundle-questionnaire.json": ["required"],
        "medicinalproductcontraindication-questionnaire.json": ["required", "que-2"],
        "practitionerrole-questionnaire.json": ["required"],
        "specimendefinition-questionnaire.json": ["required", "que-2"],
        "codesystem-example.json": ["csd-1"],
    ]

    @Test func everyCorpusExampleValidatesCleanExceptThoseBreakingR4() throws {
        var failures: [String] = []
        for file in try ResourceRoundTripTests.exampleFiles() {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            let errors = FHIRValidator.validate(json).filter { $0.severity == .error }
            let rules = Set(errors.map { $0.code == "invariant" ? String($0.message.prefix { $0 != ":" }) : $0.code })
            let expected = Self.invalidExamples[file.lastPathComponent] ?? []
            if rules != expected {
                failures.append("\(file.lastPathComponent): expected \(expected.sorted()), got \(errors.prefix(5).map(\.description))")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    static let patient: JSON = try! JSONParser.parse(#"""
        {"resourceType":"Patient","id":"p1","active":true,"gender":"female","birthDate":"1974-12-25",
         "name":[{"family":"Chalmers","given":["Peter","James"]}],
         "contact":[{"name":{"family":"du Marché"},"relationship":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0131","code":"N"}]}]}]}
        """#)

    func issues(_ edit: (inout JSONObject) -> Void) -> [FHIRIssue] {
        var object = Self.patient.objectValue!
        edit(&object)
        return FHIRValidator.validate(.object(object)).filter { $0.severity == .error }
    }

    @Test func aValidPatientHasNoIssue() {
        #expect(FHIRValidator.validate(Self.patient).filter { $0.severity == .error }.isEmpty)
    }

    @Test func wrongCardinalityIsReportedWhereItIs() {
        // Patient.gender is 0..1: an array is refused.
        let found = issues { $0["gender"] = ["female", "male"] }
        #expect(found.map(\.location) == ["Patient.gender"])
        #expect(found.first?.code == "structure")
        // Observation.status and code are 1..1.
        let observation = FHIRValidator.validate(["resourceType": "Observation", "code": ["text": "x"]])
        #expect(observation.contains { $0.location == "Observation.status" && $0.code == "required" })
    }

    @Test func wrongTypeIsReported() {
        let found = issues { $0["active"] = "yes" }
        #expect(found.map(\.location) == ["Patient.active"])
        #expect(found.first?.message.contains("boolean") == true)
        let date = issues { $0["birthDate"] = "25/12/1974" }
        #expect(date.map(\.location) == ["Patient.birthDate"])
    }

    @Test func unknownElementIsReported() {
        let found = issues { $0["nickname"] = "Pete" }
        #expect(found.map(\.location) == ["Patient.nickname"])
        let nested = issues { $0["name"] = [["family": "Chalmers", "middle": "J"]] }
        #expect(nested.map(\.location) == ["Patient.name[0].middle"])
    }

    @Test func codeOutsideRequiredBindingIsReported() {
        let found = issues { $0["gender"] = "f" }
        #expect(found.map(\.location) == ["Patient.gender"])
        #expect(found.first?.code == "code-invalid")
    }

    @Test func brokenInvariantIsReportedOnItsElement() {
        // pat-1: a contact has a name, telecom, address or organization.
        let found = issues { $0["contact"] = [["gender": "male"]] }
        #expect(found.map(\.location) == ["Patient.contact[0]"])
        #expect(found.first?.message.hasPrefix("pat-1") == true)
        // per-1 on a data type: a period starts before it ends.
        let period = issues { $0["name"] = [["family": "X", "period": ["start": "2020-01-01", "end": "2019-01-01"]]] }
        #expect(period.map(\.location) == ["Patient.name[0].period"])
        #expect(period.first?.message.hasPrefix("per-1") == true)
    }

    @Test func choiceGivenTwiceIsReported() {
        let found = issues { $0["deceasedBoolean"] = true; $0["deceasedDateTime"] = "2020-01-01" }
        #expect(found.map(\.location) == ["Patient.deceasedDateTime"])
    }

    @Test func outcomeListsEveryIssue() {
        let found = issues { $0["gender"] = "f"; $0["nickname"] = "x" }
        let outcome = found.operationOutcome
        #expect(outcome["resourceType"] == "OperationOutcome")
        #expect(outcome["issue"]?.arrayValue?.count == 2)
        #expect(outcome["issue"]?.arrayValue?.first?["expression"] == ["Patient.gender"])
    }
}
