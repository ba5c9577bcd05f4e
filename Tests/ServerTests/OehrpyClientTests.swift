import Foundation
import SocleTestSupport
import Testing

/// A real client: the oehrpy SDK (PyPI, ITS-REST 1.1, written against
/// EHRbase) drives a live Socle through `scripts/oehrpy_client_run.py`,
/// unchanged: server info, templates, web template, examples, EHR and its
/// status, compositions in FLAT and canonical JSON, versions, AQL, stored
/// queries, directory, contribution, admin EHR delete. Its EHRbase flavour
/// calls `/rest/openehr/v1`, `/rest/status`, `/rest/admin` and FLAT by
/// `format=`; its generic flavour the ITS-REST 1.1 media types.
///
/// `.ci/run` installs oehrpy and requires it (`PythonClients`).
@Suite("Real clients: oehrpy")
struct OehrpyClientTests {
    static let available = PythonClients.available("oehrpy")

    @Test(.enabled(if: available || PythonClients.required), arguments: TestEngine.available, ["ehrbase", "generic"])
    func oehrpyDrivesSocle(engine: TestEngine, flavour: String) async throws {
        try #require(Self.available, "SOCLE_TEST_REQUIRE_CLIENTS=1 but \(PythonClients.python) cannot import oehrpy (pip install oehrpy)")
        try await TestServer.with(engine, live: true) { server in
            let port = try #require(server.port)
            let root = Corpus.repositoryRoot
            let (status, output) = try await PythonClients.run([
                PythonClients.python, root.appendingPathComponent("scripts/oehrpy_client_run.py").path, "http://127.0.0.1:\(port)",
                TestServer.admin.name, TestServer.admin.password,
                Corpus.root.appendingPathComponent("openehr/templates/valid/aql_data_load/external/ehrbase.testcase06.v0.opt").path,
                Corpus.root.appendingPathComponent("openehr/compositions/flat/aql_data_load/external/ehrbase.testcase06.v0__compo1_test_set_3_flat.json").path,
                flavour,
            ])
            #expect(status == 0, "\(output)")
            // Every step ran: none failed, and the count is the script's (a step list cut short fails too).
            #expect(output.contains("oehrpy (\(flavour)): \(flavour == "ehrbase" ? 21 : 20) passed, 0 failed"), "\(output)")
        }
    }
}
