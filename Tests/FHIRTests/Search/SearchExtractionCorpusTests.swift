import Foundation
import JSONCore
import SocleTestSupport
import Testing

@testable import FHIR

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

    /// Plain member paths (`Patient.name.family` and their unions, 1,506 of the
    /// R4 expressions' union branches) are followed without the general
    /// evaluator: the entries must be the same, in the same order, as the
    /// evaluator gives, on every corpus example and on the first Synthea bundles.
    @Test func memberPathsGiveWhatTheEvaluatorGives() throws {
        var resources: [JSON] = try ResourceRoundTripTests.exampleFiles().map { try JSONParser.parse(Array(Data(contentsOf: $0))) }
        for bundle in try Synthea.bundles().prefix(3) {
            let json = try JSONParser.parse(bundle.bytes)
            resources += (json["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
        }
        #expect(resources.count > 1000)
        var compared = 0, fast = 0
        for resource in resources {
            var a: [String] = [], b: [String] = []
            let followed = SearchIndexer.r4.entries(for: resource, failures: &a, followingMemberPaths: true)
            let evaluated = SearchIndexer.r4.entries(for: resource, failures: &b, followingMemberPaths: false)
            #expect(followed == evaluated && a == b, "\(resource["resourceType"]?.stringValue ?? "") \(resource["id"]?.stringValue ?? "")")
            compared += followed.count
        }
        for (_, compiled) in SearchIndexer.r4.byType { fast += compiled.filter { $0.paths != nil }.count }
        #expect(compared > 10_000)
        #expect(fast > 1000)
    }
}
