import Foundation

/// Real clients written in Python (oehrpy, fhirpy from PyPI), run against a
/// live Socle by their scripts in `scripts/`. `.ci/run` installs them and
/// sets `SOCLE_TEST_REQUIRE_CLIENTS=1`: there a missing client fails the
/// tests; elsewhere a test runs when its client can be imported.
enum PythonClients {
    static let environment = ProcessInfo.processInfo.environment
    static let python = environment["SOCLE_TEST_PYTHON"] ?? "python3"
    static let required = environment["SOCLE_TEST_REQUIRE_CLIENTS"] == "1"

    /// Whether `module` can be imported by the Python the tests use.
    static func available(_ module: String) -> Bool {
        (try? runSynchronously([python, "-c", "import \(module)"])) == 0
    }

    /// Runs a process to its end without holding a thread of the pool; its output and status.
    static func run(_ arguments: [String]) async throws -> (Int32, String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("client-\(UUID().uuidString).log")
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
