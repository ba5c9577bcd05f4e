import ArgumentParser
import Foundation
import JSONCore
import Mappings
import Server
import ShippedMappings
import Templates

/// `socle mappings check <folder>`: reads a folder of FHIRconnect mapping
/// files as the server loads them and prints every problem with its file,
/// line and reason, then each context that resolves; `map` runs one input
/// through a context; `export` writes the shipped set out.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mappings", abstract: "FHIRconnect mappings.", subcommands: [Check.self, Map.self, Export.self])

    /// A folder as `SOCLE_MAPPINGS` loads it (`shipped`: the shipped set); a path that is no folder is the command's error.
    static func load(_ folder: String) throws -> MappingLibrary {
        do {
            return try MappingFolder.load(MappingSource(named: folder))
        } catch {
            throw ValidationError(error.description)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the shipped mapping files and their templates into a folder.",
            discussion: "A folder to start from: edit it and name it in SOCLE_MAPPINGS (upload its .opt files first). Existing files are not replaced.")

        @Argument(help: "The folder (made when missing).") var folder: String

        func run() async throws {
            let manager = FileManager.default
            try manager.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let files = ShippedMappings.files + ShippedMappings.templates
            if let taken = files.first(where: { manager.fileExists(atPath: folder + "/" + $0.file) }) {
                throw ValidationError("\(folder)/\(taken.file) exists: nothing was written")
            }
            for (file, text) in files { try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + file)) }
            print("\(ShippedMappings.files.count) mapping files and \(ShippedMappings.templates.count) templates written to \(folder)")
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a folder of FHIRconnect mapping files (as SOCLE_MAPPINGS loads it).",
            discussion: "Exits 1 when a file cannot be used.")

        @Argument(help: "The folder (its subfolders are read too), or shipped.") var folder: String

        func run() async throws {
            let library = try MappingsCommand.load(folder)
            print(Self.text(library))
            if library.files.contains(where: { !$0.loaded }) { throw ExitCode(1) }
        }

        static func text(_ library: MappingLibrary) -> String {
            let loaded = library.files.filter(\.loaded).count
            var lines = library.files.flatMap(\.problems).map(\.description)
            lines.append("\(library.files.count) files, \(loaded) loaded, \(library.files.count - loaded) refused; \(library.contexts.count) contexts")
            lines += library.contexts.map { resolved in
                "  \(resolved.context.header.name): template \(resolved.context.templateID), profile \(resolved.context.profileURL ?? "none"), "
                    + "\(resolved.models.count) model mappings, starts at \(resolved.start.header.name)"
            }
            return lines.joined(separator: "\n")
        }
    }

    struct Map: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Map one input through a folder's context for a template, either way.",
            discussion: """
                A canonical composition gives its FHIR resources (a collection bundle); a FHIR resource or \
                bundle gives the composition, validated against the template. What the mapping left out \
                and what the validation found go to standard error; exits 1 when the composition is not \
                valid or the context does not apply.
                """)

        @Argument(help: "The folder of FHIRconnect mapping files, or shipped.") var folder: String
        @Option(help: "The operational template (.opt) the context maps.") var template: String
        @Option(help: "The context's name, when several map the template.") var context: String?
        @Option(help: "ctx/language of the composition made.") var language = "en"
        @Option(help: "ctx/territory of the composition made.") var territory = "FR"
        @Option(help: "ctx/composer_name of the composition made.") var composer = "socle mappings map"
        @Option(help: "Zone of date-times a composition gives without one (IANA name).") var zone = TimeZone.current.identifier
        @Argument(help: "The input: a composition (canonical JSON) or a FHIR resource or bundle (JSON).") var input: String

        func run() async throws {
            let library = try MappingsCommand.load(folder)
            let optData = try Data(contentsOf: URL(fileURLWithPath: template))
            let parsed = try OPTParser().parse(optData)
            let candidates = library.contexts(template: parsed.templateID)
            guard let resolved = candidates.first(where: { context == nil || $0.context.header.name == context }) else {
                throw ValidationError("no context of \(folder) maps template \(parsed.templateID)\(context.map { " named \($0)" } ?? "")")
            }
            guard let timeZone = TimeZone(identifier: zone) else { throw ValidationError("'\(zone)' is not a time zone") }
            let json = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: input))))
            let values: [String: JSON] = ["language": .string(language), "territory": .string(territory), "composer_name": .string(composer)]
            let outcome: MappingRun.Outcome
            do {
                outcome = try MappingRun(context: resolved, template: parsed).run(json, contextValues: values, zone: timeZone)
            } catch {
                throw ValidationError("the FLAT the mapping made is refused: " + error.problems.map(\.description).joined(separator: "; "))
            }
            try Self.report(outcome)
        }

        static func report(_ outcome: MappingRun.Outcome) throws {
            func warn(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }
            switch outcome {
            case .resources(let mapped):
                let entries = mapped.resources.map { JSON.object(JSONObject([("resource", $0)])) }
                print(JSONSerializer.string(.object(JSONObject([("resourceType", "Bundle"), ("type", "collection"), ("entry", .array(entries))]))))
                for note in mapped.notes { warn("note: " + note) }
            case .composition(let composition, let notes, let problems):
                print(JSONSerializer.string(composition))
                for note in notes { warn("note: " + note) }
                for problem in problems { warn("invalid: \(problem)") }
                if !problems.isEmpty { throw ExitCode(1) }
            case .notApplicable:
                warn("the context's preprocessor conditions do not hold for the input")
                throw ExitCode(1)
            }
        }
    }
}
