import Foundation
import SocleTestSupport
import Testing

/// A real FHIR client: fhirpy (PyPI) drives a live Socle through
/// `scripts/fhirpy_client_run.py`, unchanged: create, read, update, patch
/// (its JSON merge patch, as `save(fields:)` sends too), history, a
/// transaction, delete. `.ci/run` installs fhirpy and requires it (`PythonClients`).
@Suite("Real clients: fhirpy")
struct FhirpyClientTests {
    static let available = PythonClients.available("fhirpy")

    @Test(.enabled(if: available || PythonClients.required), arguments: TestEngine.available)
    func fhirpyDrivesSocle(engine: TestEngine) async throws {
        try #require(Self.available, "SOCLE_TEST_REQUIRE_CLIENTS=1 but \(PythonClients.python) cannot import fhirpy (pip install fhirpy)")
        try await TestServer.with(engine, live: true) { server in
            let port = try #require(server.port)
            let (status, output) = try await PythonClients.run([
                PythonClients.python, Corpus.repositoryRoot.appendingPathComponent("scripts/fhirpy_client_run.py").path,
                "http://127.0.0.1:\(port)/fhir", TestServer.admin.name, TestServer.admin.password,
            ])
            #expect(status == 0, "\(output)")
            #expect(output.contains("fhirpy: 7 passed, 0 failed"), "\(output)")
        }
    }
}
