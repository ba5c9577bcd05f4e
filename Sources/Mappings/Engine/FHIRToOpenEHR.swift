import FHIR
import JSONCore
import OpenEHR

/// What a mapping made of a FHIR resource: the FLAT composition (to be read
/// by `FlatComposition` and validated like any other), and what the engine
/// left out and why.
public struct MappingOutcome: Sendable {
    public var flat: JSONObject
    /// A path the template lacks (FHIRconnect §Model mappings: 0..0 fields
    /// are not executed), a value that does not convert, a slot or reference
    /// that cannot be followed.
    public var notes: [String]
    /// The references (as written: `Observation/1`, `urn:uuid:…`, `#1`) whose
    /// resources a reference mapping took into the composition, in order.
    public var followed: [String] = []
    /// The references a reference mapping could not follow: the input does
    /// not hold what they name.
    public var unresolved: [String] = []
}

/// FHIR → openEHR by a resolved context (FHIRconnect §Basics, §Conditions,
/// §FollowedBy, §Manual mappings, §Hierarchy mappings, §Recurrence): each
/// method maps the elements its FHIR path reaches to the node its openEHR
/// path names; a repeating node not fixed by an enclosing method gets a new
/// occurrence for each element (lists append), a single one is overwritten
/// by the later method.
public struct FHIRToOpenEHR: Sendable {
    public let context: ResolvedContext
    public let template: MappingTemplate

    public init(context: ResolvedContext, template: MappingTemplate) {
        self.context = context
        self.template = template
    }

    /// The FLAT composition of `resource`; nil when the start mapping's
    /// preprocessor conditions do not hold for it (the context does not apply).
    /// `references` are the resources references may name; by default, for a
    /// bundle, its entries; each resource's contained resources (`#id`) always (`FHIRCursor`).
    public func map(_ resource: JSON, references: [String: JSON]? = nil) -> MappingOutcome? {
        let named = references ?? Self.references(in: resource)
        var writer = FlatWriter(template: template, context: context, references: named)
        var applied = false
        for item in resources(resource) {
            applied = writer.apply(context.start, resource: FHIRCursor(resource: item, references: writer.references), at: nil, bindings: [:]) || applied
        }
        guard applied else { return nil }
        return MappingOutcome(flat: Self.withRubrics(Self.compacted(writer.flat)), notes: writer.notes, followed: writer.followed, unresolved: writer.unresolved)
    }

    /// The FLAT composition with each repeating node's occurrences numbered
    /// from 0 without gaps, in their order: an occurrence is taken for each
    /// element a method iterates (each entry of a bundle), also for those a
    /// later condition leaves unwritten (a bundle's weights among its heights),
    /// and FLAT indexes are positions.
    static func compacted(_ flat: JSONObject) -> JSONObject {
        // Each occurrence's path (with its parents' indexes as written) → the indexes present.
        var present: [String: Set<Int>] = [:]
        let keys = flat.members.map { member -> (path: [Substring], suffix: Substring) in
            let bar = member.key.firstIndex(of: "|") ?? member.key.endIndex
            return (member.key[..<bar].split(separator: "/", omittingEmptySubsequences: false), member.key[bar...])
        }
        for key in keys {
            for (position, segment) in key.path.enumerated() {
                guard let (name, index) = Self.occurrence(segment) else { continue }
                present[key.path[..<position].joined(separator: "/") + "/" + name, default: []].insert(index)
            }
        }
        guard present.values.contains(where: { $0.max() != $0.count - 1 }) else { return flat }
        let ranks = present.mapValues { indexes in Dictionary(uniqueKeysWithValues: indexes.sorted().enumerated().map { ($0.element, $0.offset) }) }
        var result = JSONObject()
        for (key, member) in zip(keys, flat.members) {
            let path = key.path.enumerated().map { position, segment -> String in
                guard let (name, index) = Self.occurrence(segment), let rank = ranks[key.path[..<position].joined(separator: "/") + "/" + name]?[index] else {
                    return String(segment)
                }
                return name + ":" + String(rank)
            }
            result[path.joined(separator: "/") + key.suffix] = member.value
        }
        return result
    }

    /// A FLAT path segment's node id and occurrence (`any_event:3`); nil for a segment without one.
    static func occurrence(_ segment: Substring) -> (String, Int)? {
        guard let colon = segment.lastIndex(of: ":"), let index = Int(segment[segment.index(after: colon)...]) else { return nil }
        return (String(segment[..<colon]), index)
    }

    /// A coded text of the openEHR terminology whose text is its code's
    /// rubric but for case takes the rubric as written (RM data types
    /// §DV_CODED_TEXT: the value is the rubric of the code): a mapping's
    /// constant "Completed" for ISM state 532 is "completed", as openFHIR
    /// writes it. Another text is left as the mapping gives it.
    static func withRubrics(_ flat: JSONObject) -> JSONObject {
        var result = flat
        for (key, value) in flat.members where key.hasSuffix("|terminology") && value.stringValue == "openehr" {
            let base = key.dropLast("|terminology".count)
            guard let code = flat[base + "|code"]?.stringValue, let text = flat[base + "|value"]?.stringValue,
                let rubric = OpenEHRTerminology.shared.rubrics(of: code).first(where: { $0.lowercased() == text.lowercased() })
            else { continue }
            result[base + "|value"] = .string(rubric)
        }
        return result
    }

    /// A bundle's entries by `fullUrl` and by `Type/id`, as references name them.
    public static func references(in bundle: JSON) -> [String: JSON] {
        var byReference: [String: JSON] = [:]
        for entry in bundle["entry"]?.arrayValue ?? [] {
            guard let item = entry["resource"] else { continue }
            if let url = entry["fullUrl"]?.stringValue { byReference[url] = item }
            if let type = item["resourceType"]?.stringValue, let id = item["id"]?.stringValue { byReference[type + "/" + id] = item }
        }
        return byReference
    }

    /// What the start mapping maps: the input itself, or, for a bundle when
    /// the start mapping is not of bundles, each entry of the resource type
    /// it maps (carrying the context's profile, when it names one), all into
    /// one composition.
    func resources(_ input: JSON) -> [JSON] {
        let mapped = context.start.structureDefinition.map { String($0.split(separator: "/").last ?? "") }
        guard input["resourceType"]?.stringValue == "Bundle", let mapped, mapped != "Bundle" else { return [input] }
        let profile = context.context.profileURL
        let entries = (input["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }.filter { $0["resourceType"]?.stringValue == mapped }
        let profiled = entries.filter { entry in entry["meta"]?["profile"]?.arrayValue?.contains { $0.stringValue == profile } == true }
        return profiled.isEmpty ? entries : profiled
    }
}

/// An openEHR position: the archetype root and the parent method's node, as
/// path segments (`/data[at0001]`), and the occurrences fixed so far.
struct OpenEHRPosition {
    var archetype: [String]
    var parent: [String]
    var bindings: [Int: Int]
}

struct FlatWriter {
    let template: MappingTemplate
    let context: ResolvedContext
    let references: [String: JSON]
    var flat = JSONObject()
    var notes: [String] = []
    /// The references followed into the input's resources, and those it does not hold (`MappingOutcome`).
    var followed: [String] = []
    var unresolved: [String] = []
    /// The next occurrence of a repeating node, by its FLAT path without index.
    var next: [String: Int] = [:]
    /// Slots within slots are bounded (a model that slots itself).
    var depth = 0

    init(template: MappingTemplate, context: ResolvedContext, references: [String: JSON]) {
        self.template = template
        self.context = context
        self.references = references
    }

    /// Runs a model mapping on `resource` with its archetype at `root` (the
    /// slot's path; nil for the start: the archetype's node in the template,
    /// or the composition). False when its preprocessor conditions fail.
    mutating func apply(_ model: ModelMapping, resource: FHIRCursor, at root: [String]?, bindings: [Int: Int]) -> Bool {
        let scope = FHIRScope(resource: resource, parent: resource)
        guard model.preprocessor.fhirConditions.allSatisfy(scope.holds) else { return false }
        guard depth < 16 else {
            notes.append("\(model.header.name): slots nest deeper than 16 levels")
            return true
        }
        guard let archetype = root ?? archetypeRoot(model) else {
            notes.append("\(model.header.name): the template has no node of archetype \(model.archetype ?? "?")")
            return true
        }
        var position = OpenEHRPosition(archetype: archetype, parent: archetype, bindings: bindings)
        if let node = template.target(archetype) { _ = flatPath(node.node, &position.bindings) }
        // A hierarchy split: one occurrence of its openEHR path for this resource.
        if let hierarchy = model.preprocessor.hierarchy, let path = hierarchy.openEHR,
            let segments = self.segments(path, position), let node = template.target(segments)
        {
            _ = flatPath(node.node, &position.bindings)
        }
        depth += 1
        run(model.methods, scope: scope, position: position)
        depth -= 1
        return true
    }

    func archetypeRoot(_ model: ModelMapping) -> [String]? {
        guard let archetype = model.archetype else { return nil }
        if archetype.contains("-COMPOSITION.") { return [] }
        return template.archetypeRoot(archetype).map { Self.split(template.nodes[$0].key) }
    }

    static func split(_ key: String) -> [String] {
        key.split(separator: "/").map { "/" + $0 }
    }

    func segments(_ path: OpenEHRMappingPath, _ position: OpenEHRPosition) -> [String]? {
        path.segments(archetype: position.archetype, parent: position.parent)
    }

    /// The FLAT path of a node, each repeating node on the way at its bound
    /// occurrence or, unbound, at a new one (then bound).
    mutating func flatPath(_ node: Int, _ bindings: inout [Int: Int]) -> String {
        var path = ""
        for index in template.chain(node) {
            let item = template.nodes[index]
            path += path.isEmpty ? item.id : "/" + item.id
            guard item.repeats else { continue }
            let occurrence: Int
            if let bound = bindings[index] {
                occurrence = bound
            } else {
                occurrence = next[path, default: 0]
                next[path] = occurrence + 1
                bindings[index] = occurrence
            }
            path += ":\(occurrence)"
        }
        return path
    }
}

extension OpenEHRMappingPath {
    /// The absolute path segments (`/data[at0001]`) of the path, from the
    /// archetype root's and the parent method's; nil for a bare `$reference`.
    func segments(archetype: [String], parent: [String]) -> [String]? {
        let steps = segments
        switch start {
        case .archetype: return archetype + steps
        case .composition: return steps
        case .parent: return parent + steps
        case .reference: return steps.isEmpty ? nil : parent + steps
        case .relative(let up): return Array(parent.dropLast(up)) + steps
        }
    }
}
