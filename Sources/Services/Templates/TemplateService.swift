import Foundation
import JSONCore
import OpenEHR
import Storage
import Synchronization
import Templates

/// Operational templates (ITS-REST 1.0.3 §Definitions, ADL 1.4): upload,
/// list, retrieve, and the admin replace and delete.
///
/// Every commit validates against a template, so each node keeps the parsed
/// templates (and each one's FLAT reader) in memory, with the revision it
/// read. Several nodes may share one database, and another node may replace
/// or remove a template (docs/architecture.md §Several nodes): a commit
/// carries the revision it was validated against as a condition of its
/// transaction (no extra round trip), and a refusal made with a kept copy
/// (a validation or FLAT error) is checked against the current revision
/// before it is answered. Reads that serve a template's derived forms (web
/// template, example, FLAT output) check the revision first (one indexed read).
public final class TemplateService: Sendable {
    public let store: TemplateStore
    let parser = OPTParser()
    let entries = Mutex<[String: Entry]>([:])

    /// A template as this node keeps it.
    struct Entry: Sendable {
        var template: OperationalTemplate
        var revision: String
        /// Built on first use (generating and indexing the web template costs
        /// about as much as reading a FLAT composition: BENCHMARKS.md).
        var reader: FlatComposition?
    }

    /// The FHIR view of compositions, kept ready for every mapped template this node reads.
    let mappedCompositions: MappedCompositions?

    public init(store: TemplateStore, mappedCompositions: MappedCompositions? = nil) {
        self.store = store
        self.mappedCompositions = mappedCompositions
    }

    /// Parses and stores an OPT; 400 with every reason when it is not a
    /// valid OPT, 409 when its template id is taken.
    @discardableResult
    public func upload(_ opt: [UInt8]) async throws -> OperationalTemplate {
        let template = try parse(opt)
        let record = record(template, opt: opt)
        do {
            try await store.insert(record)
        } catch let error as StoreError where error.code == .conflict {
            throw ServiceError(.conflict, "template \(template.templateID) already exists; replace it through the admin API")
        }
        entries.withLock { $0[template.templateID] = Entry(template: template, revision: record.revision) }
        mappedCompositions?.use(template)
        return template
    }

    /// Admin: replaces a template that no composition uses.
    @discardableResult
    public func replace(templateID: String, with opt: [UInt8]) async throws -> OperationalTemplate {
        let template = try parse(opt)
        guard template.templateID == templateID else {
            throw ServiceError(.badRequest, "the OPT's template_id is '\(template.templateID)', not '\(templateID)'")
        }
        let record = record(template, opt: opt)
        try await mapped { try await store.replace(record) }
        entries.withLock { $0[templateID] = Entry(template: template, revision: record.revision) }
        mappedCompositions?.use(template)
        return template
    }

    /// Admin: removes a template that no composition uses.
    public func delete(templateID: String) async throws {
        try await mapped { try await store.delete(templateID) }
        forget(templateID)
        mappedCompositions?.forget(templateID)
    }

    /// Admin: removes every template, or none when any is in use.
    public func deleteAll() async throws -> Int {
        let count = try await mapped { try await store.deleteAll() }
        entries.withLock { $0.removeAll() }
        for templateID in mappedCompositions?.templateIDs ?? [] { mappedCompositions?.forget(templateID) }
        return count
    }

    /// The OPT as uploaded.
    public func opt(templateID: String) async throws -> [UInt8] {
        guard let record = try await store.template(templateID) else { throw ServiceError(.notFound, "template \(templateID) does not exist") }
        return record.opt
    }

    // MARK: Kept templates

    /// The parsed template as this node keeps it (read and parsed on first
    /// use); nil when unknown.
    public func template(_ templateID: String) async throws -> OperationalTemplate? {
        try await entry(templateID)?.template
    }

    /// The kept entry, or the stored template read and parsed.
    func entry(_ templateID: String) async throws -> Entry? {
        if let kept = entries.withLock({ $0[templateID] }) { return kept }
        return try await load(templateID)
    }

    /// The entry at the stored revision: the kept one when it is still
    /// current (one indexed read), else read again.
    func currentEntry(_ templateID: String) async throws -> Entry? {
        guard let kept = entries.withLock({ $0[templateID] }) else { return try await load(templateID) }
        if try await store.revision(templateID) == kept.revision { return kept }
        forget(templateID)
        return try await load(templateID)
    }

    func load(_ templateID: String) async throws -> Entry? {
        guard let record = try await store.template(templateID) else { return nil }
        let entry = Entry(template: try parse(record.opt), revision: record.revision)
        entries.withLock { $0[templateID] = entry }
        mappedCompositions?.use(entry.template)
        return entry
    }

    /// Whether a kept revision is out of date (then it is forgotten): asked
    /// before a refusal made with it is answered.
    func isStale(_ templateID: String, revision: String) async throws -> Bool {
        guard try await store.revision(templateID) != revision else { return false }
        forget(templateID)
        return true
    }

    func forget(_ templateID: String) {
        entries.withLock { _ = $0.removeValue(forKey: templateID) }
    }

    /// Runs a commit, and once more when a template it was validated
    /// against changed before it committed (`CommitCondition`), after
    /// forgetting the kept templates that are no longer current.
    func retryingOnChange<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError where error.code == .changed {
            let kept = entries.withLock { $0.mapValues(\.revision) }
            for (templateID, revision) in kept { _ = try await isStale(templateID, revision: revision) }
            do {
                return try await body()
            } catch let error as StoreError where error.code == .changed {
                throw ServiceError(error)
            }
        }
    }

    /// The FLAT reader and writer of a template, built once per revision;
    /// nil when the template is unknown. `current`: check the revision first.
    public func flatReader(_ templateID: String, current: Bool = false) async throws -> FlatComposition? {
        try await readerEntry(templateID, current: current)?.reader
    }

    /// The entry with its FLAT reader built.
    func readerEntry(_ templateID: String, current: Bool) async throws -> Entry? {
        guard var entry = try await current ? currentEntry(templateID) : entry(templateID) else { return nil }
        if entry.reader != nil { return entry }
        entry.reader = FlatComposition(template: entry.template)
        let built = entry
        entries.withLock { entries in
            if entries[templateID]?.revision == built.revision { entries[templateID] = built }
        }
        return built
    }

    /// The web template of a template (`WebTemplate`).
    public func webTemplate(templateID: String) async throws -> JSON {
        guard let reader = try await flatReader(templateID, current: true) else { throw ServiceError(.notFound, "template '\(templateID)' does not exist") }
        return reader.webTemplate
    }

    /// An example composition of a template, in canonical JSON or FLAT
    /// (`ExampleComposition`: every mandatory node, values the template admits).
    public func example(
        templateID: String, detail: ExampleComposition.DetailLevel = .required, uid: ObjectVersionID? = nil, flat: Bool = false
    ) async throws -> JSON {
        guard let entry = try await readerEntry(templateID, current: true), let reader = entry.reader else {
            throw ServiceError(.notFound, "template '\(templateID)' does not exist")
        }
        var example = ExampleComposition.generate(entry.template, detail: detail)
        if let uid { example = CompositionService.withUID(example, uid) }
        return flat ? .object(reader.flat(example)) : example
    }

    /// The list served by GET /definition/template/adl1.4.
    public func list() async throws -> JSON {
        .array(
            try await store.list().map { record in
                [
                    "template_id": .string(record.templateID),
                    "concept": .string(record.concept),
                    "archetype_id": .string(record.archetypeID),
                    "created_timestamp": .string(ISODateTime(microsecondsSinceEpoch: record.createdAt).description),
                ]
            })
    }

    func parse(_ opt: [UInt8]) throws -> OperationalTemplate {
        do {
            return try parser.parse(Data(opt))
        } catch {
            throw ServiceError(.badRequest, "the request body is not a valid operational template (OPT 1.4)", problems: error.problems)
        }
    }

    func record(_ template: OperationalTemplate, opt: [UInt8]) -> TemplateRecord {
        TemplateRecord(
            templateID: template.templateID, concept: template.concept, archetypeID: template.rootArchetypeID,
            createdAt: ISODateTime.now().microsecondsSinceEpoch, opt: opt, revision: UUIDText.random())
    }

    func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            throw ServiceError(error)
        }
    }
}
