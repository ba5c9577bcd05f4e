import ArgumentParser
import Foundation
import Logging
import Server
import Storage
import Synchronization

/// `socle reindex [--projection NAME]`: rebuilds projections (the AQL node
/// index, …) from the stored versions, in the foreground, with a progress
/// bar. Servers on the same database keep serving meanwhile; the queries
/// that need the projection answer 503 until it is rebuilt.
struct Reindex: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild derived indexes (projections) from the stored versions.",
        discussion: "Projections: \(Store.standardProjections.map(\.name).joined(separator: ", ")). Without --projection, every one is rebuilt.")

    @Option(help: "The projection to rebuild (default: every one).") var projection: String?
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        var logger = Logger(label: "socle.reindex")
        logger.logLevel = .warning
        let (url, settings) = try database.resolved()
        var configuration = ServerConfiguration(databaseURL: url, database: settings)
        // The FHIR view of compositions follows the mappings the servers load.
        configuration.mappings = MappingSource.setting(ProcessInfo.processInfo.environment["SOCLE_MAPPINGS"])
        let components = try await SocleServer.open(configuration, logger: logger)
        let store = components.store
        let names = projection.map { [$0] } ?? store.projections.all.map { $0.name }
        let owner = "reindex-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            for name in names {
                let bar = ProgressBar(name: name)
                try await store.projections.rebuild(name, owner: owner, force: true) { bar.show($0) }
                FileHandle.standardError.write(Data("\n".utf8))
                print(bar.summary)
            }
        } catch let error as StoreError {
            try? await store.close()
            throw ValidationError(error.message)
        }
        try await store.close()
    }
}

/// A one-line progress bar on standard error: count, rate, time left.
final class ProgressBar: Sendable {
    let name: String
    let started = ContinuousClock.now
    let progress = ProjectionProgress()
    let last = Mutex<ProjectionState?>(nil)

    init(name: String) { self.name = name }

    func show(_ state: ProjectionState) {
        last.withLock { $0 = state }
        guard let line = progress.line(state, every: .milliseconds(200)) else { return }
        let width = 30
        let filled = state.total.map { $0 > 0 ? min(width, width * state.done / $0) : width } ?? 0
        let bar = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
        FileHandle.standardError.write(Data(("\r" + bar + line + "   ").utf8))
    }

    var summary: String {
        let state = last.withLock { $0 }
        return state.map { ProjectionProgress.describe($0, since: started, from: 0, now: .now) } ?? "\(name): nothing to rebuild"
    }
}
