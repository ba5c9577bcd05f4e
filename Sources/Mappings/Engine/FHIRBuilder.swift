import FHIR
import JSONCore

/// A FHIR element being built by the openEHR → FHIR direction: its FHIR type
/// (`Observation`, `Observation.component`, `CodeableConcept`, `string`), a
/// primitive's value, and its members in the order they were written. A
/// reference type so that methods and their children write into the same
/// element.
final class FHIRElement {
    let type: String
    var value: JSON?
    /// For a CodeableConcept one of whose codings came from a coded text:
    /// that text, the concept's `text` whatever a constant wrote there.
    var codedText: String?
    private(set) var members: [(key: String, items: [FHIRElement], isArray: Bool)] = []

    init(type: String, value: JSON? = nil) {
        self.type = type
        self.value = value
    }

    var isPrimitive: Bool { JSONMemberKind.isPrimitive(type) }

    /// Takes the members another element of the same type was given (a
    /// value written at a method's own element, `$fhirRoot`).
    func merge(_ other: FHIRElement) {
        for member in other.members {
            for item in member.items { add(item, key: member.key, isArray: member.isArray) }
        }
    }

    /// The items of a member (by JSON key: `valueQuantity`), empty when unwritten.
    func items(_ key: String) -> [FHIRElement] {
        members.first { $0.key == key }?.items ?? []
    }

    /// Appends an item to a member (a list), or sets it (a single element:
    /// the later write overwrites, FHIRconnect §Recurrence, Overwriting).
    func add(_ item: FHIRElement, key: String, isArray: Bool) {
        if let index = members.firstIndex(where: { $0.key == key }) {
            if isArray { members[index].items.append(item) } else { members[index].items = [item] }
        } else {
            members.append((key, [item], isArray))
        }
    }

    /// The element's JSON; nil when nothing was written in it. A list keeps
    /// one of equal items (a condition and a manual mapping that write the
    /// same coding make one coding), but for a bundle's entries and contained
    /// resources: equal resources are each an event's (three equal heights
    /// recorded at three events are three Observations).
    func json(resourceType: Bool = false) -> JSON? {
        if isPrimitive { return value }
        var object = JSONObject()
        if resourceType { object["resourceType"] = .string(type) }
        for member in members {
            let values = member.items.compactMap { $0.json(resourceType: JSONMemberKind.isResource($0.type)) }
            if member.isArray, member.key == "entry" || member.key == "contained" {
                if !values.isEmpty { object[member.key] = .array(values) }
            } else if member.isArray {
                var unique: [JSON] = []
                for value in values where !unique.contains(value) { unique.append(value) }
                if !unique.isEmpty { object[member.key] = .array(unique) }
            } else if let value = values.last {
                object[member.key] = value
            }
        }
        // The coded text's over a constant's (written at the end, leaving the element as built).
        if let codedText { object["text"] = .string(codedText) }
        // An extension needs a value or extensions (R4 ext-1): a url alone says nothing.
        if type == "Extension", !object.members.contains(where: { $0.key == "extension" || $0.key.hasPrefix("value") }) { return nil }
        return object.members.count > (resourceType ? 1 : 0) ? .object(object) : nil
    }
}

/// What the FHIR schema says of types, for building.
enum JSONMemberKind {
    /// A FHIR primitive, or the FHIRPath system type of an `id` or an extension's `url`.
    static func isPrimitive(_ type: String) -> Bool { FHIRSchema.r4.primitiveTypes.contains(type) || type.hasPrefix("System.") }
    static func isResource(_ type: String) -> Bool { FHIRSchema.r4.isResourceType(type) }

    /// The element `name` of `type`; nil when the type has none.
    static func element(_ name: String, of type: String) -> ElementDefinition? {
        FHIRSchema.r4.type(type)?.elementsByName[name]
    }

    /// The FHIR type an element holds when nothing chooses another: the
    /// first declared (a backbone element's own, `Observation.component`).
    static func contentType(_ element: ElementDefinition) -> String {
        element.types.first ?? "Element"
    }

    /// The JSON key of an element holding `type` (`valueQuantity` for a choice).
    static func key(_ element: ElementDefinition, type: String) -> String {
        element.choiceKeys.first { $0.type == type }?.key ?? element.name
    }
}
