import ArgumentParser
import Foundation
import JSONCore

/// `socle bench json`: parses and serialises every canonical JSON file of a
/// folder with JSONCore, and in the same run with Foundation's
/// JSONSerialization over the same bytes (the baseline).
struct JSONBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "json", abstract: "JSON parsing and serialisation against Foundation.")

    @Option(help: "Folder of .json files (searched recursively).")
    var folder = "../shared/corpus/openehr/compositions/canonical_json"
    @Option(help: "Passes over the whole folder.") var passes = 20

    func run() async throws {
        let files = try Self.jsonFiles(in: folder)
        // Files that are not JSON at all (the corpus has deliberately broken ones) are left out.
        let all = try files.map { Array(try Data(contentsOf: $0)) }
        let documents = all.filter { (try? JSONParser.parse($0)) != nil }
        let datas = documents.map { Data($0) }
        if documents.count < all.count { print("left out \(all.count - documents.count) files that are not valid JSON") }
        let bytes = documents.reduce(0) { $0 + $1.count }
        print("bench json: \(documents.count) files, \(bytes) bytes, \(passes) passes (\(folder))\n")
        print("what".padding(toLength: 40, withPad: " ", startingAt: 0) + "MB/s".leftPadded(10) + "µs/doc".leftPadded(10))

        var parsed: [JSON] = []
        let parse = try Self.time(passes) { parsed = try documents.map { try JSONParser.parse($0) } }
        Self.report("JSONCore parse", seconds: parse, bytes: bytes * passes, documents: documents.count * passes)
        let foundationParse = try Self.time(passes) { for data in datas { _ = try JSONSerialization.jsonObject(with: data) } }
        Self.report("JSONSerialization parse (baseline)", seconds: foundationParse, bytes: bytes * passes, documents: documents.count * passes)

        let objects = try datas.map { try JSONSerialization.jsonObject(with: $0) }
        let serialize = Self.time(passes) { for value in parsed { _ = JSONSerializer.bytes(value) } }
        Self.report("JSONCore serialise", seconds: serialize, bytes: bytes * passes, documents: documents.count * passes)
        let foundationSerialize = try Self.time(passes) { for object in objects { _ = try JSONSerialization.data(withJSONObject: object) } }
        Self.report("JSONSerialization serialise (baseline)", seconds: foundationSerialize, bytes: bytes * passes, documents: documents.count * passes)
        print(String(format: "\nparse: JSONCore takes %.2f× the baseline's time; serialise: %.2f×", parse / foundationParse, serialize / foundationSerialize))
    }

    static func jsonFiles(in folder: String) throws -> [URL] {
        guard let enumerator = FileManager.default.enumerator(at: URL(fileURLWithPath: folder), includingPropertiesForKeys: nil) else {
            throw BenchError("cannot read \(folder)")
        }
        let files = enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
        guard !files.isEmpty else { throw BenchError("no .json file in \(folder)") }
        return files
    }

    static func time(_ passes: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        let start = ContinuousClock.now
        for _ in 0..<passes { try body() }
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func report(_ name: String, seconds: Double, bytes: Int, documents: Int) {
        print(
            name.padding(toLength: 40, withPad: " ", startingAt: 0) + String(format: "%.1f", Double(bytes) / seconds / 1e6).leftPadded(10)
                + String(format: "%.1f", seconds / Double(documents) * 1e6).leftPadded(10))
    }
}
