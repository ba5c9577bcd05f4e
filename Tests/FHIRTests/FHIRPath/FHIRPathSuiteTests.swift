import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Templates
import Testing

/// The HL7 FHIRPath test suite for R4 (tests-fhir-r4.xml, 937 tests): each
/// expression evaluated against its input resource, its result compared
/// with the expected output, and every test marked invalid refused.
@Suite struct FHIRPathSuiteTests {
    struct Case {
        var name: String
        var group: String
        var input: String
        var expression: String
        var invalid: Bool
        var strict: Bool
        var checkOrdered: Bool
        var predicate: Bool
        var outputs: [(type: String, text: String)]
    }

    /// The number of suite tests that pass today; the suite fails if fewer do.
    /// The five that do not are listed in docs/architecture.md §FHIRPath: the
    /// suite expects `@2014-01-01T08.highBoundary(17)` (twice) to be
    /// 08:00:59.999 (its minutes are not widened), and boundaries of ±0.0034
    /// at one digit that are neither floor nor ceiling (three tests).
    static let expectedPasses = 930

    static func cases() throws -> [Case] {
        let data = try Data(contentsOf: Corpus.root.appendingPathComponent("fhir/fhirpath/tests-fhir-r4.xml"))
        let root = try XMLTree.parse(data)
        var result: [Case] = []
        for group in root.children("group") {
            for test in group.children("test") {
                guard let expression = test.child("expression") else { continue }
                result.append(Case(
                    name: test.attributes["name"] ?? "(unnamed)", group: group.attributes["name"] ?? "",
                    input: test.attributes["inputfile"] ?? "", expression: expression.text,
                    invalid: expression.attributes["invalid"] != nil,
                    strict: test.attributes["mode"] == "strict" || expression.attributes["mode"] == "strict",
                    checkOrdered: test.attributes["checkOrderedFunctions"] == "true",
                    predicate: test.attributes["predicate"] == "true",
                    outputs: test.children("output").map { ($0.attributes["type"] ?? "", $0.text) }))
            }
        }
        return result
    }

    static func load(_ file: String) throws -> JSON {
        let data = try Data(contentsOf: Corpus.root.appendingPathComponent("fhir/fhirpath/input/" + file))
        if file.hasSuffix(".json") { return try JSONParser.parse(Array(data)) }
        return try FHIRXMLReader.json(data)
    }

    /// Runs one case; nil when it passes, else why not.
    static func run(_ test: Case, inputs: inout [String: JSON]) -> String? {
        var resource: JSON?
        do {
            if test.input.isEmpty {
                resource = nil
            } else if let cached = inputs[test.input] {
                resource = cached
            } else {
                resource = try load(test.input)
                inputs[test.input] = resource
            }
        } catch {
            return "input \(test.input) unreadable: \(error)"
        }
        var context = FHIRPathContext(resource: resource.map { FHIRNode(resource: $0) })
        context.strict = test.strict
        context.checkOrderedFunctions = test.checkOrdered
        let result: [FHIRPathValue]
        do {
            let expression = try FHIRPathParser.parse(test.expression)
            result = try FHIRPathEvaluator.evaluate(expression, context: context)
        } catch {
            return test.invalid ? nil : "error: \(error)"
        }
        if test.invalid { return "expected an error, got \(result.count) item(s)" }
        var values = result
        if test.predicate { values = [.boolean(!result.isEmpty)] }
        guard values.count == test.outputs.count else {
            return "expected \(test.outputs.count) item(s), got \(values.count): \(values.map { $0.text ?? "node" })"
        }
        for (value, output) in zip(values, test.outputs) where !matches(value, output) {
            return "expected \(output.type) \(output.text), got \(value.text ?? "a node of \(value.typeName.name)")"
        }
        return nil
    }

    static func matches(_ value: FHIRPathValue, _ output: (type: String, text: String)) -> Bool {
        var expected = output.text.hasPrefix("@") ? String(output.text.dropFirst()) : output.text
        if expected.hasPrefix("T"), case .temporal(let t) = value.system, t.kind == .time { expected.removeFirst() }
        guard let text = value.text else { return false }
        switch output.type {
        case "decimal", "integer":
            guard let a = Decimal(string: text), let b = Decimal(string: expected) else { return false }
            return a == b
        case "date", "dateTime", "time":
            return text == expected || text == expected.replacingOccurrences(of: "T", with: "", options: .anchored)
        default:
            return text == expected
        }
    }

    @Test func suitePassCount() throws {
        let cases = try Self.cases()
        #expect(cases.count == 935)
        var inputs: [String: JSON] = [:]
        var failures: [String] = []
        for test in cases {
            if let why = Self.run(test, inputs: &inputs) {
                failures.append("\(test.group)/\(test.name): \(test.expression.replacingOccurrences(of: "\n", with: " ")) — \(why)")
            }
        }
        let passed = cases.count - failures.count
        let report = failures.joined(separator: "\n")
        try? report.write(toFile: NSTemporaryDirectory() + "fhirpath-failures.txt", atomically: true, encoding: .utf8)
        print("FHIRPath suite: \(passed) of \(cases.count) pass")
        #expect(passed >= Self.expectedPasses, "\(report)")
        let invalidMissed = failures.filter { $0.contains("expected an error") }
        #expect(invalidMissed.isEmpty, "\(invalidMissed.joined(separator: "\n"))")
    }
}
