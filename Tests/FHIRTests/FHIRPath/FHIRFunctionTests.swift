import FHIR
import Foundation
import JSONCore
import Testing

/// The FHIR additions to FHIRPath (FHIR R4 §FHIRPath: extension, resolve,
/// memberOf, conformsTo, htmlChecks) and the engine's refusals.
@Suite struct FHIRFunctionTests {
    static let bundle: JSON = [
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            ["fullUrl": "urn:uuid:9f1c", "resource": ["resourceType": "Patient", "id": "p1", "gender": "female",
                "extension": [["url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace", "valueAddress": ["city": "Lyon"]]]]],
            ["fullUrl": "http://example.org/fhir/Observation/o1", "resource": [
                "resourceType": "Observation", "id": "o1", "status": "final", "code": ["text": "x"],
                "subject": ["reference": "urn:uuid:9f1c"],
            ]],
        ],
    ]

    func evaluate(_ expression: String, on resource: JSON, root: JSON? = nil) throws -> [FHIRPathValue] {
        let context = FHIRPathContext(resource: FHIRNode(resource: resource), rootResource: root.map { FHIRNode(resource: $0) })
        return try FHIRPathEvaluator.evaluate(try FHIRPathParser.parse(expression), context: context)
    }

    func texts(_ values: [FHIRPathValue]) -> [String] { values.compactMap(\.text) }

    @Test func resolveFollowsReferencesWithinTheBundle() throws {
        let found = try evaluate("Bundle.entry[1].resource.subject.resolve().gender", on: Self.bundle)
        #expect(texts(found) == ["female"])
        // Outside a bundle a reference still tells its type.
        let observation: JSON = ["resourceType": "Observation", "status": "final", "code": ["text": "x"], "subject": ["reference": "Patient/9"]]
        #expect(texts(try evaluate("Observation.subject.where(resolve() is Patient).reference", on: observation)) == ["Patient/9"])
        #expect(try evaluate("Observation.subject.where(resolve() is Group)", on: observation).isEmpty)
    }

    @Test func extensionSelectsByURL() throws {
        let patient = Self.bundle["entry"]!.arrayValue![0]["resource"]!
        let found = try evaluate("Patient.extension('http://hl7.org/fhir/StructureDefinition/patient-birthPlace').value.city", on: patient)
        #expect(texts(found) == ["Lyon"])
        #expect(try evaluate("Patient.extension('http://example.org/none')", on: patient).isEmpty)
    }

    @Test func memberOfUsesTheValueSetsAtHand() throws {
        let patient: JSON = ["resourceType": "Patient", "gender": "female"]
        let inSet = try evaluate("Patient.gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", on: patient)
        #expect(texts(inSet) == ["true"])
        let other: JSON = ["resourceType": "Patient", "gender": "f"]
        #expect(texts(try evaluate("Patient.gender.memberOf('http://hl7.org/fhir/ValueSet/administrative-gender')", on: other)) == ["false"])
        // A value set that is not at hand: unknown, so empty.
        #expect(try evaluate("Patient.gender.memberOf('http://example.org/ValueSet/none')", on: patient).isEmpty)
    }

    @Test func conformsToAndHTMLChecks() throws {
        let patient: JSON = ["resourceType": "Patient", "text": ["status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">ok</div>"]]
        #expect(texts(try evaluate("conformsTo('http://hl7.org/fhir/StructureDefinition/Patient')", on: patient)) == ["true"])
        #expect(texts(try evaluate("conformsTo('http://hl7.org/fhir/StructureDefinition/Observation')", on: patient)) == ["false"])
        #expect(throws: FHIRPathError.self) { try evaluate("conformsTo('http://example.org/x')", on: patient) }
        #expect(texts(try evaluate("text.div.htmlChecks()", on: patient)) == ["true"])
        let unsafe: JSON = ["resourceType": "Patient", "text": ["status": "generated", "div": "<div><script>x</script></div>"]]
        #expect(texts(try evaluate("text.div.htmlChecks()", on: unsafe)) == ["false"])
    }

    @Test func refusalsNameTheProblem() {
        let patient: JSON = ["resourceType": "Patient", "name": [["family": "A"]]]
        #expect(throws: FHIRPathError.self) { try evaluate("name.given1", on: patient) }
        #expect(throws: FHIRPathError.self) { try evaluate("name.where(", on: patient) }
        #expect(throws: FHIRPathError.self) { try evaluate("%undefined", on: patient) }
        #expect(throws: FHIRPathError.self) { try evaluate("name.nothing()", on: patient) }
        do {
            _ = try FHIRPathParser.parse("name.family +")
            Issue.record("a syntax error was expected")
        } catch {
            #expect(error.kind == .syntax)
            #expect(error.position != nil)
        }
    }

    @Test func variablesAndContext() throws {
        let patient: JSON = ["resourceType": "Patient", "id": "p1"]
        #expect(texts(try evaluate("%resource.id", on: patient)) == ["p1"])
        #expect(texts(try evaluate("%ucum", on: patient)) == ["http://unitsofmeasure.org"])
        #expect(texts(try evaluate("%`vs-administrative-gender`", on: patient)) == ["http://hl7.org/fhir/ValueSet/administrative-gender"])
    }
}

/// Inputs at the edges give an error or empty, never a crash or a hang.
@Suite struct FHIRPathEdgeTests {
    @Test func extremeNumbersAndUnitsAreSafe() throws {
        let empty = FHIRPathContext(resource: nil)
        func run(_ text: String) -> [FHIRPathValue]? { try? FHIRPathEvaluator.evaluate(try FHIRPathParser.parse(text), context: empty) }
        #expect(run("10.power(100)")?.count == 1)
        #expect(run("(-9223372036854775807 - 1).abs()") == nil)
        #expect(run("(-5).abs()")?.first?.text == "5")
        #expect(run("-(-9223372036854775807 - 1)") == nil)
        #expect(run("1 'm999999999' = 1 'm'")?.isEmpty == true)
        #expect(run("1 '10*999999999' = 1 '1'")?.isEmpty == true)
        #expect(run("@2020-01-01 + 100000000000000 days")?.isEmpty == true)
        #expect(run("'abc'.substring(-1)")?.isEmpty == true)
        #expect(run("(1 | 2).take(-5)")?.isEmpty == true)
    }
}

extension FHIRPathEdgeTests {
    @Test func deepNestingIsRefusedNotOverflowed() {
        let deep = String(repeating: "(", count: 100_000) + "1" + String(repeating: ")", count: 100_000)
        #expect(throws: FHIRPathError.self) { try FHIRPathParser.parse(deep) }
        let minus = String(repeating: "-", count: 100_000) + "1"
        #expect(throws: FHIRPathError.self) { try FHIRPathParser.parse(minus) }
        #expect((try? FHIRPathParser.parse(String(repeating: "(", count: 50) + "1" + String(repeating: ")", count: 50))) != nil)
    }
}
