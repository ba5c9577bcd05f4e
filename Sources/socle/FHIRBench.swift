import ArgumentParser
import FHIR
import Foundation
import JSONCore

/// `socle bench fhir`: every resource of the Synthea bundles parsed (with
/// its structure checked), indexed for every R4 search parameter of its
/// type, and serialised; in the same run, Foundation's JSONSerialization
/// parsing and serialising the same bytes (the baseline).
struct FHIRBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fhir", abstract: "FHIR parsing, search indexing and serialisation against Foundation.")

    @Option(help: "Folder of Synthea bundles (.json or .json.bz2).") var folder = "../shared/corpus/fhir/synthea"
    @Option(help: "Passes over all bundles.") var passes = 3

    func run() async throws {
        let bundles = try Self.load(folder)
        let entryBytes: [[UInt8]] = try bundles.flatMap { bundle -> [[UInt8]] in
            guard case .array(let entries)? = try JSONParser.parse(bundle)["entry"] else { return [] }
            return entries.compactMap { $0["resource"].map { JSONSerializer.bytes($0) } }
        }
        let bytes = entryBytes.reduce(0) { $0 + $1.count }
        let datas = entryBytes.map { Data($0) }
        print("bench fhir: \(bundles.count) bundles, \(entryBytes.count) resources, \(bytes) bytes of resource JSON, \(passes) passes\n")
        print("what".padding(toLength: 52, withPad: " ", startingAt: 0) + "resources/s".leftPadded(13) + "µs/res".leftPadded(9) + "MB/s".leftPadded(8))
        let count = entryBytes.count * passes
        func report(_ name: String, _ seconds: Double) {
            print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%.0f", Double(count) / seconds).leftPadded(13)
                + String(format: "%.1f", seconds / Double(count) * 1e6).leftPadded(9)
                + String(format: "%.1f", Double(bytes * passes) / seconds / 1e6).leftPadded(8))
        }

        let jsonOnly = try JSONBench.time(passes) { for bytes in entryBytes { _ = try JSONParser.parse(bytes) } }
        report("JSON parse only (JSONCore, no FHIR check)", jsonOnly)
        // Each stage is timed like its baseline: results are dropped as they
        // come (holding 92,114 trees at once would time the page faults of
        // first touching the memory as well).
        let parse = try JSONBench.time(passes) { for bytes in entryBytes { _ = try FHIRResource.parse(bytes) } }
        report("parse + structure check (FHIRResource.parse)", parse)
        let resources = try entryBytes.map { try FHIRResource.parse($0) }
        let parsedJSON = resources.map(\.json)
        let check = JSONBench.time(passes) { for json in parsedJSON { _ = FHIRValidator.validate(json, level: .structure) } }
        report("  of which the structure check alone", check)
        let full = JSONBench.time(passes) { for json in parsedJSON { _ = FHIRValidator.validate(json) } }
        report("full validation (rules, bindings, invariants)", full)
        let foundationParse = try JSONBench.time(passes) { for data in datas { _ = try JSONSerialization.jsonObject(with: data) } }
        report("JSONSerialization parse (baseline)", foundationParse)

        var entries = 0
        var failures: [String] = []
        let indexer = SearchIndexer.r4
        let extract = JSONBench.time(passes) {
            entries = 0
            for resource in resources { entries += indexer.entries(for: resource.json, failures: &failures).count }
        }
        report("search index entries, every R4 parameter", extract)

        let serialise = JSONBench.time(passes) { for resource in resources { _ = resource.serialized() } }
        report("serialise (JSONSerializer)", serialise)
        let objects = try datas.map { try JSONSerialization.jsonObject(with: $0) }
        let foundationSerialise = try JSONBench.time(passes) { for object in objects { _ = try JSONSerialization.data(withJSONObject: object) } }
        report("JSONSerialization serialise (baseline)", foundationSerialise)

        report("all three stages", parse + extract + serialise)
        report("JSONSerialization parse + serialise (baseline)", foundationParse + foundationSerialise)
        print(String(format: "\n%d index entries per pass (%.1f per resource); %d expression failures",
                     entries, Double(entries) / Double(entryBytes.count), failures.count / max(passes + 1, 1)))
        print(String(format: "parse + check: %.2f× the baseline's parse time; serialise: %.2f×; the three stages: %.2f× Foundation's parse + serialise",
                     parse / foundationParse, serialise / foundationSerialise, (parse + extract + serialise) / (foundationParse + foundationSerialise)))
    }

    /// The bundles' bytes, decompressing `.bz2` files with the bzip2 tool.
    static func load(_ folder: String) throws -> [[UInt8]] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".json") || $0.hasSuffix(".json.bz2") }.sorted()
        guard !files.isEmpty else { throw BenchError("no Synthea bundle in \(folder)") }
        return try files.map { name in
            let path = (folder as NSString).appendingPathComponent(name)
            guard name.hasSuffix(".bz2") else { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["bzip2", "-dc", path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw BenchError("bzip2 could not read \(path)") }
            return Array(data)
        }
    }
}
