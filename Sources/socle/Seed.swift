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
        abstract: "Write a data set through the same services as the API.", subcommands: [SeedCompositions.self, SeedFHIR.self],
        defaultSubcommand: SeedCompositions.self)
}

struct SeedCompositions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "openehr", abstract: "Create EHRs with vital signs, laboratory results and problem list entries (the default).")

    @Option(help: "Number of EHRs.") var ehrs = 100
    @Option(name: .customLong("compositions-per-ehr"), help: "Compositions per EHR.") var compositionsPerEHR = 10
    @OptionGroup var database: DatabaseOptions
    @Option(help: "Read the templates and compositions from this corpus folder instead of those built into Socle.") var corpus: String?
    @Option(help: "Concurrent writers.") var concurrency = 4
    @Option(help: "Random seed: the same seed gives the same values.") var seed: UInt64 = 1

    func run() async throws {
        var logger = Logger(label: "socle.seed")
        logger.logLevel = .warning
        let (url, settings) = try database.resolved()
        let components = try await SocleServer.open(ServerConfiguration(databaseURL: url, database: settings), logger: logger)
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


/// `socle seed fhir --copies N`: the Synthea corpus imported N times, each
/// copy of a patient with ids of its own and dates shifted (`SyntheaCopy`),
/// through the import's transaction path; the shared organisations and
/// practitioners once.
struct SeedFHIR: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir", abstract: "Import the Synthea patients N times, each copy with new ids and dates shifted by a week per copy.")

    @Option(help: "Folder of Synthea transaction bundles.") var folder = "../shared/corpus/fhir/synthea"
    @Option(help: "Copies of each patient (1: the corpus as it is).") var copies = 10
    @OptionGroup var store: StoreOptions

    func run() async throws {
        guard copies >= 1 else { throw ValidationError("--copies must be at least 1") }
        let components = try await store.open("socle.seed")
        let started = ContinuousClock.now
        let report = try await Self.seed(components.fhirService, folder: folder, copies: copies)
        print(FHIRImport.summary(report, seconds: (ContinuousClock.now - started).seconds))
        try await components.store.close()
        if !report.refused.isEmpty { throw ExitCode(1) }
    }

    /// Imports the folder's bundles: those starting `0-` (organisations,
    /// practitioners) once, every other `copies` times; the next bundle is
    /// read and parsed while one is imported.
    static func seed(_ service: FHIRService, folder: String, copies: Int) async throws -> FHIRImporter.Report {
        let files = try FHIRImportFiles.list([folder]).filter { $0.kind == .bundle }
        guard !files.isEmpty else { throw ValidationError("no FHIR Bundle in \(folder)") }
        let importer = FHIRImporter(service: service)
        let committal = Committal(committer: .identified(name: "socle seed"), description: "socle seed fhir")
        let started = ContinuousClock.now
        var report = FHIRImporter.Report()
        await FHIRImport.eachLoaded(files) { position, file, loaded in
            let name = (file.path as NSString).lastPathComponent
            guard case .bundle(let bundle) = loaded else {
                if case .failed(let message) = loaded { report.refused.append("\(name): \(message)") }
                return
            }
            let times = name.hasPrefix("0-") ? 1 : copies
            for number in 0..<times {
                report.add(await importer.importBundle(SyntheaCopy(number: number).copy(bundle), source: "\(name) copy \(number)", committal: committal))
            }
            FHIRImport.progress(resources: report.resources, fraction: Double(position + 1) / Double(files.count), since: started)
        }
        FileHandle.standardError.write(Data("\n".utf8))
        return report
    }
}
