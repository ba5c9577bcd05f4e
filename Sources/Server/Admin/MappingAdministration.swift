import Foundation
import JSONCore
import Mappings
import OpenEHR
import Services
import Storage

/// Adding, replacing and removing FHIRconnect files on a running server
/// (issue 15 §6, docs/architecture.md §Mapping administration). The set in
/// force is the source's files (`SOCLE_MAPPINGS`: the shipped set or a folder) with the files stored
/// through the API over them (`MappingFileService`: each change a
/// contribution with its audit). A change is checked first (a file that
/// does not load is refused with its line and reason, nothing changes),
/// then stored, then the server's view of compositions takes the new set and
/// the FHIR search projection starts over to see every stored composition
/// through it.
struct MappingAdministration: Sendable {
    let source: MappingSource
    let files: MappingFileService
    let view: MappedCompositions
    let templates: TemplateService
    let projections: Projections
    /// The rebuild of the FHIR view that the last change started.
    let rebuilds = ViewRebuilds()

    /// The source's files with the live stored ones over them (same name: the stored one).
    static func library(source: MappingSource, stored: [MappingFileService.StoredFile], replacing change: (file: String, text: String?)? = nil) throws
        -> MappingLibrary
    {
        let (folderFiles, unreadable) = try MappingFolder.texts(source)
        var texts: [String: String] = Dictionary(folderFiles.map { ($0.file, $0.text) }, uniquingKeysWith: { $1 })
        for file in stored where !file.isDeleted { texts[file.file] = file.text }
        if let change { texts[change.file] = change.text }
        return MappingLibrary(files: texts.keys.sorted().map { ($0, texts[$0] ?? "") }, unreadable: unreadable.filter { texts[$0.file] == nil })
    }

    /// The set in force now (at start: the source's with the stored files).
    func reload() async throws {
        try await view.replace(Self.library(source: source, stored: try await files.files()), templates: templates)
    }

    /// PUT /admin/mappings/{file}: the file added or replaced, or 422 with its problems.
    func put(file: String, text: String, committal: Committal) async throws -> JSON {
        try Self.requireName(file)
        let candidate = try Self.library(source: source, stored: try await files.files(), replacing: (file, text))
        guard let status = candidate.files.first(where: { $0.file == file }), status.loaded else {
            let problems = candidate.files.first { $0.file == file }?.problems ?? []
            throw ServiceError(
                .unprocessable, "the mapping file '\(file)' does not load: nothing was changed",
                problems: problems.map { DecodingProblem(path: "\(file)\($0.line.map { ":\($0)" } ?? "")", message: $0.reason) })
        }
        let stored = try await files.put(file: file, text: text, committal: committal)
        try await apply()
        return Self.json(stored, folderFile: try MappingFolder.texts(source).files.contains { $0.file == file })
    }

    /// DELETE /admin/mappings/{file}: a stored file removed (its versions
    /// kept); a file of the folder is removed from the folder, not here.
    func delete(file: String, committal: Committal) async throws -> JSON {
        try Self.requireName(file)
        guard let deleted = try await files.delete(file: file, committal: committal) else {
            if try MappingFolder.texts(source).files.contains(where: { $0.file == file }) {
                throw ServiceError(.conflict, source == .shipped
                    ? "'\(file)' is a shipped mapping file: replace it (PUT), or start with SOCLE_MAPPINGS naming a folder without it"
                    : "'\(file)' is a file of the mapping folder \(source): remove it there and restart")
            }
            throw ServiceError(.notFound, "no mapping file '\(file)' was added through the API")
        }
        try await apply()
        return Self.json(deleted, folderFile: false)
    }

    /// The new set in force, and the FHIR view of compositions rebuilt
    /// through it (FHIR searches answer 503 until it is).
    func apply() async throws {
        try await reload()
        try await rebuilds.restart(projections)
    }

    /// GET /admin/mappings/{file}/history: every version stored through the API, with its audit and text.
    func history(file: String) async throws -> JSON {
        try Self.requireName(file)
        let versions = try await files.history(file: file)
        guard !versions.isEmpty else { throw ServiceError(.notFound, "no mapping file '\(file)' was added through the API") }
        return .array(versions.map { version in
            guard case .object(var object) = Self.json(version.file, folderFile: false) else { return .null }
            object["reindex"] = nil
            object["change_type"] = .string(version.changeType)
            if let description = version.description { object["description"] = .string(description) }
            object["text"] = .string(version.file.text)
            return .object(object)
        })
    }

    static func requireName(_ file: String) throws {
        guard MappingFileService.isValidName(file) else {
            throw ServiceError(.badRequest, "'\(file)' is not a mapping file name: letters, digits, '.', '_' or '-', ending in .yml or .yaml")
        }
    }

    static func json(_ stored: MappingFileService.StoredFile, folderFile: Bool) -> JSON {
        var object = JSONObject([
            ("file", .string(stored.file)), ("version", JSON(stored.version)), ("committer", .string(stored.committer)),
            ("time_committed", .string(stored.timeCommitted.description)), ("deleted", .bool(stored.isDeleted)),
        ])
        if folderFile { object["replaces_folder_file"] = .bool(true) }
        object["reindex"] = "started"
        return .object(object)
    }
}

/// One rebuild of the FHIR view at a time: a change stops the rebuild the
/// one before it started (which would otherwise hold the tables the new one
/// drops: PostgreSQL found the two deadlocked) and starts its own. A rebuild
/// that fails is taken up again by the server's projection maintenance.
actor ViewRebuilds {
    var running: Task<Void, Never>?

    func restart(_ projections: Projections) async throws {
        running?.cancel()
        await running?.value
        // The server's own projection maintenance may hold the tables too: a deadlock is tried again.
        for attempt in 1...3 {
            do {
                try await projections.invalidate(FHIRSearchProjection.name)
                break
            } catch let error as StoreError where error.code == .conflict && attempt < 3 {
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
        running = Task.detached {
            _ = try? await projections.rebuild(FHIRSearchProjection.name, owner: "mappings-\(ProcessInfo.processInfo.processIdentifier)", force: false)
        }
    }
}
