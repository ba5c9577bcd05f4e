import Foundation
import JSONCore
import OpenEHR

/// What a mapping made of a composition: the FHIR resources, and what the
/// engine left out and why.
public struct FHIRMappingOutcome: Sendable {
    public var resources: [JSON]
    public var notes: [String]
}

/// openEHR → FHIR by a resolved context (FHIRconnect §Basics, §Conditions,
/// §FollowedBy, §Manual mappings, §Hierarchy mappings, §Recurrence), the
/// way back of `FHIRToOpenEHR`: the composition is read in its FLAT form
/// (`FlatComposition.flat`); each occurrence of the start mapping's
/// archetype, or of its hierarchy split, makes one resource; each method
/// maps the occurrences its openEHR path reaches to the element its FHIR
/// path names (a list gets a new item for each, a single element is
/// overwritten by the later method); a reference makes a contained resource.
public struct OpenEHRToFHIR: Sendable {
    public let context: ResolvedContext
    public let template: MappingTemplate
    /// The zone of date-times the composition gives without one (FHIR R4
    /// §2.24.0.1 dateTime: with a time, a zone SHALL be given).
    public let zone: TimeZone

    public init(context: ResolvedContext, template: MappingTemplate, zone: TimeZone = .current) {
        self.context = context
        self.template = template
        self.zone = zone
    }

    /// The resources of a FLAT composition, in the order of the occurrences
    /// that made them; a start mapping of bundles gives the bundle's entries.
    public func map(flat: JSONObject) -> FHIRMappingOutcome {
        var writer = FHIRWriter(context: context, reader: FlatReader(flat: flat, template: template), zone: zone)
        var resources: [JSON] = []
        for resource in writer.start() {
            guard let json = resource.json(resourceType: true) else { continue }
            if resource.type == "Bundle" {
                resources += (json["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
            } else {
                resources.append(json)
            }
        }
        return FHIRMappingOutcome(resources: resources, notes: writer.notes)
    }
}

/// An openEHR position on the way to FHIR: the archetype root and the
/// parent method's path, as segments, and the occurrence paths below them start from.
struct ReadPosition {
    var archetype: [String]
    var parent: [String]
    var anchor: FlatInstance
    /// The occurrence of each repeating node an enclosing method or split
    /// fixed, by node: paths that pass through it stay in it.
    var bound: [Int: String] = [:]

    /// The position at one occurrence below this one: it is fixed for what follows.
    func at(_ occurrence: FlatInstance, parent: [String]) -> ReadPosition {
        var next = ReadPosition(archetype: archetype, parent: parent, anchor: occurrence, bound: bound)
        for (node, path) in occurrence.chain { next.bound[node] = path }
        return next
    }
}

/// Where a method's FHIR paths start: the resource, the parent method's
/// element and the elements above it (for `^`).
struct BuildScope {
    /// `$resource`: the mapped resource, or in a slot the element it fills.
    let resource: FHIRElement
    /// Resource first; the last is the parent method's element.
    let chain: [FHIRElement]
    /// The resource that holds contained resources (R4 §2.3.0.5: they do not nest).
    let container: FHIRElement

    init(resource: FHIRElement, chain: [FHIRElement], container: FHIRElement? = nil) {
        self.resource = resource
        self.chain = chain
        self.container = container ?? resource
    }

    var parent: FHIRElement { chain[chain.count - 1] }

    func start(_ start: FHIRMappingPath.Start) -> (element: FHIRElement, chain: [FHIRElement])? {
        switch start {
        case .resource: return (resource, [resource])
        case .parent, .relative: return (parent, chain)
        case .ancestor(let levels):
            guard levels < chain.count else { return nil }
            return (chain[chain.count - 1 - levels], Array(chain.dropLast(levels)))
        }
    }

    func below(_ element: FHIRElement, chain: [FHIRElement]) -> BuildScope {
        BuildScope(resource: resource, chain: chain + [element], container: container)
    }
}

struct FHIRWriter {
    let context: ResolvedContext
    let reader: FlatReader
    let zone: TimeZone
    var notes: [String] = []
    /// Slots within slots are bounded (a model that slots itself).
    var depth = 0
    /// The slot models being run, each with the occurrence it runs at.
    var active: Set<String> = []

    init(context: ResolvedContext, reader: FlatReader, zone: TimeZone) {
        self.context = context
        self.reader = reader
        self.zone = zone
    }

    var template: MappingTemplate { reader.template }

    /// The resources of the start mapping: one for each occurrence of its
    /// archetype (the composition for a composition archetype) or, with a
    /// hierarchy split, of the split's openEHR path.
    mutating func start() -> [FHIRElement] {
        let model = context.start
        guard let root = reader.root else { return [] }
        let type = model.structureDefinition.map { String($0.split(separator: "/").last ?? "") } ?? ""
        guard JSONMemberKind.isResource(type) else {
            notes.append("\(model.header.name): \(type.isEmpty ? "no resource type" : "'\(type)' is not a resource type")")
            return []
        }
        var resources: [FHIRElement] = []
        for archetype in archetypeInstances(model, root: root) {
            let segments = FlatWriter.split(template.nodes[archetype.node].key)
            let position = ReadPosition(archetype: model.archetype?.contains("-COMPOSITION.") == true ? [] : segments, parent: segments, anchor: archetype)
            guard model.preprocessor.openEHRConditions.allSatisfy({ holds($0, position: position) }) else { continue }
            for anchor in splitInstances(model, position: position) {
                let resource = FHIRElement(type: type)
                let inner = position.at(anchor, parent: position.parent)
                run(model.methods, scope: BuildScope(resource: resource, chain: [resource]), position: inner)
                addProfile(to: resource)
                resources.append(resource)
            }
        }
        return resources
    }

    func archetypeInstances(_ model: ModelMapping, root: FlatInstance) -> [FlatInstance] {
        guard let archetype = model.archetype, !archetype.contains("-COMPOSITION.") else { return [root] }
        guard let node = template.archetypeRoot(archetype) else { return [] }
        return reader.instances(of: node, from: root)
    }

    /// A hierarchy split's occurrences (each a resource), or the archetype's own.
    func splitInstances(_ model: ModelMapping, position: ReadPosition) -> [FlatInstance] {
        guard let path = model.preprocessor.hierarchy?.openEHR else { return [position.anchor] }
        guard let segments = segments(path, position), let target = template.target(segments) else { return [] }
        return reader.instances(of: target.node, from: position.anchor, bound: position.bound)
    }

    /// The context's profile in `meta.profile`, so that the resource finds
    /// its context again on the way back (a profile url, not a bare type).
    func addProfile(to resource: FHIRElement) {
        // A context of the base definition claims nothing beyond the type.
        guard let profile = context.context.profileURL, profile.contains("://"), resource.type != "Bundle",
            profile != "http://hl7.org/fhir/StructureDefinition/" + resource.type
        else { return }
        let meta = resource.items("meta").first ?? FHIRElement(type: "Meta")
        if resource.items("meta").isEmpty { resource.add(meta, key: "meta", isArray: false) }
        guard !meta.items("profile").contains(where: { $0.value?.stringValue == profile }) else { return }
        meta.add(FHIRElement(type: "canonical", value: .string(profile)), key: "profile", isArray: true)
    }

    func segments(_ path: OpenEHRMappingPath, _ position: ReadPosition) -> [String]? {
        path.segments(archetype: position.archetype, parent: position.parent)
    }
}

/// A date-time without a zone given the offset `zone` has at that local time.
enum LocalTime {
    /// `2024-02-21T16:46:17` in Europe/Berlin → `2024-02-21T16:46:17+01:00`;
    /// nil for a date, or a date-time that has its zone.
    static func zoned(_ text: String, in zone: TimeZone) -> String? {
        guard let tee = text.firstIndex(of: "T") else { return nil }
        let time = text[text.index(after: tee)...]
        guard !time.hasSuffix("Z"), !time.contains("+"), !time.contains("-"), let asUTC = ISODateTime(text) else { return nil }
        let seconds = Double(asUTC.microsecondsSinceEpoch) / 1e6
        let guess = zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds))
        let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds - Double(guess)))
        let sign = offset < 0 ? "-" : "+"
        let minutes = abs(offset) / 60
        return text + sign + String(format: "%02d:%02d", minutes / 60, minutes % 60)
    }
}
