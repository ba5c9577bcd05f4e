import ArgumentParser
import Foundation
import OpenEHR
import Server
import Services

/// `socle fhir …`: administration of the FHIR face.
struct FHIRCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fhir", abstract: "Administer the FHIR face.", subcommands: [LoadPackage.self])
}

/// `socle fhir load-package FILE.tgz`: an implementation guide's profiles,
/// value sets and code systems stored, so that writes claiming its profiles
/// are checked against them (FR Core is built in).
struct LoadPackage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-package",
        abstract: "Load an implementation guide's FHIR package (.tgz): its profiles check the resources that claim them.",
        discussion: """
            The package's StructureDefinitions (with a snapshot), ValueSets and CodeSystems are stored as FHIR resources under \
            their ids, in one audited transaction; loading it again writes only what changed. A running server reads them at \
            its next start (or at once, when they are written through its API).
            """)

    @Argument(help: "The package file (.tgz, as the FHIR package registry serves it).") var file: String
    @OptionGroup var store: StoreOptions
    @Option(help: "Who the load is recorded as (the committer of its contribution).") var user = "socle-admin"

    func run() async throws {
        let package = try FHIRPackage.read(file)
        let components = try await store.open("socle.fhir")
        do {
            let committal = Committal(committer: .identified(name: user), description: "socle fhir load-package \(package.name)#\(package.version)")
            let (created, kept, broken) = try await components.fhirService.load(package, committal: committal)
            let refused = try await components.fhirProfiles.reload(from: components.store.versions)
            print("\(package.name)#\(package.version): \(package.resources.count) conformance resources (\(created) new, \(kept) already stored), "
                + "\(package.skipped) other files left out; \(components.fhirProfiles.registry.profiles.count) profiles held")
            for message in refused { print("not usable as a profile: \(message)") }
            for issue in broken { print("stored as published, but breaks an R4 rule: \(issue.location): \(issue.message)") }
        } catch {
            try? await components.store.close()
            throw error
        }
        try await components.store.close()
    }
}
