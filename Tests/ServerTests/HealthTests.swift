import Foundation
import JSONCore
import SocleTestSupport
import Storage
import Testing

@testable import Server

/// `GET /health/live` and `GET /health/ready`: unauthenticated JSON, at the
/// root and under `/rest`; ready names each check, and answers 503 when the
/// schema is not the binary's or a projection is not current; a database
/// that does not answer in time is reported after the timeout, not later.
@Suite("Health")
struct HealthTests {
    @Test(arguments: TestEngine.available)
    func liveAndReady(engine: TestEngine) async throws {
        try await TestServer.with(engine) { server in
            for prefix in ["", "/rest"] {
                let live = try await server.send(.get, prefix + "/health/live", as: nil)
                #expect(live.status == .ok && live.json["status"] == "up", "\(live.body)")
            }
            // The whole suite runs at once: on a loaded machine the database
            // may miss the 2 s the check allows (`aCheckThatDoesNotAnswerTimesOut`);
            // asked again, it answers.
            var ready = try await server.send(.get, "/health/ready", as: nil)
            for _ in 0..<5 where ready.json["checks"]?["database"]?["reason"] == "no answer within the timeout" {
                ready = try await server.send(.get, "/health/ready", as: nil)
            }
            #expect(ready.status == .ok && ready.json["status"] == "up", "\(ready.body)")
            let checks = try #require(ready.json["checks"])
            #expect(checks["database"]?["status"] == "up" && checks["database"]?["kind"] == .string(engine.rawValue))
            #expect(checks["schema"]?["status"] == "up" && checks["schema"]?["version"] == checks["schema"]?["expected"])
            #expect(checks["projections"]?["projections"]?["fhir_search"]?["phase"] == "current")
            #expect(checks["projections"]?["projections"]?["aql_index"]?["phase"] == "current")

            // A projection waiting to be rebuilt: not ready, and which one says so.
            try await server.database.database.transaction([SQLStatement("UPDATE projection SET state = 'stale' WHERE name = 'fhir_search'")])
            let stale = try await server.send(.get, "/health/ready", as: nil)
            #expect(stale.status == .serviceUnavailable && stale.json["status"] == "down", "\(stale.body)")
            #expect(stale.json["checks"]?["projections"]?["projections"]?["fhir_search"]?["phase"] == "stale")
            #expect(stale.json["checks"]?["database"]?["status"] == "up")
            try await server.database.database.transaction([SQLStatement("UPDATE projection SET state = 'current' WHERE name = 'fhir_search'")])

            // A schema behind the binary's.
            try await server.database.database.transaction([SQLStatement("DELETE FROM schema_migration WHERE version = (SELECT MAX(version) FROM schema_migration)")])
            let behind = try await server.send(.get, "/health/ready", as: nil)
            #expect(behind.status == .serviceUnavailable && behind.json["checks"]?["schema"]?["status"] == "down", "\(behind.body)")
        }
    }

    /// The check gives up after its timeout even while the work goes on
    /// (work that would take an hour: waiting for it would hang the test).
    @Test
    func aCheckThatDoesNotAnswerTimesOut() async throws {
        await #expect(throws: HealthRoutes.TimedOut.self) {
            try await HealthRoutes.within(.milliseconds(50)) { try await Task.sleep(for: .seconds(3600)) }
        }
        try await HealthRoutes.within(.seconds(60)) {}
    }
}

/// `GET /`: the API roots, as JSON for a client and as a page for a browser; public.
@Suite("Root")
struct RootTests {
    @Test
    func theRootNamesTheAPIs() async throws {
        try await TestServer.with(.sqlite) { server in
            let json = try await server.send(.get, "/", as: nil)
            #expect(json.status == .ok && json.json["apis"]?["/fhir"] != nil && json.json["apis"]?["/openehr/v1"] != nil, "\(json.body)")
            let page = try await server.send(.get, "/", as: nil, headers: ["Accept": "text/html,application/xhtml+xml"])
            #expect(page.status == .ok && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.body.contains(#"<a href="/fhir">"#) && page.body.contains(#"<a href="/openehr/v1">"#))
        }
    }
}
