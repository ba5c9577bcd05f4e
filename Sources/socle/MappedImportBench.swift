import ArgumentParser
import Foundation
import JSONCore
import OpenEHR
import Server
import Services

/// `socle bench mapped-import` (issue 15 §7): Synthea patients' bundles
/// through the import path (`FHIRImporter`, the API's transaction path) on a
/// fresh database without mappings and on another with mappings in force
/// (the shipped vital signs set by default, or a folder and the template it
/// maps), the same bundles in the same run: the import rate of each, the
/// compositions the mapped one stored, and the FHIR totals of both.
struct MappedImportBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mapped-import", abstract: "The Synthea import with mappings off and on.")

    @Option(help: "Folder of Synthea bundles (.json or .json.bz2).") var folder = "../shared/corpus/fhir/synthea"
    @Option(help: "Patients' bundles to import (after the two bundles of organisations and practitioners).") var bundles = 20
    @Option(help: "shipped, or a folder of FHIRconnect files (Tests/ServerTests/Fixtures/mappings/body-weight: a body-weight context).") var mappings = "shipped"
    @Option(help: "With a folder: the OPT its contexts map.") var template = "../shared/corpus/openehr/templates/valid/all_types/cistec.openehr.body_weight.v1.opt"
    @Option(help: "Port for the benchmark servers on 127.0.0.1.") var port = 18_094

    func run() async throws {
        let files = Array(try FHIRImportFiles.list([folder]).prefix(2 + bundles))
        let parsed = try files.map { try JSONParser.parse(try FHIRImportFiles.read($0.path)) }
        let source = MappingSource(named: mappings)
        let opt = source == .shipped ? nil : try Array(Data(contentsOf: URL(fileURLWithPath: template)))
        print("Socle \(SocleServer.version) — bench mapped-import, \(parsed.count - 2) patients' bundles, SQLite, \(ProcessInfo.processInfo.activeProcessorCount) cores\n")
        print("| import | resources | compositions | seconds | resources/s | Observations found |")
        print("|---|---:|---:|---:|---:|---:|")
        var rates: [Double] = []
        for mapped in [false, true] {
            let server = try await BenchServer(database: nil, port: port + (mapped ? 1 : 0)) { if mapped { $0.mappings = source } }
            if mapped, let opt { try await server.send(.POST, "/openehr/v1/definition/template/adl1.4", body: opt, contentType: "application/xml", expected: 201) }
            let importer = FHIRImporter(service: server.components.fhirService)
            let committal = Committal(committer: .identified(name: "bench"), description: "bench mapped-import")
            for bundle in parsed.prefix(2) { _ = await importer.importBundle(bundle, source: "directory", committal: committal) }
            var report = FHIRImporter.Report()
            let start = ContinuousClock.now
            for (file, bundle) in zip(files, parsed).dropFirst(2) { report.add(await importer.importBundle(bundle, source: file.path, committal: committal)) }
            let seconds = (ContinuousClock.now - start).benchSeconds
            guard report.refused.isEmpty else { throw BenchError("the import refused: \(report.refused.prefix(3).joined(separator: "\n"))") }
            let compositions = try await server.components.store.versions.count(rmType: "COMPOSITION")
            let found = try JSONParser.parse(Array(buffer: try await server.send(.GET, "/fhir/Observation?_summary=count", expected: 200)))["total"]
            let rate = Double(report.resources) / seconds
            rates.append(rate)
            print(
                "| \(mapped ? "mappings on (\(source))" : "no mapping") | \(report.resources) | \(compositions) | \(String(format: "%.2f", seconds)) | "
                    + "\(String(format: "%.0f", rate)) | \(found.map { JSONSerializer.string($0) } ?? "?") |")
            try await server.stop()
        }
        print("\nwith the mappings: \(String(format: "%.2f", rates[1] / rates[0]))× the rate without")
    }
}
