import Foundation
import JSONCore
import Mappings
import Services
import ShippedMappings

/// Where the FHIRconnect files in force come from (`SOCLE_MAPPINGS`): the
/// set Socle ships (the default), or a folder of the operator's.
public enum MappingSource: Sendable, Equatable, CustomStringConvertible {
    /// `ShippedMappings`: its templates are installed at start when missing.
    case shipped
    /// The `.yml` and `.yaml` files of a folder and its subfolders.
    case folder(String)

    /// What `SOCLE_MAPPINGS` says: `shipped` (also unset), `none` (no
    /// mappings), else a folder; nil for none.
    public static func setting(_ text: String?) -> MappingSource? {
        switch text {
        case nil: .shipped
        case "none": nil
        case let name?: MappingSource(named: name)
        }
    }

    /// A set named on a command line: `shipped`, else a folder.
    public init(named name: String) {
        self = name == "shipped" ? .shipped : .folder(name)
    }

    public var description: String {
        switch self {
        case .shipped: "shipped"
        case .folder(let path): path
        }
    }
}

/// The FHIRconnect files of a mapping source, read as one set: a file that
/// cannot be used is kept with its problems and the others still load.
public enum MappingFolder {
    public static func load(_ source: MappingSource) throws(ConfigurationError) -> MappingLibrary {
        let (files, unreadable) = try texts(source)
        return MappingLibrary(files: files, unreadable: unreadable)
    }

    /// The text of every file of the source, by path in it.
    static func texts(_ source: MappingSource) throws(ConfigurationError) -> (files: [(file: String, text: String)], unreadable: [(file: String, reason: String)]) {
        switch source {
        case .shipped: (ShippedMappings.files, [])
        case .folder(let path): try texts(path)
        }
    }

    /// The text of every `.yml` and `.yaml` file of the folder and its subfolders, by path in it.
    static func texts(_ path: String) throws(ConfigurationError) -> (files: [(file: String, text: String)], unreadable: [(file: String, reason: String)]) {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), isFolder.boolValue else {
            throw ConfigurationError("SOCLE_MAPPINGS '\(path)' is not a folder")
        }
        let names = ((try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [])
            .filter { $0.hasSuffix(".yml") || $0.hasSuffix(".yaml") }.sorted()
        var files: [(file: String, text: String)] = []
        var unreadable: [(file: String, reason: String)] = []
        for name in names {
            if let text = try? String(contentsOfFile: path + "/" + name, encoding: .utf8) {
                files.append((name, text))
            } else {
                unreadable.append((name, "the file cannot be read as UTF-8 text"))
            }
        }
        return (files, unreadable)
    }

    /// What `GET /admin/mappings` answers: each file with its load status
    /// and problems, each context with its template (and whether it is
    /// loaded), FHIR profile, model mappings and methods by direction.
    static func report(_ library: MappingLibrary, source: MappingSource?, loadedTemplates: Set<String>, stored: [MappingFileService.StoredFile] = []) -> JSON {
        let added = Dictionary(stored.filter { !$0.isDeleted }.map { ($0.file, $0) }, uniquingKeysWith: { $1 })
        let files: [JSON] = library.files.map { status in
            var entry = JSONObject([("file", .string(status.file)), ("loaded", .bool(status.loaded))])
            // A file added through the API: its version and who last changed it, when.
            if let file = added[status.file] {
                entry["source"] = "api"
                entry["version"] = JSON(file.version)
                entry["committer"] = .string(file.committer)
                entry["time_committed"] = .string(file.timeCommitted.description)
            } else {
                entry["source"] = source == .shipped ? "shipped" : "folder"
            }
            if let document = status.document {
                entry["name"] = .string(document.header.name)
                entry["grammar"] = .string(document.header.grammar.description)
                switch document {
                case .context: entry["type"] = "context"
                case .model(let model): entry["type"] = model.kind == .model ? "model" : "extension"
                }
            }
            if !status.problems.isEmpty {
                entry["problems"] = .array(status.problems.map { problem in
                    var item = JSONObject()
                    if let line = problem.line { item["line"] = JSON(line) }
                    if let column = problem.column { item["column"] = JSON(column) }
                    item["reason"] = .string(problem.reason)
                    return .object(item)
                })
            }
            return .object(entry)
        }
        let contexts: [JSON] = library.contexts.map { resolved in
            let context = resolved.context
            var directions: [String: Int] = ["both": 0, "fhir->openehr": 0, "openehr->fhir": 0]
            for model in resolved.models.values { count(model.methods, into: &directions) }
            var entry = JSONObject([
                ("name", .string(context.header.name)), ("file", .string(context.header.file)),
                ("template_id", .string(context.templateID)), ("template_loaded", .bool(loadedTemplates.contains(context.templateID))),
            ])
            if let profile = context.profileURL { entry["profile"] = .string(profile) }
            entry["start"] = .string(resolved.start.header.name)
            entry["models"] = .array(resolved.models.keys.sorted().map { .string($0) })
            entry["extensions"] = .array(context.extensions.map { .string($0) })
            entry["methods"] = .object(JSONObject(directions.sorted { $0.key < $1.key }.map { ($0.key, JSON($0.value)) }))
            return .object(entry)
        }
        var report = JSONObject()
        report["folder"] = source.map { .string($0.description) } ?? .null
        report["files"] = .array(files)
        report["contexts"] = .array(contexts)
        return .object(report)
    }

    static func count(_ methods: [MappingMethod], into directions: inout [String: Int]) {
        for method in methods {
            let key = switch method.direction {
            case .both: "both"
            case .fhirToOpenEHR: "fhir->openehr"
            case .openEHRToFHIR: "openehr->fhir"
            }
            directions[key, default: 0] += 1
            count(method.followedBy, into: &directions)
            count(method.reference?.methods ?? [], into: &directions)
        }
    }
}
