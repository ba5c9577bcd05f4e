import Foundation
import JSONCore
import OpenEHR
import Storage

/// Bulk import of FHIR data (`socle import fhir`): transaction and batch
/// Bundles and NDJSON files, through the same transaction path as the API
/// (`FHIRService.process`).
///
/// Importing twice does not duplicate: a POST entry whose resource carries
/// an id (Synthea's do: the id of its `urn:uuid` fullUrl) is imported as a
/// PUT to that id, and a PUT that changes nothing writes no version; entries
/// with `ifNoneExist` (Synthea's organisations, locations, practitioners)
/// find what the first import created. Data with neither ids nor
/// identifiers is created again.
public struct FHIRImporter: Sendable {
    public let service: FHIRService

    public init(service: FHIRService) {
        self.service = service
    }

    /// What an import did, by resource type, and what it refused.
    public struct Report: Sendable {
        public var created: [String: Int] = [:]
        public var updated: [String: Int] = [:]
        public var unchanged: [String: Int] = [:]
        public var refused: [String] = []

        public init() {}

        public var resources: Int { created.values.reduce(0, +) + updated.values.reduce(0, +) + unchanged.values.reduce(0, +) }

        public mutating func add(_ other: Report) {
            created.merge(other.created, uniquingKeysWith: +)
            updated.merge(other.updated, uniquingKeysWith: +)
            unchanged.merge(other.unchanged, uniquingKeysWith: +)
            refused += other.refused
        }
    }

    /// Imports one Bundle (`source` names it in the report). A transaction
    /// refused as a whole is reported, not thrown: the import goes on.
    public func importBundle(_ bundle: JSON, source: String, committal: Committal) async -> Report {
        var report = Report()
        let prepared = Self.withClientIDs(bundle)
        let response: JSON
        do {
            response = try await service.process(bundle: prepared, committal: committal)
        } catch let error as ServiceError {
            report.refused.append("\(source): \(error.message)" + error.problems.prefix(5).map { "\n  \($0.path): \($0.message)" }.joined())
            return report
        } catch {
            report.refused.append("\(source): \(error)")
            return report
        }
        let requests = prepared["entry"]?.arrayValue ?? []
        for (index, entry) in (response["entry"]?.arrayValue ?? []).enumerated() {
            let status = entry["response"]?["status"]?.stringValue ?? ""
            let type = requests[safe: index]?["resource"]?["resourceType"]?.stringValue ?? requests[safe: index]?["request"]?["url"]?.stringValue ?? "?"
            let method = requests[safe: index]?["request"]?["method"]?.stringValue
            let unchanged = entry["response"]?["outcome"]?["issue"]?.arrayValue?.first?["code"]?.stringValue == "informational"
            switch status.prefix(3) {
            case "201": report.created[type, default: 0] += 1
            case "200" where (method == "PUT" || method == "PATCH") && !unchanged: report.updated[type, default: 0] += 1
            case "200": report.unchanged[type, default: 0] += 1
            case "204": break
            default:
                let message = entry["response"]?["outcome"]?["issue"]?.arrayValue?.first?["diagnostics"]?.stringValue ?? status
                report.refused.append("\(source) entry \(index) (\(type)): \(message)")
            }
        }
        return report
    }

    /// Imports NDJSON (one resource a line, R4 §Bulk Data): the lines in
    /// transactions of `chunk` resources, each a PUT to its id (or a POST).
    public func importNDJSON(_ text: String, source: String, committal: Committal, chunk: Int = 500) async -> Report {
        var report = Report()
        var entries: [JSON] = []
        var lineNumber = 0
        func flush() async {
            guard !entries.isEmpty else { return }
            let bundle = JSON.object(JSONObject([("resourceType", "Bundle"), ("type", "transaction"), ("entry", .array(entries))]))
            report.add(await importBundle(bundle, source: "\(source) lines \(lineNumber - entries.count + 1)–\(lineNumber)", committal: committal))
            entries.removeAll(keepingCapacity: true)
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            guard let resource = try? JSONParser.parse(Array(line.utf8)), let type = resource["resourceType"]?.stringValue else {
                report.refused.append("\(source) line \(lineNumber): not a FHIR resource in JSON")
                continue
            }
            entries.append(["resource": resource, "request": ["method": "POST", "url": .string(type)]])
            if entries.count == chunk { await flush() }
        }
        await flush()
        return report
    }

    /// The Bundle with each POST of a resource that has an id (and no
    /// `ifNoneExist`) turned into a PUT to that id, so that the data keeps
    /// its ids and a second import finds them.
    public static func withClientIDs(_ bundle: JSON) -> JSON {
        guard case .object(var object) = bundle, case .array(let entries)? = object["entry"] else { return bundle }
        object["entry"] = .array(entries.map { entry in
            guard case .object(var item) = entry, case .object(var request)? = item["request"], request["method"]?.stringValue == "POST",
                request["ifNoneExist"] == nil, let type = item["resource"]?["resourceType"]?.stringValue, let id = item["resource"]?["id"]?.stringValue,
                (try? FHIRService.requireID(id)) != nil
            else { return entry }
            request["method"] = "PUT"
            request["url"] = .string(type + "/" + id)
            item["request"] = .object(request)
            return .object(item)
        })
        return .object(object)
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}

/// The files an import reads: Bundles in `.json`, `.json.gz`, `.json.bz2`,
/// and `.ndjson` (also compressed), in name order (Synthea's `0-…` files
/// with organisations and practitioners sort first, before the patients
/// whose conditional references name them). Compressed files are read
/// through the system's `gzip` and `bzip2`.
public enum FHIRImportFiles {
    public enum Kind: Sendable { case bundle, ndjson }

    /// The files under `paths` (files, or folders read one level deep).
    public static func list(_ paths: [String]) throws -> [(path: String, kind: Kind, size: Int)] {
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else { throw ServiceError(.notFound, "\(path) does not exist") }
            if isFolder.boolValue {
                files += try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { (path as NSString).appendingPathComponent($0) }
            } else {
                files.append(path)
            }
        }
        return files.compactMap { file in
            let name = file.lowercased()
            let base = name.replacingOccurrences(of: ".gz", with: "").replacingOccurrences(of: ".bz2", with: "")
            let kind: Kind? = base.hasSuffix(".ndjson") ? .ndjson : base.hasSuffix(".json") ? .bundle : nil
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            return kind.map { (file, $0, size) }
        }
    }

    /// A file's bytes, decompressed.
    public static func read(_ path: String) throws -> [UInt8] {
        let tool: String? = path.hasSuffix(".gz") ? "gzip" : path.hasSuffix(".bz2") ? "bzip2" : nil
        guard let tool else { return Array(try Data(contentsOf: URL(fileURLWithPath: path))) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool, "-dc", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ServiceError(.badRequest, "\(path): \(tool) could not decompress it") }
        return Array(data)
    }
}
