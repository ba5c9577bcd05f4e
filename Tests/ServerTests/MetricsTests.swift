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
            #expect(!text.contains(ehrID), "an EHR id in a label")
            #expect(try await server.send(.get, "/metrics", as: TestServer.clinician).status == .forbidden)
            #expect(try await server.send(.get, "/metrics", as: nil).status == .unauthorized)
        }
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
