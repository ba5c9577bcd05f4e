import Foundation
import Server
import SocleTestSupport
import Testing

/// `/metrics` in the Prometheus text format: requests by route template,
/// method and status, their durations, Socle's commits and AQL queries, the
/// process's memory and CPU; no id of a path in any label; admin only by
/// default, public or off as `SOCLE_METRICS` says.
@Suite("Metrics")
struct MetricsTests {
    @Test(arguments: TestEngine.available)
    func requestsCommitsAndQueriesAreCounted(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            #expect(try await server.send(.get, "/openehr/v1/ehr/\(ehrID)").status == .ok)
            let aql = #"{"q": "SELECT e/ehr_id/value FROM EHR e"}"#
            #expect(try await server.send(.post, "/openehr/v1/query/aql", body: aql).status == .ok)
            let reply = try await server.send(.get, "/metrics")
            #expect(reply.status == .ok && reply.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = reply.body
            #expect(text.contains(#"http_server_request_duration_seconds_count{http_route="/openehr/v1/ehr",http_request_method="POST",http_response_status_code="201"}"#), "\(text.prefix(2000))")
            #expect(text.contains(#"http_route="/openehr/v1/ehr/{ehr_id}""#), "\(text.prefix(3000))")
            #expect(text.contains(#"http_server_request_duration_seconds_bucket{http_route="/openehr/v1/query/aql",http_request_method="POST",http_response_status_code="200",le="0.001"}"#))
            for name in ["socle_commits_total", "socle_versions_committed_total", "socle_commit_duration_seconds_bucket", "socle_aql_queries_total", "socle_aql_query_duration_seconds_count",
                "process_resident_memory_bytes", "process_cpu_seconds_total", #"socle_projection_current{projection="fhir_search"} 1"#,
                #"socle_projection_objects_left{projection="aql_index"} 0"#]
            {
                #expect(text.contains(name), "\(name)")
            }
            let pool = engine == .sqlite ? "write" : "connections"
            for name in [#"socle_database_pool_wait_seconds_total{pool="\#(pool)"}"#, #"socle_database_pool_acquisitions_total{pool="\#(pool)"}"#,
                #"socle_database_pool_size{pool="\#(pool)"}"#,
                #"socle_database_pool_in_use{pool="\#(pool)"}"#, #"socle_database_pool_waiting{pool="\#(pool)"}"#]
            {
                #expect(text.contains(name), "\(name)")
            }
            // SQLite's group commit: groups written, and the transactions in them
            // (the pools are the process's: a PostgreSQL run may have seen SQLite's too).
            if engine == .sqlite {
                #expect(text.contains(#"socle_database_write_groups_total{pool="write"}"#))
                #expect(text.contains(#"socle_database_write_grouped_transactions_total{pool="write"}"#))
                // And its WAL checkpoints, on the checkpointer's connection and on the writer.
                #expect(text.contains(#"socle_database_wal_checkpoints_total{pool="write",on="checkpointer"}"#))
                #expect(text.contains(#"socle_database_wal_checkpoints_total{pool="write",on="writer"}"#))
            }
            #expect(!text.contains(ehrID), "an EHR id in a label")
            #expect(try await server.send(.get, "/metrics", as: TestServer.clinician).status == .forbidden)
            #expect(try await server.send(.get, "/metrics", as: nil).status == .unauthorized)
        }
    }

    /// Compositions validated and refused (by status: 400 from the RM, 422 from the template), counted as they happen.
    @Test(arguments: TestEngine.available)
    func compositionsValidatedAndRefusedAreCounted(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            let ehrID = try await server.createEHR()
            #expect(try await server.send(.post, "/openehr/v1/definition/template/adl1.4", headers: ["Content-Type": "application/xml"], body: Corpus.bloodPressureOPT).status == .created)
            let before = try await Self.values(server)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: Corpus.bloodPressure).status == .created)
            let broken = Corpus.bloodPressure.replacingOccurrences(of: "\"ehrbase_blood_pressure_simple.de.v0\"", with: "\"no.such.template\"")
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: broken).status == .unprocessableContent)
            #expect(try await server.send(.post, "/openehr/v1/ehr/\(ehrID)/composition", body: #"{"_type":"COMPOSITION"}"#).status == .badRequest)
            let after = try await Self.values(server)
            // Other tests of the process may count too: at least ours.
            #expect(after.validated >= before.validated + 1 && after.refused422 >= before.refused422 + 1 && after.refused400 >= before.refused400 + 1, "\(before) \(after)")
        }
    }

    static func values(_ server: TestServer) async throws -> (validated: Double, refused422: Double, refused400: Double) {
        let text = try await server.send(.get, "/metrics").body
        func value(_ series: String) -> Double {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        }
        return (value("socle_compositions_validated_total"), value(#"socle_compositions_refused_total{status="422"}"#),
                value(#"socle_compositions_refused_total{status="400"}"#))
    }

    @Test
    func metricsCanBePublicOrOff() async throws {
        try await TestServer.with(.sqlite, metrics: .public) { server in
            let reply = try await server.send(.get, "/metrics", as: nil)
            #expect(reply.status == .ok)
        }
        try await TestServer.with(.sqlite, metrics: .off) { server in
            let reply = try await server.send(.get, "/metrics")
            #expect(reply.status == .notFound)
        }
    }
}
