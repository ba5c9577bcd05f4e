import Foundation
import HTTPTypes
import JSONCore
import OpenEHR
import SocleTestSupport
import Storage
import Testing

/// ITS-REST 1.0.3 §Query (ad-hoc AQL, GET and POST; stored queries) and
/// §Definitions (stored query PUT and GET), with the admin removal.
@Suite("openEHR REST: AQL")
struct QueryRoutesTests {
    static let systolic = "o/data[at0001]/events[at0002]/data[at0003]/items[at0004]/value/magnitude"
    static let from = "FROM EHR e CONTAINS COMPOSITION c CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.sample_blood_pressure.v1]"

    /// Two compositions in one EHR: systolic 130 and 160.
    static func prepared(_ server: TestServer) async throws -> String {
        let ehrID = try await CompositionRoutesTests.prepared(server)
        for value in ["130", "160"] {
            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.systolic(value))
            #expect(created.status == .created, "\(created.body)")
        }
        return ehrID
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }

    @Test(arguments: TestEngine.available)
    func adHocQueriesByGetAndPost(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let q = "SELECT e/ehr_id/value AS ehr, \(Self.systolic) AS systolic \(Self.from) WHERE e/ehr_id/value = $ehr_id ORDER BY \(Self.systolic) DESC"
            let get = try await server.send(.get, "/openehr/v1/query/aql?q=\(Self.encoded(q))&query_parameters=ehr_id%3D\(ehrID)")
            #expect(get.status == .ok, "\(get.body)")
            #expect(get.json["q"]?.stringValue == q)
            #expect(get.json["meta"]?["resultsize"] == .number("2"))
            #expect(get.json["meta"]?["_executed_aql"]?.stringValue == q)
            #expect(get.json["columns"]?.arrayValue?.map { $0["name"]?.stringValue ?? "" } == ["ehr", "systolic"])
            #expect(get.json["columns"]?.arrayValue?.map { $0["path"]?.stringValue ?? "" } == ["e/ehr_id/value", Self.systolic])
            #expect(get.json["rows"] == .array([.array([.string(ehrID), .number("160")]), .array([.string(ehrID), .number("130")])]))

            let body = JSONSerializer.string(["q": .string(q), "query_parameters": ["ehr_id": .string(ehrID)], "offset": 1, "fetch": 1])
            let post = try await server.send(.post, "/openehr/v1/query/aql", body: body)
            #expect(post.status == .ok, "\(post.body)")
            #expect(post.json["rows"] == .array([.array([.string(ehrID), .number("130")])]))
            #expect(post.json["meta"]?["offset"] == .number("1") && post.json["meta"]?["fetch"] == .number("1"))

            // Form encoding: '+' is a space.
            let plus = try await server.send(.get, "/openehr/v1/query/aql?q=SELECT+COUNT(*)+\(Self.encoded(Self.from))")
            #expect(plus.json["rows"] == .array([.array([.number("2")])]), "\(plus.body)")

            let explained = try await server.send(.get, "/openehr/v1/query/aql?q=\(Self.encoded("SELECT c/uid/value " + Self.from))&explain=true")
            #expect(explained.json["meta"]?["_explain"]?["sql"]?.stringValue?.hasPrefix("SELECT ") == true)
            #expect((explained.json["meta"]?["_explain"]?["plan"]?.arrayValue?.count ?? 0) > 0)
        }
    }

    @Test(arguments: TestEngine.available)
    func badQueriesAre400WithWhere(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            _ = try await Self.prepared(server)
            let syntax = try await server.send(.get, "/openehr/v1/query/aql?q=\(Self.encoded("SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value ="))")
            #expect(syntax.status == .badRequest)
            // The query is 63 characters long: its end is column 64.
            #expect(syntax.json["message"]?.stringValue?.contains("line 1, column 64: found the end of the query, expected a value") == true, "\(syntax.body)")
            let semantic = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT c/foo FROM EHR e CONTAINS COMPOSITION c"}"#)
            #expect(semantic.status == .badRequest)
            #expect(semantic.problemPaths == ["line 1, column 8"])
            #expect(try await server.send(.get, "/openehr/v1/query/aql").status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": 3}"#).status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/query/aql", body: #"["q"]"#).status == .badRequest)
            #expect(try await server.send(.get, "/openehr/v1/query/aql?q=\(Self.encoded("SELECT c " + Self.from))&fetch=x").status == .badRequest)
            let q = "SELECT c/uid/value \(Self.from)"
            for body in [
                #"{"q": "\#(q)", "query_parameters": ["x"]}"#, #"{"q": "\#(q)", "offset": -1, "fetch": 2}"#, #"{"q": "\#(q)", "fetch": "ten"}"#,
                #"{"q": "\#(q)""#,
            ] {
                let reply = try await server.send(.post, "/openehr/v1/query/aql", body: body)
                #expect(reply.status == .badRequest, "\(body): \(reply.body)")
                #expect(reply.json["message"]?.stringValue?.isEmpty == false)
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func storedQueries(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await Self.prepared(server)
            let q = "SELECT \(Self.systolic) AS systolic \(Self.from) WHERE e/ehr_id/value = $ehr_id AND \(Self.systolic) > $limit"
            let name = "org.socle.test::high_systolic"
            let stored = try await server.send(.put, "/openehr/v1/definition/query/\(name)/1.0.0", headers: ["Content-Type": "text/plain"], body: q)
            // ITS-REST 1.0.3 §Definitions, stored query, PUT: 200 (200_StoredQuery_stored), not 201.
            #expect(stored.status == .ok, "\(stored.body)")
            #expect(stored.headers[.location]?.hasSuffix("/openehr/v1/definition/query/\(name)/1.0.0") == true)
            let again = try await server.send(.put, "/openehr/v1/definition/query/\(name)/1.0.0", headers: ["Content-Type": "text/plain"], body: q)
            #expect(again.status == .conflict)
            let next = try await server.send(.put, "/openehr/v1/definition/query/\(name)", body: JSONSerializer.string(["q": .string(q + " ORDER BY \(Self.systolic)")]))
            #expect(next.json["version"] == .string("1.0.1"), "\(next.body)")
            let broken = try await server.send(.put, "/openehr/v1/definition/query/\(name)/2.0.0", headers: ["Content-Type": "text/plain"], body: "SELECT FROM")
            #expect(broken.status == .badRequest)
            #expect(try await server.send(.put, "/openehr/v1/definition/query/no-namespace/1.0.0", headers: ["Content-Type": "text/plain"], body: q).status == .badRequest)
            #expect(try await server.send(.put, "/openehr/v1/definition/query/\(name)/one", headers: ["Content-Type": "text/plain"], body: q).status == .badRequest)

            let xml = try await server.send(.put, "/openehr/v1/definition/query/\(name)/3.0.0", headers: ["Content-Type": "application/xml"], body: "<q/>")
            #expect(xml.status == .unsupportedMediaType)
            #expect(try await server.send(.put, "/openehr/v1/definition/query/\(name)/3.0.0", body: #"{"query": "x"}"#).status == .badRequest)
            #expect(try await server.send(.post, "/openehr/v1/query/\(name)", body: "[1]").status == .badRequest)
            let versions = try await server.send(.get, "/openehr/v1/definition/query/\(name)")
            #expect(versions.json.arrayValue?.map { $0["version"]?.stringValue ?? "" } == ["1.0.0", "1.0.1"])
            let one = try await server.send(.get, "/openehr/v1/definition/query/\(name)/1.0.0")
            #expect(one.json["q"]?.stringValue == q && one.json["type"] == .string("AQL"))

            let run = try await server.send(.get, "/openehr/v1/query/\(name)?ehr_id=\(ehrID)&limit=140")
            #expect(run.status == .ok, "\(run.body)")
            #expect(run.json["name"] == .string(name))
            #expect(run.json["rows"] == .array([.array([.number("160")])]))
            let posted = try await server.send(
                .post, "/openehr/v1/query/\(name)/1.0.0", body: JSONSerializer.string(["query_parameters": ["ehr_id": .string(ehrID), "limit": 100]]))
            #expect(posted.json["rows"]?.arrayValue?.count == 2, "\(posted.body)")
            #expect(try await server.send(.get, "/openehr/v1/query/org.socle.test::missing").status == .notFound)

            let forbidden = try await server.send(.delete, "/admin/query/\(name)/1.0.0", as: TestServer.clinician)
            #expect(forbidden.status == .forbidden)
            #expect(try await server.send(.delete, "/admin/query/\(name)/1.0.0").status == .noContent)
            #expect(try await server.send(.delete, "/admin/query/\(name)/1.0.0").status == .notFound)
            #expect(try await server.send(.get, "/openehr/v1/definition/query/\(name)/1.0.0").status == .notFound)
        }
    }

    /// While the AQL index is rebuilt (`socle reindex`, or a server that found
    /// it stale at start), queries that read it answer 503 with Retry-After and the progress.
    @Test(arguments: TestEngine.available)
    func queriesWaitForARebuiltIndex(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            try await server.database.database.transaction([
                SQLStatement("UPDATE projection SET state = 'building', done = 3, total = 10 WHERE name = 'aql_index'")
            ])
            let compositions = "/openehr/v1/query/aql?q=\(Self.encoded("SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c"))"
            let reply = try await server.send(.get, compositions)
            #expect(reply.status == .serviceUnavailable, "\(reply.body)")
            // A query that reads no index table (EHRs, their statuses) is answered meanwhile.
            #expect(try await server.send(.get, "/openehr/v1/query/aql?q=\(Self.encoded("SELECT e/ehr_id/value FROM EHR e"))").status == .ok)
            #expect(reply.headers[.retryAfter] == "10")
            #expect(reply.body.contains("being rebuilt") && reply.body.contains("3 of 10"), "\(reply.body)")
            try await server.database.store.projections.rebuild("aql_index", owner: "test", force: true)
            #expect(try await server.send(.get, compositions).status == .ok)
        }
    }
}
