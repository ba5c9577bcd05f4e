import ArgumentParser
import Mappings
import Server

/// `socle mappings check <folder>`: reads a folder of FHIRconnect mapping
/// files as the server loads them and prints every problem with its file,
/// line and reason, then each context that resolves.
struct MappingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "mappings", abstract: "FHIRconnect mappings.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a folder of FHIRconnect mapping files (as SOCLE_MAPPINGS loads it).",
            discussion: "Exits 1 when a file cannot be used.")

        @Argument(help: "The folder (its subfolders are read too).") var folder: String

        func run() async throws {
            let library: MappingLibrary
            do {
                library = try MappingFolder.load(folder)
            } catch {
                throw ValidationError(error.description)
            }
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
}
