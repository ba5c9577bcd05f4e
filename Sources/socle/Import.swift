import ArgumentParser
import Foundation
import JSONCore
import Logging
import OpenEHR
import Server
import Services
import Storage

/// `socle import fhir PATH…`: FHIR Bundles and NDJSON into the store,
/// through the API's transaction path (`FHIRImporter`), with a progress
/// line, a summary per resource type and every refused entry.
struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Import data into the store.", subcommands: [FHIRImport.self])
}

struct FHIRImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "Import FHIR R4 transaction or batch Bundles (.json, .json.gz, .json.bz2) and NDJSON files.",
        discussion: """
            Files are read in name order; folders one level deep. Entries whose resource carries an id are stored under \
            that id, so a second import writes nothing new; entries with ifNoneExist match what is there.
            """)

    @Argument(help: "Files or folders to import.") var paths: [String]
    @OptionGroup var store: StoreOptions
    @Option(help: "Who the import is recorded as (the committer of its contributions).") var user = "socle-import"

    func run() async throws {
        let files = try FHIRImportFiles.list(paths)
        guard !files.isEmpty else { throw ValidationError("no .json, .json.gz, .json.bz2 or .ndjson file in \(paths.joined(separator: " "))") }
        let components = try await store.open("socle.import")
        let importer = FHIRImporter(service: components.fhirService)
        let committal = Committal(committer: .identified(name: user), description: "socle import fhir")
        let started = ContinuousClock.now
        let totalBytes = max(1, files.reduce(0) { $0 + $1.size })
        var readBytes = 0
        var report = FHIRImporter.Report()
        await Self.eachLoaded(files) { _, file, loaded in
            let name = (file.path as NSString).lastPathComponent
            switch loaded {
            case .bundle(let bundle): report.add(await importer.importBundle(bundle, source: name, committal: committal))
            case .ndjson(let text): report.add(await importer.importNDJSON(text, source: name, committal: committal))
            case .failed(let message): report.refused.append("\(name): \(message)")
            }
            readBytes += file.size
            Self.progress(resources: report.resources, fraction: Double(readBytes) / Double(totalBytes), since: started)
        }
        FileHandle.standardError.write(Data("\n".utf8))
        print(Self.summary(report, seconds: (ContinuousClock.now - started).seconds))
        try await components.store.close()
        if !report.refused.isEmpty { throw ExitCode(1) }
    }

    /// Each file read, decompressed and parsed, in order; the next one is
    /// loaded while `body` handles this one.
    static func eachLoaded(
        _ files: [(path: String, kind: FHIRImportFiles.Kind, size: Int)],
        _ body: (Int, (path: String, kind: FHIRImportFiles.Kind, size: Int), Loaded) async -> Void
    ) async {
        var next: Task<Loaded, Never>? = files.first.map { file in Task.detached { load(file) } }
        for (position, file) in files.enumerated() {
            let loaded = await next?.value ?? .failed("nothing read")
            next = position + 1 < files.count ? Task.detached { [file = files[position + 1]] in load(file) } : nil
            await body(position, file, loaded)
        }
    }

    enum Loaded: Sendable {
        case bundle(JSON)
        case ndjson(String)
        case failed(String)
    }

    static func load(_ file: (path: String, kind: FHIRImportFiles.Kind, size: Int)) -> Loaded {
        do {
            let bytes = try FHIRImportFiles.read(file.path)
            switch file.kind {
            case .bundle: return .bundle(try JSONParser.parse(bytes))
            case .ndjson: return .ndjson(String(decoding: bytes, as: UTF8.self))
            }
        } catch let error as JSONParseError {
            return .failed("not JSON: \(error.message) at line \(error.line)")
        } catch {
            return .failed("\(error)")
        }
    }

    static func progress(resources: Int, fraction: Double, since started: ContinuousClock.Instant) {
        let seconds = max(0.001, (ContinuousClock.now - started).seconds)
        let left = fraction > 0 ? seconds / fraction - seconds : 0
        let width = 30
        let filled = min(width, Int(Double(width) * fraction))
        let line = "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + "\(resources) resources, \(Int(Double(resources) / seconds))/s, \(Int(left.rounded())) s left   "
        FileHandle.standardError.write(Data(("\r" + line).utf8))
    }

    static func summary(_ report: FHIRImporter.Report, seconds: Double) -> String {
        let types = Set(report.created.keys).union(report.updated.keys).union(report.unchanged.keys).sorted()
        var lines = ["\(report.resources) resources in \(String(format: "%.1f", seconds)) s (\(Int(Double(report.resources) / max(seconds, 0.001)))/s)"]
        lines.append("type".padding(toLength: 28, withPad: " ", startingAt: 0) + "created  updated  unchanged")
        for type in types {
            let counts = [report.created[type], report.updated[type], report.unchanged[type]].map { String($0 ?? 0).leftPadded(8) }
            lines.append(type.padding(toLength: 28, withPad: " ", startingAt: 0) + counts.joined(separator: " "))
        }
        if !report.refused.isEmpty {
            lines.append("refused (\(report.refused.count)):")
            lines.append(contentsOf: report.refused.map { "  " + $0 })
        }
        return lines.joined(separator: "\n")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
