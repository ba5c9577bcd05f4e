import FHIR
import Foundation
import JSONCore
import OpenEHR

/// An implementation guide's package (FHIR NPM package, `.tgz`: its
/// resources as `package/*.json`), loaded into the store so that its
/// profiles check the writes that claim them (`socle fhir load-package`).
/// Its StructureDefinitions, ValueSets and CodeSystems are stored as FHIR
/// resources under their own ids, in one transaction (a PUT each: loading
/// a package again writes only what changed); its other resources
/// (examples, the ImplementationGuide, search parameters) are left out.
public struct FHIRPackage: Sendable {
    public var name: String
    public var version: String
    public var resources: [JSON]
    /// Files of the package that are not conformance resources Socle uses.
    public var skipped: Int

    /// Reads a package: the archive unpacked with the system's `tar`.
    public static func read(_ path: String) throws -> FHIRPackage {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("socle-package-\(UUIDText.random())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["tar", "-xzf", path, "-C", folder.path]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ServiceError(.badRequest, "\(path) is not a package (.tgz) that tar can read") }
        return try read(folder: folder.appendingPathComponent("package"), source: path)
    }

    /// Reads an unpacked package's folder (`package/`).
    static func read(folder: URL, source: String) throws -> FHIRPackage {
        guard let manifest = try? JSONParser.parse(Array(Data(contentsOf: folder.appendingPathComponent("package.json")))),
            let name = manifest["name"]?.stringValue
        else { throw ServiceError(.badRequest, "\(source) has no package/package.json naming the package") }
        var package = FHIRPackage(name: name, version: manifest["version"]?.stringValue ?? "", resources: [], skipped: 0)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") && $0 != "package.json" }
        for file in files.sorted() {
            let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(file)))
            guard let resource = try? JSONParser.parse(bytes), let type = resource["resourceType"]?.stringValue,
                FHIRProfiles.conformanceTypes.contains(type), resource["id"]?.stringValue != nil
            else {
                package.skipped += 1
                continue
            }
            package.resources.append(resource)
        }
        return package
    }

    /// The transaction that stores the package's resources: a PUT of each to its id.
    public var transaction: JSON {
        let entries: [JSON] = resources.map { resource in
            let reference = "\(resource["resourceType"]?.stringValue ?? "")/\(resource["id"]?.stringValue ?? "")"
            return ["resource": resource, "request": ["method": "PUT", "url": .string(reference)]]
        }
        return ["resourceType": "Bundle", "type": "transaction", "entry": .array(entries)]
    }
}

extension FHIRService {
    /// Stores a package's conformance resources in one transaction (all or
    /// none) as published: a structural error refuses it, a broken rule
    /// (implementation guides publish some: FR Core 2.2.0 slices without a
    /// discriminator, against eld-1) is returned, located, not refused.
    /// Returns how many were created and how many were already there
    /// (changed or not). Its profiles are used from the next write on.
    public func load(_ package: FHIRPackage, committal: Committal) async throws -> (created: Int, kept: Int, broken: [FHIRIssue]) {
        guard !package.resources.isEmpty else { throw ServiceError(.badRequest, "\(package.name) holds no StructureDefinition, ValueSet or CodeSystem") }
        var loader = self
        loader.rulesAsWarnings = true
        let response = try await loader.process(bundle: package.transaction, committal: committal)
        let statuses = (response["entry"]?.arrayValue ?? []).compactMap { $0["response"]?["status"]?.stringValue }
        let created = statuses.filter { $0.hasPrefix("201") }.count
        let broken = package.resources.flatMap { resource in
            FHIRValidator.validate(resource).filter(\.isError).map { issue in
                FHIRIssue(.warning, code: issue.code, location: "\(resource["resourceType"]?.stringValue ?? "")/\(resource["id"]?.stringValue ?? ""): \(issue.location)", message: issue.message)
            }
        }
        return (created, statuses.count - created, broken)
    }
}
