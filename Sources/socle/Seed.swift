import ArgumentParser
import Foundation
import JSONCore
import Logging
import OpenEHR
import Server
import Services
import SocleDataSet
import Storage

/// `socle seed`: a realistic data set written through the same services as
/// the API (every composition validated against its template, committed as
/// a contribution with its audit, indexed for AQL).
struct Seed: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create EHRs with vital signs, laboratory results and problem list entries, through the same services as the API.")

    @Option(help: "Number of EHRs.") var ehrs = 100
    @Option(name: .customLong("compositions-per-ehr"), help: "Compositions per EHR.") var compositionsPerEHR = 10
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Read the templates and compositions from this corpus folder instead of those built into Socle.") var corpus: String?
    @Option(help: "Concurrent writers.") var concurrency = 4
    @Option(help: "Random seed: the same seed gives the same values.") var seed: UInt64 = 1

    func run() async throws {
        var logger = Logger(label: "socle.seed")
        logger.logLevel = .warning
        let components = try await SocleServer.open(ServerConfiguration(databaseURL: database.url, database: try database.settings()), logger: logger)
        let dataSet = try DataSet(corpus: corpus.map { URL(fileURLWithPath: $0) })
        let started = Date()
        let written = try await dataSet.seed(components, ehrs: ehrs, compositionsPerEHR: compositionsPerEHR, concurrency: concurrency, seed: seed) {
            done in
            FileHandle.standardError.write(Data("  \(done) EHRs written\r".utf8))
        }
        let seconds = Date().timeIntervalSince(started)
        print("seeded \(ehrs) EHRs and \(written) compositions into \(components.store.kind.rawValue) in \(String(format: "%.1f", seconds)) s (\(Int(Double(written) / seconds)) compositions/s)")
        try await components.store.close()
    }
}

