import FHIR
import Foundation
import JSONCore
import Mappings
import OpenEHR
import Storage
import Synchronization
import Templates

/// Compositions seen as FHIR resources through the loaded FHIRconnect
/// mappings (docs/architecture.md §Mapped reads): the `CompositionFHIRView`
/// the FHIR search projection keeps in the commit's transaction, whoever
/// wrote the composition (openEHR REST, FLAT, a contribution).
///
/// A composition's resources get ids made from its object id and their
/// place (`{uuid}-1`, `{uuid}-2`, … in the order the mapping gives them, the
/// results a report contains numbered after them: `SeenResources`), so
/// every version of the composition shows as a version of the same
/// resources; `meta.versionId` and `meta.lastUpdated` are the composition
/// version's; `subject` (or `patient`) names the Patient the EHR is linked to.
///
/// The view runs inside `Projection.statements(for:)`, which cannot wait,
/// so it keeps each mapped template ready (its FLAT form and engines):
/// `load(from:)` at start, `use(_:)` when a template is uploaded or
/// replaced. A composition of a mapped template this node has not
/// prepared is seen as nothing until the next `socle reindex`; the
/// composition services prepare a template before they commit with it.
public final class MappedCompositions: CompositionFHIRView {
    /// The mappings loaded; an administrator may replace them (`replace`).
    public var library: MappingLibrary { loaded.withLock { $0 } }
    let loaded: Mutex<MappingLibrary>
    /// The zone of date-times written without one.
    public let zone: TimeZone
    let prepared = Mutex<[String: Prepared]>([:])

    struct Prepared: Sendable {
        let format: FlatComposition
        let mappingTemplate: MappingTemplate
        let engines: [OpenEHRToFHIR]
        /// Each engine's context's covered elements by resource type (`coveredElements`).
        let covered: [[String: Set<String>]]
    }

    public init(library: MappingLibrary, zone: TimeZone = .current) {
        loaded = Mutex(library)
        self.zone = zone
    }

    /// The templates a loaded context maps.
    public var templateIDs: Set<String> { Set(library.contexts.map(\.context.templateID)) }

    /// Prepares every mapped template the store holds.
    public func load(from templates: TemplateService) async throws {
        for templateID in templateIDs.sorted() {
            if let template = try await templates.template(templateID) { use(template) }
        }
    }

    /// Prepares a template (again, when it was replaced); nothing when no context maps it.
    public func use(_ template: OperationalTemplate) {
        guard let ready = preparation(of: template, library) else { return }
        prepared.withLock { $0[template.templateID] = ready }
    }

    /// A template ready for the contexts of `library` that map it; nil when none does.
    func preparation(of template: OperationalTemplate, _ library: MappingLibrary) -> Prepared? {
        let contexts = library.contexts(template: template.templateID)
        guard !contexts.isEmpty else { return nil }
        let format = FlatComposition(template: template)
        let mappingTemplate = MappingTemplate(webTemplate: format.webTemplate)
        let engines = contexts.map { OpenEHRToFHIR(context: $0, template: mappingTemplate, zone: zone) }
        return Prepared(format: format, mappingTemplate: mappingTemplate, engines: engines, covered: contexts.map(Self.coveredElements))
    }

    /// Replaces the mappings (an administrator added, replaced or removed a
    /// file): the templates the new set maps are prepared first, then both
    /// are swapped, so a commit sees the old set or the new one. The
    /// compositions already stored are seen through the new set once the
    /// FHIR search projection is rebuilt.
    public func replace(_ library: MappingLibrary, templates: TemplateService) async throws {
        var fresh: [String: Prepared] = [:]
        for templateID in Set(library.contexts.map(\.context.templateID)).sorted() {
            if let template = try await templates.template(templateID), let ready = preparation(of: template, library) { fresh[templateID] = ready }
        }
        loaded.withLock { $0 = library }
        prepared.withLock { $0 = fresh }
    }

    /// Whether a template is prepared (and mapped).
    public func isPrepared(_ templateID: String) -> Bool { prepared.withLock { $0[templateID] != nil } }

    /// Forgets a removed template.
    public func forget(_ templateID: String) {
        prepared.withLock { _ = $0.removeValue(forKey: templateID) }
    }

    public func resources(of version: ProjectedVersion) -> [JSON] {
        guard let templateID = version.templateID, let document = version.document,
            let ready = prepared.withLock({ $0[templateID] })
        else { return [] }
        let flat = ready.format.flat(document)
        var seen = SeenResources()
        for (engine, covered) in zip(ready.engines, ready.covered) {
            for resource in engine.map(flat: flat).resources { seen.add(resource, covered: covered) }
        }
        seen.number(version.record.objectID)
        // A composition stored from a FHIR write keeps the resources as sent: each is read over the resource it became, under its id.
        seen.place(Self.originals(of: document))
        return seen.items.map { Self.seen($0.resource, id: $0.id, version: version.record) }
    }

    /// A mapped resource as the composition version shows it: id, meta, patient.
    static func seen(_ resource: JSON, id: String, version: VersionRecord) -> JSON {
        guard case .object(var object) = resource, let type = object["resourceType"]?.stringValue else { return resource }
        object["id"] = .string(id)
        var meta = object["meta"]?.objectValue ?? JSONObject()
        meta["versionId"] = .string(String(version.versionNumber))
        meta["lastUpdated"] = .string(ISODateTime(microsecondsSinceEpoch: version.audit.timeCommitted).description)
        object["meta"] = .object(meta)
        if let patient = version.patientID, let element = patientElement(of: type), object[element] == nil {
            object[element] = .object(JSONObject([("reference", .string(patient))]))
        }
        return .object(reorderedID(object))
    }

    /// The element naming the patient a resource is about: `subject` or
    /// `patient`, a Reference that may point to a Patient.
    static func patientElement(of type: String) -> String? {
        guard let definition = FHIRSchema.r4.type(type) else { return nil }
        return ["subject", "patient"].first { name in
            guard let element = definition.elementsByName[name], element.types.contains("Reference"), element.max == 1 else { return false }
            return element.targetTypes.isEmpty || element.targetTypes.contains("Patient")
        }
    }

    /// `resourceType`, `id` and `meta` first, as FHIR writes them.
    static func reorderedID(_ object: JSONObject) -> JSONObject {
        let head = ["resourceType", "id", "meta"]
        var ordered = JSONObject(head.compactMap { key in object[key].map { (key, $0) } })
        for member in object.members where !head.contains(member.key) { ordered[member.key] = member.value }
        return ordered
    }
}
