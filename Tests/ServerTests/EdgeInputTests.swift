import Foundation
import HTTPTypes
import JSONCore
import SocleTestSupport
import Testing

/// Bad input at the edges, wherever it comes in: a JSON object naming a
/// member twice (RFC 8259 §4 leaves the outcome to the reader; I-JSON, RFC
/// 7493 §2.3, and FHIR forbid it) and a NUL character (no store keeps it as
/// text) are refused with a 400 that says where, and leave nothing written.
@Suite("Bad input at the edges: duplicate JSON members, NUL characters")
struct EdgeInputTests {
    static let composition = Corpus.bloodPressure
    static let opt = Corpus.bloodPressureOPT
    static let flatOPT = try! String(
        contentsOf: Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/external/ehrbase.testcase06.v0.opt"), encoding: .utf8)
    static let flat = try! String(
        contentsOf: Corpus.root.appendingPathComponent("openehr/compositions/flat/aql_data_load/external/ehrbase.testcase06.v0__compo1_test_set_3_flat.json"),
        encoding: .utf8)

    /// A member of the first object that has one named `name`, given twice.
    static func duplicating(_ name: String, in json: String) -> String {
        guard let range = json.range(of: "\"\(name)\":") else { return json }
        return json.replacingCharacters(in: range, with: "\"\(name)\":\"first\",\"\(name)\":")
    }

    @Test(arguments: TestEngine.available)
    func aMemberNamedTwiceIsRefusedWithItsPath(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Self.opt).status == .created)
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Self.flatOPT).status == .created)
            let ehr = try await server.createEHR()
            let before = try await server.database.rowCounts()

            let status = try await server.send(.post, "/openehr/v1/ehr", body: Self.duplicating("is_queryable", in: statusJSON()))
            #expect(status.status == .badRequest && status.problemPaths == ["/is_queryable"], "\(status.body)")
            #expect(status.body.contains("appears twice"))

            // Deep in a composition: the path runs down to the repeated member.
            let deep = Self.composition.replacingOccurrences(of: #""units":"mm[Hg]""#, with: #""units":"mm[Hg]","units":"kPa""#)
            #expect(deep != Self.composition)
            let composition = try await server.send(.post, "/openehr/v1/ehr/\(ehr)/composition", body: deep)
            #expect(composition.status == .badRequest, "\(composition.body)")
            #expect(composition.problemPaths.first?.hasPrefix("/content/0/data/events/0/data/items/") == true, "\(composition.body)")
            #expect(composition.problemPaths.first?.hasSuffix("/value/units") == true, "\(composition.body)")

            let flatKeys = Self.flat.replacingOccurrences(of: "{", with: #"{"ctx/language": "en", "ctx/language": "de","#, options: [], range: Self.flat.range(of: "{"))
            let flat = try await server.send(.post, "/openehr/v1/ehr/\(ehr)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: flatKeys)
            #expect(flat.status == .badRequest && flat.problemPaths == ["/ctx~1language"], "\(flat.body)")

            let aql = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT e/ehr_id/value FROM EHR e", "q": "SELECT 1"}"#)
            #expect(aql.status == .badRequest && aql.problemPaths == ["/q"], "\(aql.body)")

            let contribution = try await server.send(
                .post, "/openehr/v1/ehr/\(ehr)/contribution",
                body: #"{"versions": [{"_type": "ORIGINAL_VERSION", "data": {"_type": "COMPOSITION"}, "data": {}}], "audit": {}}"#)
            #expect(contribution.status == .badRequest && contribution.problemPaths == ["/versions/0/data"], "\(contribution.body)")

            #expect(try await server.database.rowCounts() == before)
        }
    }

    @Test(arguments: TestEngine.available)
    func aNULCharacterIsRefusedWhereverItIs(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Self.flatOPT).status == .created)
            let ehr = try await server.createEHR()
            let before = try await server.database.rowCounts()
            let q = "SELECT c/uid/value FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""

            // An AQL parameter, as a GET parameter and in a POST body.
            let get = try await server.send(.get, "/openehr/v1/query/aql?q=\(q)&ehr_id=a%00b")
            #expect(get.status == .badRequest && get.body.contains("NUL"), "\(get.body)")
            let post = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT c FROM EHR e[ehr_id/value=$x] CONTAINS COMPOSITION c", "query_parameters": {"x": "a\u0000b"}}"#)
            #expect(post.status == .badRequest && post.problemPaths == ["/query_parameters/x"], "\(post.body)")
            // A FLAT value.
            let flat = Self.flat.replacingOccurrences(of: "\"ehrbase.testcase6.v0/category|value\": \"event\"", with: "\"ehrbase.testcase6.v0/category|value\": \"ev\\u0000ent\"")
            #expect(flat != Self.flat)
            let composition = try await server.send(.post, "/openehr/v1/ehr/\(ehr)/composition?format=FLAT&templateId=ehrbase.testcase06.v0", body: flat)
            #expect(composition.status == .badRequest && composition.problemPaths == ["/ehrbase.testcase6.v0~1category|value"], "\(composition.body)")
            // A path. (A header cannot carry one: HTTP forbids control characters
            // in field values, and the HTTP parser refuses them before Socle reads the request.)
            let path = try await server.send(.get, "/openehr/v1/ehr/\(ehr)%00/composition/x")
            #expect(path.status == .badRequest && path.body.contains("path"), "\(path.body)")
            // A stored query's text.
            let stored = try await server.send(.put, "/openehr/v1/definition/query/org.example::nul", headers: ["Content-Type": "text/plain"], body: "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value = 'a\u{0}b'")
            #expect(stored.status == .badRequest && stored.body.contains("NUL"), "\(stored.body)")

            #expect(try await server.database.rowCounts() == before)
        }
    }
}
