import Foundation
import JSONCore
import OpenEHR
import SocleTestSupport
import Templates
import Testing

/// STRUCTURED compositions: FLAT nested, read and written through FLAT.
@Suite struct StructuredFormatTests {
    @Test func structuredAndFlatAreTheSamePaths() throws {
        let flat: JSONObject = try #require(try JSONParser.parse(#"""
            {"ctx/language": "en", "ctx/health_care_facility|name": "Clinic",
             "report/vitals:0/pulse|magnitude": 60, "report/vitals:0/pulse|unit": "/min",
             "report/vitals:1/pulse|magnitude": 72, "report/vitals:1/pulse|unit": "/min",
             "report/comment": "ok", "report/_uid": "u1"}
            """#).objectValue)
        let structured = StructuredFormat.structured(flat)
        #expect(structured["ctx"]?["language"] == "en")
        #expect(structured["report"]?["vitals"]?.arrayValue?.count == 2)
        #expect(structured["report"]?["vitals"]?.arrayValue?[1]["pulse"]?.arrayValue?.first?["|magnitude"] == 72)
        #expect(structured["report"]?["comment"] == ["ok"])
        // Back to FLAT: the same keys (a single occurrence written without its index).
        let back = StructuredFormat.flat(structured)
        #expect(back["report/vitals:1/pulse|unit"] == "/min")
        #expect(back["report/comment"] == "ok")
        #expect(back["report/_uid"] == "u1")
        #expect(back["ctx/health_care_facility|name"] == "Clinic")
        #expect(back.count == flat.count)
    }

    /// The STRUCTURED compositions of the corpus whose template is in the
    /// corpus become valid compositions (the count only goes up).
    @Test func corpusStructuredCompositionsBecomeValidCompositions() throws {
        let root = Corpus.root.appendingPathComponent("openehr/compositions/structured")
        let files = Corpus.files(below: root, withExtension: "json").filter { !$0.lastPathComponent.contains("invalid") }
        var valid = 0, withTemplate = 0
        var failures: [String] = []
        for file in files {
            guard case .object(let structured)? = try? JSONParser.parse(Array(Data(contentsOf: file))) else { continue }
            let flat = StructuredFormat.flat(structured)
            let treeID = structured.keys.first { $0 != "ctx" } ?? ""
            guard let candidates = CorpusTemplates.byTreeID[treeID] else { continue }
            withTemplate += 1
            var why = "no template"
            for template in candidates {
                do {
                    let tree = try CanonicalDecoder().decode(try FlatComposition(template: template).composition(flat), as: "COMPOSITION")
                    let problems = TemplateValidator().validate(tree, against: template)
                    why = problems.isEmpty ? "" : "\(problems.prefix(2).map { "\($0.path) \($0.message)" })"
                } catch let error as FlatError {
                    why = "FLAT \(error.problems.prefix(2).map { "\($0.path): \($0.message)" })"
                } catch let error as RMDecodingError {
                    why = "RM \(error.problems.prefix(2).map { "\($0.path) \($0.message)" })"
                }
                if why.isEmpty { break }
            }
            if why.isEmpty { valid += 1 } else { failures.append("\(file.lastPathComponent): \(why)") }
        }
        try? (["\(valid) of \(withTemplate)"] + failures).joined(separator: "\n").write(
            toFile: NSTemporaryDirectory() + "structured-report.txt", atomically: true, encoding: .utf8)
        #expect(valid >= Self.expectedValid, "\(valid) of \(withTemplate): \(failures.prefix(3))")
    }

    /// The one not read: `nested.en.v1__full.json` gives an ordinal `|terminology_id`.
    static let expectedValid = 6
}
