import Foundation
import JSONCore
import OpenEHR
import Storage
import Synchronization
import Templates

/// Operational templates (ITS-REST 1.0.3 §Definitions, ADL 1.4): upload,
/// list, retrieve, and the admin replace and delete. Parsed templates are
/// kept in memory, since every composition commit validates against one.
public final class TemplateService: Sendable {
    public let store: TemplateStore
    let parser = OPTParser()
    let cache = Mutex<[String: OperationalTemplate]>([:])
    /// FLAT readers (each holding its template's web template, indexed) by
    /// template id; `generation` changes whenever a template is replaced or
    /// removed, so that a reader built from the old template is not kept.
    let readers = Mutex<(generation: Int, byID: [String: FlatComposition])>((0, [:]))

    public init(store: TemplateStore) {
        self.store = store
    }

    /// Parses and stores an OPT; 400 with every reason when it is not a
    /// valid OPT, 409 when its template id is taken.
    @discardableResult
    public func upload(_ opt: [UInt8]) async throws -> OperationalTemplate {
        let template = try parse(opt)
        do {
            try await store.insert(record(template, opt: opt))
        } catch let error as StoreError where error.code == .conflict {
            throw ServiceError(.conflict, "template \(template.templateID) already exists; replace it through the admin API")
        }
        cache.withLock { $0[template.templateID] = template }
        return template
    }

    /// Admin: replaces a template that no composition uses.
    @discardableResult
    public func replace(templateID: String, with opt: [UInt8]) async throws -> OperationalTemplate {
        let template = try parse(opt)
        guard template.templateID == templateID else {
            throw ServiceError(.badRequest, "the OPT's template_id is '\(template.templateID)', not '\(templateID)'")
        }
        try await mapped { try await store.replace(record(template, opt: opt)) }
        cache.withLock { $0[templateID] = template }
        forgetReaders(templateID)
        return template
    }

    /// Admin: removes a template that no composition uses.
    public func delete(templateID: String) async throws {
        try await mapped { try await store.delete(templateID) }
        cache.withLock { _ = $0.removeValue(forKey: templateID) }
        forgetReaders(templateID)
    }

    /// Admin: removes every template, or none when any is in use.
    public func deleteAll() async throws -> Int {
        let count = try await mapped { try await store.deleteAll() }
        cache.withLock { $0.removeAll() }
        forgetReaders(nil)
        return count
    }

    /// The OPT as uploaded.
    public func opt(templateID: String) async throws -> [UInt8] {
        guard let record = try await store.template(templateID) else { throw ServiceError(.notFound, "template \(templateID) does not exist") }
        return record.opt
    }

    /// The parsed template, from memory or the store; nil when unknown.
    public func template(_ templateID: String) async throws -> OperationalTemplate? {
        if let cached = cache.withLock({ $0[templateID] }) { return cached }
        guard let record = try await store.template(templateID) else { return nil }
        let template = try parse(record.opt)
        cache.withLock { $0[templateID] = template }
        return template
    }

    /// The FLAT reader and writer of a template, built once (generating and
    /// indexing the web template costs about as much as reading a FLAT
    /// composition: BENCHMARKS.md); nil when the template is unknown.
    public func flatReader(_ templateID: String) async throws -> FlatComposition? {
        let generation = readers.withLock { $0.generation }
        if let reader = readers.withLock({ $0.byID[templateID] }) { return reader }
        guard let template = try await template(templateID) else { return nil }
        let reader = FlatComposition(template: template)
        readers.withLock { state in
            if state.generation == generation { state.byID[templateID] = reader }
        }
        return reader
    }

    func forgetReaders(_ templateID: String?) {
        readers.withLock { state in
            state.generation += 1
            if let templateID { state.byID[templateID] = nil } else { state.byID.removeAll() }
        }
    }

    /// The web template of a template (`WebTemplate`).
    public func webTemplate(templateID: String) async throws -> JSON {
        guard let reader = try await flatReader(templateID) else { throw ServiceError(.notFound, "template '\(templateID)' does not exist") }
        return reader.webTemplate
    }

    /// An example composition of a template, in canonical JSON or FLAT
    /// (`ExampleComposition`: every mandatory node, values the template admits).
    public func example(templateID: String, flat: Bool = false) async throws -> JSON {
        guard let template = try await template(templateID) else { throw ServiceError(.notFound, "template '\(templateID)' does not exist") }
        let example = ExampleComposition.generate(template)
        guard flat else { return example }
        guard let reader = try await flatReader(templateID) else { throw ServiceError(.notFound, "template '\(templateID)' does not exist") }
        return .object(reader.flat(example))
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
            createdAt: ISODateTime.now().microsecondsSinceEpoch, opt: opt)
    }

    func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            switch error.code {
            case .notFound: throw ServiceError(.notFound, error.message)
            case .conflict: throw ServiceError(.conflict, error.message)
            default: throw error
            }
        }
    }
}
