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
}
