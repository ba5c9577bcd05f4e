import Foundation
import HTTPTypes
import JSONCore
import Services
import SocleTestSupport
import Storage
import Testing

/// The access trace (issue 16 §4, §5): one entry per access to patient
/// data, with the patients it touched; a hash chain with signed
/// checkpoints that `AccessTrace.verify` (`socle audit verify`) checks.
@Suite("Access trace")
struct AccessTraceTests {
    /// The trace's entries, oldest first, as JSON.
    static func entries(_ server: TestServer) async throws -> [JSON] {
        let trace = try #require(server.accessTrace)
        try await trace.flush()
        return try await trace.store.rows(after: 0, limit: 10_000).map { try JSONParser.parse($0.entry) }
    }

    /// The trace's own tables, to tamper with: its SQLite file, or the test's PostgreSQL schema.
    static func traceDatabase(_ server: TestServer) throws -> any SQLDatabase {
        switch server.database.engine {
        case .sqlite:
            let path = String(server.database.url.dropFirst("sqlite:".count))
            return try SQLiteDatabase(path: URL(fileURLWithPath: path).deletingPathExtension().path + "-access-trace.sqlite")
        case .postgresql: return server.database.database
        }
    }

    static func verify(_ server: TestServer) async throws -> AccessTraceReport {
        let trace = try #require(server.accessTrace)
        try await trace.flush()
        return try await AccessTrace.verify(trace.store, publicKey: trace.publicKey)
    }

    static func patient(_ name: String) -> String {
        #"{"resourceType":"Patient","name":[{"family":"\#(name)"}]}"#
    }

    static func observation(_ patientID: String) -> String {
        #"{"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"subject":{"reference":"Patient/\#(patientID)"},"valueQuantity":{"value":72,"unit":"/min"}}"#
    }

    @Test(arguments: TestEngine.available)
    func eachAccessLeavesOneEntryWithItsPatients(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            // Not patient data: no entry.
            let ehrID = try await CompositionRoutesTests.prepared(server)
            #expect(try await server.send(.get, "/openehr/v1/definition/template/adl1.4").status == .ok)
            #expect(try await server.send(.get, "/fhir/metadata").status == .ok)

            let created = try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: CompositionRoutesTests.compositionText)
            let uid = try #require(created.eTag)
            let objectID = String(uid.split(separator: ":").first!)
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)/composition/\(objectID)", as: TestServer.clinician).status == .ok)
            let missing = UUID().uuidString.lowercased()
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(missing)").status == .notFound)
            let aql = "SELECT c/uid/value FROM EHR e CONTAINS COMPOSITION c WHERE e/ehr_id/value = $ehr_id"
            let query = try await server.send(
                .post, "/openehr/v1/query/aql", body: JSONSerializer.string(["q": .string(aql), "query_parameters": ["ehr_id": .string(ehrID)]]))
            #expect(query.status == .ok, "\(query.body)")

            var patients: [String] = []
            for name in ["Martin", "Bernard", "Dubois"] {
                let reply = try await server.send(.post, "/fhir/Patient", body: Self.patient(name))
                let id = try #require(reply.json["id"]?.stringValue)
                patients.append(id)
                #expect(try await server.send(.post, "/fhir/Observation", body: Self.observation(id)).status == .created)
            }
            let search = try await server.send(.get, "/fhir/Observation?code=http://loinc.org|8867-4", as: TestServer.clinician)
            #expect(search.json["entry"]?.arrayValue?.count == 3)

            let entries = try await Self.entries(server)
            // POST /ehr, the composition's create and read, the missing EHR, the query, 3 × 2 FHIR creates, the search.
            let asked: [String] = entries.map { $0["request"]?.stringValue ?? "" }
            #expect(entries.count == 12, "\(asked)")
            let ehr = entries[0]
            #expect(ehr["operation"]?.stringValue == "create")
            #expect(ehr["request"]?.stringValue == "POST /openehr/v1/ehr")
            #expect(ehr["patients"] == .array([.string("EHR/\(ehrID)")]))
            #expect(ehr["actor"]?["name"]?.stringValue == "alice")
            #expect(ehr["actor"]?["role"]?.stringValue == "admin+clinician+integration")

            let read = entries[2]
            #expect(read["operation"]?.stringValue == "read")
            #expect(read["surface"]?.stringValue == "openehr")
            #expect(read["patients"] == .array([.string("EHR/\(ehrID)")]))
            #expect(read["resources"] == .array([.string("COMPOSITION/\(objectID)")]))
            #expect(read["actor"]?["name"]?.stringValue == "bob")
            #expect(read["outcome"] == JSON(200))

            #expect(entries[3]["outcome"] == JSON(404))
            #expect(entries[3]["patients"] == .array([.string("EHR/\(missing)")]))
            #expect(entries[4]["operation"]?.stringValue == "query")
            #expect(entries[4]["query"]?.stringValue == aql)
            #expect(entries[4]["patients"] == .array([.string("EHR/\(ehrID)")]))

            let searched = try #require(entries.last)
            #expect(searched["operation"]?.stringValue == "search")
            #expect(searched["surface"]?.stringValue == "fhir")
            #expect(Set(searched["patients"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(patients.map { "Patient/" + $0 }))
            let searchedQuery = searched["query"]?.stringValue ?? ""
            #expect(searchedQuery == "code=http://loinc.org%7C8867-4" || searchedQuery == "code=http://loinc.org|8867-4")
            #expect(searched["resources"]?.arrayValue?.count == 3)

            // "Who looked at my record": one query by patient.
            let log = try await server.send(.get, "/admin/access-log?patient=Patient/\(patients[1])")
            #expect(log.status == .ok, "\(log.body)")
            let requests = log.json["entries"]?.arrayValue?.compactMap { $0["request"]?.stringValue } ?? []
            #expect(requests == ["GET /fhir/Observation", "POST /fhir/Observation", "POST /fhir/Patient"], "\(requests)")
            #expect(try await server.send(.get, "/admin/access-log?patient=\(ehrID)").json["entries"]?.arrayValue?.count == 4)
            #expect(try await server.send(.get, "/admin/access-log?from=yesterday").status == .badRequest)
            #expect(try await server.send(.get, "/admin/access-log?limit=0").status == .badRequest)
            #expect(try await server.send(.get, "/admin/access-log?limit=many").status == .badRequest)
            #expect(try await server.send(.get, "/admin/access-log", as: TestServer.clinician).status == .forbidden)

            let report = try await Self.verify(server)
            #expect(report.isIntact, "\(report.problems)")
            // The trace's own reads are traced too, refused ones with their 400 or 403.
            #expect(report.entries == entries.count + 6)
        }
    }

    @Test(arguments: TestEngine.available)
    func verificationFindsAChangeADeletionOrASwap(engine: TestEngine) async throws {
        for tampering in ["change", "delete", "swap", "rechain", "patient"] {
            try await TestServer.with(engine) { server in
                let ehrs = [try await server.createEHR(), try await server.createEHR(), try await server.createEHR()]
                for ehrID in ehrs { _ = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)") }
                try await server.accessTrace?.checkpoint()
                let clean = try await Self.verify(server)
                #expect(clean.isIntact && clean.entries == 6 && clean.checkpoints == 1, "\(clean.problems)")

                let database = try Self.traceDatabase(server)
                switch tampering {
                case "change":
                    try await database.transaction([SQLStatement("UPDATE access_trace SET entry = REPLACE(entry, 'alice', 'mallory') WHERE seq = 2")])
                case "delete":
                    try await database.transaction([SQLStatement("DELETE FROM access_trace WHERE seq = 3")])
                case "swap":
                    let rows = try await database.query("SELECT entry, hash FROM access_trace WHERE seq IN (4, 5) ORDER BY seq")
                    try await database.transaction([
                        SQLStatement("UPDATE access_trace SET entry = ?, hash = ? WHERE seq = 4", rows[1].values),
                        SQLStatement("UPDATE access_trace SET entry = ?, hash = ? WHERE seq = 5", rows[0].values),
                    ])
                case "rechain":
                    // A change whose hashes are all recomputed: only the signed checkpoint shows it.
                    let rows = try await database.query("SELECT seq, entry FROM access_trace ORDER BY seq")
                    var hash = AccessTrace.genesis
                    var statements: [SQLStatement] = []
                    for row in rows {
                        let entry = row.int(0) == 2 ? row.string(1)!.replacingOccurrences(of: "alice", with: "mallory") : row.string(1)!
                        hash = AccessTrace.hash(previous: hash, entry: entry)
                        statements.append(SQLStatement("UPDATE access_trace SET entry = ?, hash = ? WHERE seq = ?", [.text(entry), .text(hash), row.values[0]]))
                    }
                    try await database.transaction(statements)
                default:
                    try await database.transaction([SQLStatement("DELETE FROM access_trace_patient WHERE seq = 1")])
                }
                if engine == .sqlite { try await database.close() }
                let report = try await Self.verify(server)
                #expect(!report.isIntact, "\(tampering) went unnoticed")
                #expect(report.problems.contains { $0.contains("entry") || $0.contains("entries") }, "\(tampering): \(report.problems)")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func erasureLeavesTheTraceIntactAndRetentionKeepsItVerifiable(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            _ = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            #expect(try await server.send(.delete, "/admin/ehr/\(ehrID)").status == .noContent)
            let entries = try await Self.entries(server)
            #expect(entries.map { $0["operation"]?.stringValue } == ["create", "read", "erase"])
            #expect(entries.allSatisfy { $0["patients"] == .array([.string("EHR/\(ehrID)")]) })
            #expect(try await Self.verify(server).isIntact)

            // Retention removes whole checkpointed stretches; what is left still verifies.
            let trace = try #require(server.accessTrace)
            try await trace.checkpoint()
            _ = try await server.createEHR()
            let removed = try await trace.store.removeEntries(before: Int64(Date().timeIntervalSince1970 * 1_000_000) + 1)
            #expect(removed == 3)
            let report = try await Self.verify(server)
            #expect(report.isIntact && report.first == 4 && report.entries == 1, "\(report)")
        }
    }

    /// An AQL query's entry names the EHRs whose rows it returned; a
    /// grouped one names none (its rows are no one's in particular).
    @Test(arguments: TestEngine.available)
    func aQueryNamesTheEHRsOfItsRows(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrs = Set([try await server.createEHR(), try await server.createEHR(), try await server.createEHR()])
            let every = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#)
            #expect(every.json["rows"]?.arrayValue?.count == 3)
            let counted = try await server.send(.post, "/openehr/v1/query/aql", body: #"{"q": "SELECT COUNT(e/ehr_id/value) AS n FROM EHR e"}"#)
            #expect(counted.json["rows"]?.arrayValue?.first?.arrayValue?.first == JSON(3))
            let entries = try await Self.entries(server).filter { $0["operation"]?.stringValue == "query" }
            #expect(entries.count == 2)
            #expect(Set(entries.first?["patients"]?.arrayValue?.compactMap(\.stringValue) ?? []) == Set(ehrs.map { "EHR/" + $0 }))
            #expect(entries.last?["patients"] == .array([]))
        }
    }

    /// A trace that cannot be written refuses accesses (503) until it can
    /// again; what was queued meanwhile is written then, nothing lost.
    @Test(arguments: TestEngine.available)
    func anUnwritableTraceRefusesAccessesUntilItWritesAgain(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let trace = try #require(server.accessTrace)
            let ehrID = try await server.createEHR()
            try await trace.flush()
            let database = try Self.traceDatabase(server)
            try await database.migrate(["ALTER TABLE access_trace RENAME TO access_trace_away"])
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)").status == .ok)
            await #expect(throws: (any Error).self) { try await trace.flush() }
            let refused = try await server.send(.get, "/openehr/v1/ehr/\(ehrID)")
            #expect(refused.status == .serviceUnavailable, "\(refused.body)")
            #expect(refused.body.contains("access trace"))
            try await database.migrate(["ALTER TABLE access_trace_away RENAME TO access_trace"])
            if engine == .sqlite { try await database.close() }
            try await Task.sleep(for: .milliseconds(1500))
            try await trace.flush()
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)").status == .ok)
            let entries = try await Self.entries(server)
            #expect(entries.map { $0["operation"]?.stringValue } == ["create", "read", "read"], "\(entries)")
            #expect(try await Self.verify(server).isIntact)
        }
    }
}
