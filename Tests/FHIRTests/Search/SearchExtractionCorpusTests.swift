import FHIR
import Foundation
import JSONCore
import SocleTestSupport
import Testing

/// R4 search parameters (search-parameters.json, 1,375 definitions) over the
/// corpus: every expression parses, and none fails on a corpus resource.
@Suite struct SearchExtractionCorpusTests {
    @Test func everyExpressionOfR4Parses() {
        #expect(SearchIndexer.r4.unparsed.isEmpty, "\(SearchIndexer.r4.unparsed.joined(separator: "\n"))")
        #expect(FHIRSchema.r4.searchParameters.count == 1375)
    }

    @Test func everyParameterEvaluatesOnEveryCorpusExample() throws {
        var failures: [String] = []
        var entries = 0
        for file in try ResourceRoundTripTests.exampleFiles() {
            let json = try JSONParser.parse(Array(Data(contentsOf: file)))
            var problems: [String] = []
            let found = SearchIndexer.r4.entries(for: json, failures: &problems)
            entries += found.count
            if let id = json["id"]?.stringValue, !found.contains(SearchIndexEntry(code: "_id", type: .token, value: .token(system: nil, code: id, text: nil))) {
                failures.append("\(file.lastPathComponent): no _id entry")
            }
            failures += problems.map { "\(file.lastPathComponent): \($0)" }
        }
        try? failures.joined(separator: "\n").write(toFile: NSTemporaryDirectory() + "fhir-search-failures.txt", atomically: true, encoding: .utf8)
        #expect(failures.isEmpty, "\(failures.prefix(30).joined(separator: "\n"))")
        #expect(entries >= 2362)
    }
}
