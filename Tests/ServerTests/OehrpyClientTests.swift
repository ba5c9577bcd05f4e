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
/// `.ci/run` installs oehrpy and sets `SOCLE_TEST_REQUIRE_OEHRPY=1`: there
/// the suite fails when it cannot import it; elsewhere it runs when it can.
@Suite("Real clients: oehrpy")
struct OehrpyClientTests {
    static let environment = ProcessInfo.processInfo.environment
    static let python = environment["SOCLE_TEST_PYTHON"] ?? "python3"
    static let required = environment["SOCLE_TEST_REQUIRE_OEHRPY"] == "1"
    static let available: Bool = (try? runSynchronously([python, "-c", "import oehrpy"])) == 0

    @Test(.enabled(if: available || required), arguments: TestEngine.available, ["ehrbase", "generic"])
    func oehrpyDrivesSocle(engine: TestEngine, flavour: String) async throws {
        try #require(Self.available, "SOCLE_TEST_REQUIRE_OEHRPY=1 but \(Self.python) cannot import oehrpy (pip install oehrpy)")
        try await TestServer.with(engine, live: true) { server in
            let port = try #require(server.port)
            let root = Corpus.repositoryRoot
            let (status, output) = try await Self.run([
                Self.python, root.appendingPathComponent("scripts/oehrpy_client_run.py").path, "http://127.0.0.1:\(port)",
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

    /// Runs a process to its end without holding a thread of the pool; its output and status.
    static func run(_ arguments: [String]) async throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("oehrpy-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        try handle.close()
        return (status, (try? String(contentsOf: log, encoding: .utf8)) ?? "")
    }

    static func runSynchronously(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
