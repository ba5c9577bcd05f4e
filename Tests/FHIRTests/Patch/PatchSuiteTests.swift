import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// The FHIR patch test files of fhir-test-cases (R4 §PATCH): JSON Patch
/// (json-patch-tests.json, RFC 6902 examples) and FHIRPath Patch
/// (fhir-patch-tests.xml).
@Suite struct PatchSuiteTests {
    /// JSON equality where object members may come in any order (FHIR JSON
    /// does not order them) and arrays keep theirs.
    static func same(_ a: JSON, _ b: JSON) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.members.allSatisfy { member in y[member.key].map { same(member.value, $0) } ?? false }
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.number(let x), .number(let y)):
            return Decimal(string: x) == Decimal(string: y)
        default:
            return a == b
        }
    }

    @Test func jsonPatchSuite() throws {
        let data = try Data(contentsOf: Corpus.root.appendingPathComponent("fhir/fhirpath/patch/json-patch-tests.json"))
        let cases = try JSONParser.parse(Array(data)).arrayValue ?? []
        #expect(cases.count == 16)
        var failures: [String] = []
        for test in cases {
            let name = test["comment"]?.stringValue ?? "?"
            let result = Result { () throws(PatchError) -> JSON in try JSONPatch.apply(test["patch"] ?? .null, to: test["doc"] ?? .null) }
            switch (result, test["expected"], test["error"]) {
            case (.success(let got), let expected?, _): if !Self.same(got, expected) { failures.append("\(name): got \(JSONSerializer.string(got))") }
            case (.failure, _, _?): break
            case (.success, nil, _?): failures.append("\(name): expected an error")
            case (.failure(let error), _, nil): failures.append("\(name): \(error)")
            default: failures.append("\(name): no expectation")
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    struct Case {
        var name: String
        var input: JSON
        var diff: JSON
        var output: JSON?
        var error: String?
    }

    static func fhirPatchCases() throws -> [Case] {
        let text = try String(contentsOf: Corpus.root.appendingPathComponent("fhir/fhirpath/patch/fhir-patch-tests.xml"), encoding: .utf8)
        let casePattern = try NSRegularExpression(pattern: #"<case name="([^"]*)"[^>]*>(.*?)</case>"#, options: [.dotMatchesLineSeparators])
        func inner(_ tag: String, _ body: String) throws -> JSON? {
            guard let range = body.range(of: "<\(tag)>"), let end = body.range(of: "</\(tag)>") else { return nil }
            let xml = body[range.upperBound..<end.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            return try FHIRXMLReader.json(Data(xml.utf8))
        }
        var cases: [Case] = []
        for match in casePattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(match.range(at: 1), in: text)!])
            let body = String(text[Range(match.range(at: 2), in: text)!])
            var error: String?
            if let range = body.range(of: #"<error msg="([^"]*)""#, options: .regularExpression) {
                error = String(body[range]).replacingOccurrences(of: "<error msg=\"", with: "").dropLast().description
            }
            cases.append(Case(name: name, input: try inner("input", body)!, diff: try inner("diff", body)!, output: try inner("output", body), error: error))
        }
        return cases
    }

    @Test func fhirPathPatchSuite() throws {
        let cases = try Self.fhirPatchCases()
        #expect(cases.count == 33)
        var failures: [String] = []
        for test in cases {
            do {
                let got = try FHIRPathPatch.apply(test.diff, to: test.input)
                if test.error != nil {
                    failures.append("\(test.name): expected the error '\(test.error!)'")
                } else if let output = test.output, !Self.same(got, output) {
                    failures.append("\(test.name): got \(JSONSerializer.string(got)), expected \(JSONSerializer.string(output))")
                } else if !FHIRValidator.validate(got, level: .structure).isEmpty {
                    failures.append("\(test.name): the result is not a valid resource")
                }
            } catch {
                if let expected = test.error {
                    if !error.message.contains(expected) { failures.append("\(test.name): error '\(error.message)' is not '\(expected)'") }
                } else {
                    failures.append("\(test.name): \(error)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}

/// Patches that cannot apply are refused with the operation and the reason,
/// and the resource is left as it was.
@Suite struct PatchRefusalTests {
    static let patient: JSON = ["resourceType": "Patient", "id": "p", "name": [["family": "A"], ["family": "B"]]]

    func operation(_ parts: [(String, JSON)]) -> JSON {
        let encoded: [JSON] = parts.map { name, value in
            .object(JSONObject([("name", .string(name)), (name == "index" ? "valueInteger" : (name == "type" ? "valueCode" : "valueString"), value)]))
        }
        return ["resourceType": "Parameters", "parameter": [["name": "operation", "part": .array(encoded)]]]
    }

    @Test func refusesWhatCannotApply() {
        let cases: [(JSON, String)] = [
            (operation([("type", "replace"), ("path", "Patient.name.family"), ("value", "C")]), "selects 2 elements"),
            (operation([("type", "delete"), ("path", "Patient.name")]), "delete removes one"),
            (operation([("type", "rename"), ("path", "Patient.name")]), "unknown operation type"),
            (operation([("type", "add"), ("path", "Patient"), ("name", "nickname"), ("value", "x")]), "has no element 'nickname'"),
            (operation([("type", "insert"), ("path", "Patient.name"), ("index", 5), ("value", "x")]), "index from 0 to 2"),
            (operation([("type", "delete"), ("path", "Patient.name[")]), "path 'Patient.name['"),
            (["resourceType": "Patient"], "a Parameters resource"),
        ]
        for (patch, reason) in cases {
            #expect(throws: PatchError.self) { try FHIRPathPatch.apply(patch, to: Self.patient) }
            do {
                _ = try FHIRPathPatch.apply(patch, to: Self.patient)
            } catch {
                #expect(error.message.contains(reason), "\(error.message)")
            }
        }
        #expect(throws: PatchError.self) { try JSONPatch.apply(["op": "add"], to: Self.patient) }
        #expect(throws: PatchError.self) { try JSONPatch.apply([["op": "remove", "path": "/name/9"]], to: Self.patient) }
    }
}
