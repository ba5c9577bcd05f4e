import FHIR
import Foundation
import JSONCore
import Testing

/// Every invariant of the R4 definitions (ElementDefinition.constraint,
/// 239 distinct expressions) is FHIRPath this engine parses; none fails to
/// evaluate on the corpus examples (a failing one would be skipped silently
/// by validation, so it is tested here).
@Suite struct InvariantTests {
    static var invariants: [Invariant] {
        var seen: [String: Invariant] = [:]
        for type in FHIRSchema.r4.types.values {
            for invariant in type.constraints + type.elements.flatMap(\.constraints) { seen[invariant.key + invariant.expression] = invariant }
        }
        return seen.values.sorted { $0.key < $1.key }
    }

    @Test func everyInvariantParses() {
        let failures = Self.invariants.compactMap { invariant -> String? in
            do {
                _ = try FHIRPathParser.parse(invariant.expression)
                return nil
            } catch {
                return "\(invariant.key): \(invariant.expression) — \(error)"
            }
        }
        #expect(Self.invariants.count >= 239)
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    @Test func everyInvariantEvaluatesOnTheExamples() throws {
        var failures: Set<String> = []
        for file in try ResourceRoundTripTests.exampleFiles() {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            failures.formUnion(FHIRValidator.evaluationFailures(json).map { "\($0.key): \($0.error)" })
        }
        #expect(failures.isEmpty, "\(failures.sorted().joined(separator: "\n"))")
    }
    /// ele-1 and ext-1, which every element and extension carries, are
    /// checked by Swift rules (their FHIRPath built a node per child of
    /// every element): validation finds the same issues with the rules as
    /// with the FHIRPath, on resources that break them and on every corpus example.
    @Test func theSwiftRulesFindWhatTheirFHIRPathFinds() throws {
        let broken: [JSON] = [
            ["resourceType": "Patient", "identifier": [["id": "a"]]],
            ["resourceType": "Patient", "extension": [["url": "http://example.org/empty"]]],
            ["resourceType": "Patient", "extension": [["url": "http://example.org/both", "valueString": "x", "extension": [["url": "v", "valueBoolean": true]]]]],
            ["resourceType": "Patient", "extension": [["url": "http://example.org/nested", "extension": [["url": "v", "valueBoolean": true]]]]],
            ["resourceType": "Patient", "name": [["family": "A", "period": ["start": "2020-01-02T10:00:00-05:00", "end": "2020-01-02T09:00:00-05:00"]]]],
            ["resourceType": "Patient", "name": [["family": "A", "period": ["start": "2020-01-02T10:00:00-05:00", "end": "2020-01-02T10:30:00-04:00"]]]],
            ["resourceType": "Patient", "generalPractitioner": [["reference": "#nowhere"]]],
            ["resourceType": "Patient", "generalPractitioner": [["reference": "#p"]], "contained": [["resourceType": "Practitioner", "id": "p", "active": true]]],
            ["resourceType": "Patient", "generalPractitioner": [["reference": "#p"]], "contained": [["resourceType": "Practitioner", "id": "q", "active": true]]],
        ]
        let expected = [["ele-1"], ["ext-1"], ["ext-1"], [], ["per-1"], ["per-1"], ["ref-1"], [], ["ref-1", "dom-3"]]
        #expect(Set(Self.invariants.filter(\.hasSwiftRule).map(\.key)) == ["ele-1", "ext-1", "ref-1", "per-1", "dom-2", "dom-3", "dom-4", "dom-5"])
        for (resource, keys) in zip(broken, expected) {
            let found = FHIRValidator.validate(resource).filter { $0.code == "invariant" && $0.isError }
            #expect(found.map { String($0.message.prefix(5)) } == keys, "\(JSONSerializer.string(resource))")
            #expect(found == FHIRValidator.validateByFHIRPathOnly(resource).filter { $0.code == "invariant" && $0.isError })
        }
        var compared = 0
        for file in try ResourceRoundTripTests.exampleFiles() {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            #expect(FHIRValidator.validate(json) == FHIRValidator.validateByFHIRPathOnly(json), "\(file.lastPathComponent)")
            compared += 1
        }
        #expect(compared > 150)
    }
}
