import ArgumentParser
import Foundation
import Logging
import Server
import Services
import Storage

/// `socle audit verify`: checks the access trace's chain and signed checkpoints.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "The access trace.", subcommands: [VerifyTrace.self])

    struct VerifyTrace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check the access trace: every entry chained to the previous one, every checkpoint signed by the trace's key.",
            discussion: "Exits 1 when an entry was changed, removed or moved, or a checkpoint does not verify.")

        @OptionGroup var database: DatabaseOptions
        @Option(name: .customLong("key"), help: "The trace's key file (SOCLE_ACCESS_TRACE_KEY; default beside the SQLite database).")
        var keyPath: String?

        func run() async throws {
            var flags = database.flags
            flags[Settings.accessTraceKey.name] = keyPath
            let values = try settingValues(flags: flags)
            let (url, settings) = try DatabaseOptions.resolved(values)
            let location = try DatabaseLocation(url)
            if case .sqlite(let path) = location, !FileManager.default.fileExists(atPath: path) {
                throw ValidationError("there is no database at \(path)")
            }
            let store = try Store.open(location, settings: settings, logger: Logger(label: "socle.audit"))
            let report: AccessTraceReport
            do {
                let trace = try AccessTraceStore.beside(store)
                let path = values.value(Settings.accessTraceKey)?.value ?? trace.defaultKeyPath
                let publicKey = try AccessTraceKey.publicKey(path: path)
                report = try await AccessTrace.verify(trace, publicKey: publicKey)
                try await trace.close()
                try await store.close()
            } catch {
                try? await store.close()
                throw error
            }
            print(Self.text(report))
            if !report.isIntact { throw ExitCode(1) }
        }

        static func text(_ report: AccessTraceReport) -> String {
            let range = report.first.map { " (\($0) to \(report.last ?? $0))" } ?? ""
            var lines = ["\(report.entries) entries\(range), \(report.checkpoints) signed checkpoints: " + (report.isIntact ? "intact" : "ALTERED")]
            lines += report.problems.map { "  " + $0 }
            return lines.joined(separator: "\n")
        }
    }
}
