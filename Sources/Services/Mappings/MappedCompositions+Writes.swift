import FHIR
import JSONCore
import Mappings
import OpenEHR
import Templates

/// FHIR → openEHR for writes (issue 15 §2, docs/architecture.md §Mapped
/// writes): which context stores a resource as a composition, its FLAT
/// form, and the resource as read back, keeping what the mapping does not
/// cover from the original the composition keeps.
extension MappedCompositions {
    /// A resource as a mapping stores it: the template, the context, the
    /// FLAT composition and what the engine left out.
    public struct MappedInput: Sendable {
        public var templateID: String
        public var context: String
        public var flat: JSONObject
        public var notes: [String]
        /// The references (`Type/id` in a request) whose resources the
        /// composition holds too: a report's results (`MappingOutcome.followed`).
        public var followed: [String] = []
        /// The references the mapping would have followed but the request does not hold.
        public var unresolved: [String] = []
    }

    /// The FHIR resource type a context maps (its start mapping's), nil for bundles.
    static func resourceType(of context: ResolvedContext) -> String? {
        guard let definition = context.start.structureDefinition, let type = definition.split(separator: "/").last.map(String.init),
            type != "Bundle"
        else { return nil }
        return type
    }

    /// The contexts that take a resource of this type, and the first that
    /// maps it: one whose profile the resource claims in `meta.profile`;
    /// else one whose start mapping's preprocessor conditions select
    /// resources (a LOINC code) and hold for it; else one whose profile is
    /// the type's own base definition. A context that would take every
    /// resource of its type without saying so is not used for writes.
    /// `references`: the other resources of the request, by `Type/id`, that a
    /// reference mapping may take into the composition (a report's results).
    public func mapped(_ resource: JSON, references: [String: JSON] = [:]) -> MappedInput? {
        guard let type = resource["resourceType"]?.stringValue else { return nil }
        let claimed = Set(resource["meta"]?["profile"]?.arrayValue?.compactMap(\.stringValue) ?? [])
        let base = "http://hl7.org/fhir/StructureDefinition/" + type
        let candidates = library.contexts.filter { Self.resourceType(of: $0) == type }
        let ordered =
            candidates.filter { $0.context.profileURL.map(claimed.contains) ?? false }
            + candidates.filter { !($0.context.profileURL.map(claimed.contains) ?? false) && !$0.start.preprocessor.fhirConditions.isEmpty }
            + candidates.filter { $0.context.profileURL == base && $0.start.preprocessor.fhirConditions.isEmpty && !claimed.contains(base) }
        for context in ordered {
            guard let ready = prepared.withLock({ $0[context.context.templateID] }),
                let outcome = FHIRToOpenEHR(context: context, template: ready.mappingTemplate).map(resource, references: references)
            else { continue }
            return MappedInput(
                templateID: context.context.templateID, context: context.context.header.name, flat: outcome.flat, notes: outcome.notes,
                followed: outcome.followed, unresolved: outcome.unresolved)
        }
        return nil
    }

    /// Whether a context of this resource type is loaded (a write of it is worth mapping).
    public func mapsType(_ type: String) -> Bool { library.contexts.contains { Self.resourceType(of: $0) == type } }

    // MARK: Nothing lost

    /// The formalism of a FHIR resource kept as a composition's original content.
    public static let fhirFormalism = "application/fhir+json"

    /// The FEEDER_AUDIT that keeps the resource as the client sent it
    /// (RM common §FEEDER_AUDIT: `original_content`, the content as it was
    /// in the feeder system), the FHIR client as its originating system, and
    /// as its `version_id` the composition version the write made (a later
    /// openEHR edit keeps the audit but not the number).
    /// `resource`: the resource, or a collection Bundle of the resource and
    /// those the composition holds with it (a report and its results).
    public static func feederAudit(_ resource: JSON, systemID: String, version: Int) -> JSON {
        .object(JSONObject([
            ("_type", "FEEDER_AUDIT"),
            ("originating_system_audit", .object(JSONObject([
                ("_type", "FEEDER_AUDIT_DETAILS"), ("system_id", .string(systemID)), ("version_id", .string(String(version))),
            ]))),
            ("original_content", .object(JSONObject([
                ("_type", "DV_PARSABLE"), ("value", .string(JSONSerializer.string(resource))), ("formalism", .string(fhirFormalism)),
            ]))),
        ]))
    }

    /// The composition version the FHIR write that left the original content made.
    static func originalVersion(of composition: JSON) -> Int? {
        composition["feeder_audit"]?["originating_system_audit"]?["version_id"]?.stringValue.flatMap { Int($0) }
    }

    /// The resource a composition keeps as its original content, if any
    /// (a Bundle when it holds several).
    static func original(of composition: JSON) -> JSON? {
        let content = composition["feeder_audit"]?["original_content"]
        guard content?["formalism"]?.stringValue == fhirFormalism, let text = content?["value"]?.stringValue else { return nil }
        return try? JSONParser.parse(Array(text.utf8))
    }

    /// The resources a composition keeps as sent: the original, or the entries of an original Bundle.
    static func originals(of composition: JSON) -> [JSON] {
        guard let original = original(of: composition) else { return [] }
        guard original["resourceType"]?.stringValue == "Bundle" else { return [original] }
        return (original["entry"]?.arrayValue ?? []).compactMap { $0["resource"] }
    }

    /// What a composition keeps as sent: the resource alone, or a collection
    /// Bundle of the resource first and those it holds with it.
    public static func originalContent(_ resource: JSON, with held: [JSON]) -> JSON {
        guard !held.isEmpty else { return resource }
        let entries = ([resource] + held).map { JSON.object(JSONObject([("resource", $0)])) }
        return .object(JSONObject([("resourceType", "Bundle"), ("type", "collection"), ("entry", .array(entries))]))
    }

    /// The resource read back: the original with the composition's data
    /// over it. Every element the mapping fills from the composition (the
    /// first step of the FHIR path of a method with an openEHR path) comes
    /// from the composition as it is now, so an openEHR edit shows and a
    /// value removed there is gone; every other element is the client's as
    /// sent (over the mapping's constants: a code's text, `issued`,
    /// `encounter`…), or the mapping's where the client sent none.
    static func combined(mapped: JSON, original: JSON, covered: Set<String>) -> JSON {
        guard case .object(let mappedObject) = mapped, case .object(let originalObject) = original,
            originalObject["resourceType"] == mappedObject["resourceType"]
        else { return mapped }
        var result = mappedObject
        for member in originalObject.members {
            if !covered.contains(member.key) {
                result[member.key] = member.value
            } else if let value = result[member.key] {
                result[member.key] = withoutFilledTerms(value, sent: member.value)
            }
        }
        // The profiles, tags, security labels and source the client gave are kept beside the mapping's.
        if case .object(let sent)? = originalObject["meta"] {
            var meta = mappedObject["meta"]?.objectValue ?? JSONObject()
            for key in ["profile", "tag", "security"] {
                let items = (meta[key]?.arrayValue ?? []) + (sent[key]?.arrayValue ?? []).filter { !(meta[key]?.arrayValue ?? []).contains($0) }
                if !items.isEmpty { meta[key] = .array(items) }
            }
            if meta["source"] == nil, let source = sent["source"] { meta["source"] = source }
            result["meta"] = .object(meta)
        }
        return .object(result)
    }

    /// A covered element without the terms the composition had to fill: a
    /// coding sent without `display` (or a CodeableConcept without `text`)
    /// is stored with its code as DV_CODED_TEXT.value, which is mandatory
    /// (RM data types §DV_TEXT), and read back with the code there; where
    /// the client sent none and the value is still the code, none is shown.
    /// A term an openEHR edit gave differs from the code and is shown.
    static func withoutFilledTerms(_ value: JSON, sent: JSON) -> JSON {
        switch (value, sent) {
        case (.array(let items), .array(let sentItems)) where items.count == sentItems.count:
            return .array(zip(items, sentItems).map { withoutFilledTerms($0, sent: $1) })
        case (.object(var object), .object(let sentObject)):
            for (key, member) in object.members {
                if let sentMember = sentObject[key] { object[key] = withoutFilledTerms(member, sent: sentMember) }
            }
            let code = object["code"]?.stringValue ?? object["coding"]?.arrayValue?.first?["code"]?.stringValue
            for key in ["display", "text"] where sentObject[key] == nil && code != nil && object[key]?.stringValue == code {
                object[key] = nil
            }
            return .object(object)
        default:
            return value
        }
    }

    /// By resource type, the top-level elements a context fills from the
    /// composition (methods with an openEHR path; constants aside): its start
    /// resource's by the start mapping, another type's (a report's results)
    /// by the models of that type.
    static func coveredElements(_ context: ResolvedContext) -> [String: Set<String>] {
        let start = resourceType(of: context)
        var byType: [String: Set<String>] = [:]
        if let start { byType[start] = coveredElements(context.start.methods, type: start) }
        for model in context.models.values {
            guard let type = model.structureDefinition?.split(separator: "/").last.map(String.init), type != start, type != "Bundle" else { continue }
            byType[type, default: []].formUnion(coveredElements(model.methods, type: type))
        }
        return byType
    }

    /// The top-level elements of a resource of `type` that `methods` fill from the composition.
    static func coveredElements(_ methods: [MappingMethod], type: String) -> Set<String> {
        var covered: Set<String> = ["resourceType", "id", "meta"]
        let definition = FHIRSchema.r4.type(type)
        // A relative path is the resource's own only at the top; below, it is its parent method's.
        func visit(_ methods: [MappingMethod], top: Bool) {
            for method in methods {
                if method.openEHR != nil, let path = method.fhir, path.start == .resource || (top && path.start == .relative),
                    case .element(let name)? = path.steps.first
                {
                    // A choice element written as `value` covers each of its typed names; a primitive its `_name` too.
                    let names = definition?.jsonMembers.filter { $0.value.element.name == name }.map(\.key) ?? []
                    for member in [name] + names { covered.formUnion([member, "_" + member]) }
                }
                visit(method.followedBy, top: false)
            }
        }
        visit(methods, top: true)
        return covered
    }
}

extension MappedCompositions {
    /// The FHIR element a composition's node came from: the method of the
    /// context whose openEHR path (from its archetype's root) is the longest
    /// start of `path` (a canonical path, `/content[openEHR-EHR-…]/data[at0002]/…`),
    /// with its FHIR path on the resource type (`Observation.value`); nil
    /// when no method reaches it.
    public func fhirElement(of path: String, context name: String, resourceType: String) -> String? {
        guard let context = library.contexts.first(where: { $0.context.header.name == name }) else { return nil }
        let steps = AQLStep.parse(path)
        guard let root = steps.lastIndex(where: { $0.nodeID?.hasPrefix("openEHR-EHR-") == true }), let archetype = steps[root].nodeID else { return nil }
        let below = Array(steps[(root + 1)...])
        var best: (length: Int, path: FHIRMappingPath)?
        func reaches(_ openEHR: OpenEHRMappingPath) -> Bool {
            guard openEHR.start == .archetype, openEHR.steps.count <= below.count, openEHR.steps.count > (best?.length ?? -1) else { return false }
            for (step, node) in zip(openEHR.steps, below) where step.attribute != node.attribute || (step.nodeID != nil && step.nodeID != node.nodeID) {
                return false
            }
            return true
        }
        func visit(_ methods: [MappingMethod]) {
            for method in methods {
                if let openEHR = method.openEHR, let fhir = method.fhir, fhir.start == .resource, reaches(openEHR) {
                    best = (openEHR.steps.count, fhir)
                }
                visit(method.followedBy)
            }
        }
        for model in context.models.values where model.archetype == archetype { visit(model.methods) }
        guard let best else { return nil }
        return resourceType + best.path.steps.map { step -> String in
            switch step {
            case .element(let element): "." + element
            case .cast(let type): ".as(\(type))"
            case .resolve: ".resolve()"
            }
        }.joined()
    }
}
