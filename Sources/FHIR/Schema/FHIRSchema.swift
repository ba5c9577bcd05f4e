import JSONCore

/// One element of a FHIR type (ElementDefinition of the R4 snapshot, the
/// parts Socle uses): its name (without `[x]`), cardinality, the types it may
/// hold, its binding and its invariants.
public final class ElementDefinition: Sendable {
    public let name: String
    public let min: Int
    /// nil when unbounded (`*`).
    public let max: Int?
    public let types: [String]
    public let isChoice: Bool
    public let bindingStrength: String
    public let valueSet: String
    public let constraints: [Invariant]
    /// Resource types a Reference may point to (empty: any).
    public let targetTypes: [String]
    /// The type that declares this element (`Observation`, `Observation.component`).
    public let owner: String

    public let isArray: Bool
    /// Part of the resource's summary (`_summary=true`, R4 search §Summary).
    public let isSummary: Bool
    /// Whether the element holds a primitive (and so may have a `_name` companion).
    public let isPrimitiveValued: Bool
    /// `_name`, the JSON member of a primitive's id and extensions.
    let extensionKey: String
    /// The bound value set's URL without its `|version`.
    let valueSetURL: String
    /// For a choice: each JSON member name with its `_` form and its type
    /// (`valueQuantity`, `_valueQuantity`, Quantity).
    public let choiceKeys: [(key: String, extensionKey: String, type: String)]

    init(owner: String, name: String, min: Int, max: Int?, types: [String], isChoice: Bool, bindingStrength: String,
         valueSet: String, constraints: [Invariant], targetTypes: [String], isSummary: Bool = false) {
        self.owner = owner
        self.isSummary = isSummary
        self.name = name
        self.min = min
        self.max = max
        self.types = types
        self.isChoice = isChoice
        self.bindingStrength = bindingStrength
        self.valueSet = valueSet
        self.constraints = constraints
        self.targetTypes = targetTypes
        isArray = max.map { $0 > 1 } ?? true
        isPrimitiveValued = types.count == 1 && JSONMember.isPrimitiveType(types[0])
        extensionKey = "_" + name
        valueSetURL = valueSet.utf8.firstIndex(of: UInt8(ascii: "|")).map { String(valueSet[..<$0]) } ?? valueSet
        choiceKeys = isChoice ? types.map { type in
            let key = name + type.prefix(1).uppercased() + type.dropFirst()
            return (key, "_" + key, type)
        } : []
    }
}

/// An invariant (`ElementDefinition.constraint`) with its FHIRPath expression.
public struct Invariant: Sendable {
    public let key: String
    public let severity: String
    public let expression: String
    public let human: String
    /// The expression parsed once, when the definitions are read (nil with
    /// `parseError` when it does not parse): validation evaluates it for
    /// every element, on every core, without a shared cache in between.
    let parsed: FHIRPathExpression?
    let parseError: String?
    /// The rule, or the cases where it is decided at once, written in
    /// Swift for the invariants checked on nearly every element or resource
    /// (their FHIRPath built nodes for every child, or for every descendant
    /// of the resource in dom-3): true or false when decided, nil to
    /// evaluate the FHIRPath.
    let native: (@Sendable (JSON) -> Bool?)?
    /// Every `reference` string under `value`.
    static func collectReferences(_ value: JSON, into found: inout Set<String>) {
        switch value {
        case .object(let object):
            for member in object.members {
                if member.key == "reference", let text = member.value.stringValue { found.insert(text) } else { collectReferences(member.value, into: &found) }
            }
        case .array(let items): for item in items { collectReferences(item, into: &found) }
        default: return
        }
    }

    /// Whether the rule is (partly) decided in Swift (`native`).
    public var hasSwiftRule: Bool { native != nil }

    static let nativeRules: [String: @Sendable (JSON) -> Bool?] = {
        // dom-2..dom-5 are all about contained resources: without any, they hold.
        let aboutContained: @Sendable (JSON) -> Bool? = { value in value["contained"] == nil ? true : nil }
        return [
            // ele-1: a primitive has its value; an object has a child besides id.
            "hasValue() or (children().count() > id.count())": { value in
                guard case .object(let object) = value else { return value != .null }
                return object.members.contains { $0.key != "id" }
            },
            // ext-1: extensions or a value[x], not both.
            "extension.exists() != value.exists()": { value in
                guard case .object(let object) = value else { return true }
                let hasExtension = object["extension"].map { $0.arrayValue?.isEmpty == false || $0.arrayValue == nil } ?? false
                let hasValue = object.members.contains { $0.key.hasPrefix("value") && $0.key.count > 5 && $0.key.dropFirst(5).first?.isUppercase == true }
                return hasExtension != hasValue
            },
            // ref-1: only a local reference (`#id`) must name a contained resource.
            "reference.startsWith('#').not() or (reference.substring(1).trace('url') in %rootResource.contained.id.trace('ids'))": { value in
                value["reference"]?.stringValue?.hasPrefix("#") == true ? nil : true
            },
            // per-1: start <= end only matters when both are there; written
            // alike (same length, same offset) they compare as text.
            "start.hasValue().not() or end.hasValue().not() or (start <= end)": { value in
                guard let start = value["start"]?.stringValue, let end = value["end"]?.stringValue else { return true }
                guard start.utf8.count == end.utf8.count, start.utf8.count >= 20, start.suffix(6) == end.suffix(6) || (start.hasSuffix("Z") && end.hasSuffix("Z"))
                else { return nil }
                return start <= end
            },
            "contained.contained.empty()": aboutContained,
            "contained.meta.versionId.empty() and contained.meta.lastUpdated.empty()": aboutContained,
            "contained.meta.security.empty()": aboutContained,
            // dom-3: each contained resource is referred to; when a
            // `reference` of the resource names it, it is (the FHIRPath decides the rest).
            "contained.where((('#'+id in (%resource.descendants().reference | %resource.descendants().as(canonical) | %resource.descendants().as(uri) | %resource.descendants().as(url))) or descendants().where(reference = '#').exists() or descendants().where(as(canonical) = '#').exists() or descendants().where(as(canonical) = '#').exists()).not()).trace('unmatched', id).empty()": { value in
                guard let contained = value["contained"]?.arrayValue, !contained.isEmpty else { return true }
                var references: Set<String> = []
                collectReferences(value, into: &references)
                return contained.allSatisfy { item in item["id"]?.stringValue.map { references.contains("#" + $0) } ?? false } ? true : nil
            },
        ]
    }()

    init(key: String, severity: String, expression: String, human: String) {
        self.key = key
        self.severity = severity
        self.expression = expression
        self.human = human
        native = Self.nativeRules[expression]
        do {
            parsed = expression.isEmpty ? nil : try FHIRPathParser.parse(expression)
            parseError = nil
        } catch {
            parsed = nil
            parseError = "\(error)"
        }
    }
}

/// A FHIR type: resource, complex or primitive data type, or a backbone
/// element named by its path (`Observation.component`).
public final class TypeDefinition: Sendable {
    public enum Kind: String, Sendable { case resource, complexType = "complex-type", primitiveType = "primitive-type", backbone }

    public let name: String
    public let kind: Kind
    public let base: String
    public let isAbstract: Bool
    public let constraints: [Invariant]
    public let elements: [ElementDefinition]
    /// JSON member name → element and the concrete type it carries
    /// (`valueQuantity` → value, Quantity).
    public let jsonMembers: [String: JSONMember]
    public let elementsByName: [String: ElementDefinition]

    init(name: String, kind: Kind, base: String, isAbstract: Bool, constraints: [Invariant], elements: [ElementDefinition]) {
        self.name = name
        self.kind = kind
        self.base = base
        self.isAbstract = isAbstract
        self.constraints = constraints
        self.elements = elements
        var members: [String: JSONMember] = [:]
        var byName: [String: ElementDefinition] = [:]
        for element in elements {
            byName[element.name] = element
            if element.isChoice {
                for type in element.types {
                    members[element.name + type.prefix(1).uppercased() + type.dropFirst()] = JSONMember(element: element, type: type)
                }
            } else {
                members[element.name] = JSONMember(element: element, type: element.types.first ?? "")
            }
        }
        jsonMembers = members
        elementsByName = byName
    }
}

/// What a JSON member name stands for in a type: the element and the
/// concrete type it carries (`valueQuantity` → value, Quantity).
public struct JSONMember: Sendable {
    public let element: ElementDefinition
    public let type: String
    /// Whether the type is a primitive (a JSON scalar with an optional `_name`).
    public let isPrimitive: Bool

    init(element: ElementDefinition, type: String) {
        self.element = element
        self.type = type
        isPrimitive = Self.isPrimitiveType(type)
    }

    /// FHIR primitive type names start with a lower-case ASCII letter (`string`,
    /// `dateTime`); FHIRPath's own are `System.…`.
    static func isPrimitiveType(_ type: String) -> Bool {
        guard let first = type.utf8.first else { return false }
        return (first >= UInt8(ascii: "a") && first <= UInt8(ascii: "z")) || type.hasPrefix("System.")
    }
}

/// A search parameter of R4 (search-parameters.json).
public struct SearchParameterDefinition: Sendable {
    public enum ParameterType: String, Sendable { case number, date, string, token, reference, composite, quantity, uri, special }
    public let code: String
    public let type: ParameterType
    public let base: [String]
    public let expression: String
    public let targets: [String]
    /// Component definition URLs and their expressions (composite parameters).
    public let components: [(definition: String, expression: String)]
    public let url: String
}

/// The FHIR R4 4.0.1 definitions Socle carries (generated from the official
/// StructureDefinitions, value sets, search parameters and compartments by
/// scripts/generate_fhir_schema.py), read once on first use.
public final class FHIRSchema: Sendable {
    public static let r4 = FHIRSchema()

    public let types: [String: TypeDefinition]
    /// Codes (`system|code`) of the value sets bound with strength required
    /// that expand from the code systems in the definitions.
    public let valueSets: [String: Set<String>]
    public let searchParameters: [SearchParameterDefinition]
    /// Compartment type → resource type → the search parameters that link it.
    public let compartments: [String: [String: [String]]]
    public let primitiveTypes: Set<String>

    private init() {
        let text = FHIRSchemaData.chunks.joined()
        guard case .object(let root)? = try? JSONParser.parse(text) else { preconditionFailure("the generated FHIR schema is not JSON") }
        var invariants: [Invariant] = []
        for case .array(let item) in root["constraints"]?.arrayValue ?? [] {
            invariants.append(Invariant(
                key: item[0].stringValue ?? "", severity: item[1].stringValue ?? "", expression: item[2].stringValue ?? "",
                human: item[3].stringValue ?? ""))
        }
        func references(_ value: JSON?) -> [Invariant] {
            (value?.arrayValue ?? []).compactMap { $0.intValue.map { invariants[$0] } }
        }
        var types: [String: TypeDefinition] = [:]
        var primitives: Set<String> = []
        for case .object(let type) in root["types"]?.arrayValue ?? [] {
            let name = type["name"]?.stringValue ?? ""
            var elements: [ElementDefinition] = []
            for case .array(let item) in type["elements"]?.arrayValue ?? [] {
                elements.append(ElementDefinition(
                    owner: name, name: item[0].stringValue ?? "", min: item[1].intValue ?? 0,
                    max: (item[2].intValue ?? -1) < 0 ? nil : item[2].intValue,
                    types: item[3].arrayValue?.compactMap(\.stringValue) ?? [], isChoice: item[4].intValue == 1,
                    bindingStrength: item[5].stringValue ?? "", valueSet: item[6].stringValue ?? "",
                    constraints: references(item[7]), targetTypes: item[8].arrayValue?.compactMap(\.stringValue) ?? [],
                    isSummary: item.count > 9 && item[9].intValue == 1))
            }
            let kind = TypeDefinition.Kind(rawValue: type["kind"]?.stringValue ?? "") ?? .complexType
            if kind == .primitiveType { primitives.insert(name) }
            types[name] = TypeDefinition(
                name: name, kind: kind, base: type["base"]?.stringValue ?? "", isAbstract: type["abstract"]?.boolValue ?? false,
                constraints: references(type["constraints"]), elements: elements)
        }
        self.types = types
        primitiveTypes = primitives
        var valueSets: [String: Set<String>] = [:]
        for member in root["valueSets"]?.objectValue?.members ?? [] {
            valueSets[member.key] = Set(member.value.arrayValue?.compactMap(\.stringValue) ?? [])
        }
        self.valueSets = valueSets
        searchParameters = (root["searchParameters"]?.arrayValue ?? []).compactMap { entry in
            guard case .array(let item) = entry, let type = SearchParameterDefinition.ParameterType(rawValue: item[1].stringValue ?? "")
            else { return nil }
            return SearchParameterDefinition(
                code: item[0].stringValue ?? "", type: type, base: item[2].arrayValue?.compactMap(\.stringValue) ?? [],
                expression: item[3].stringValue ?? "", targets: item[4].arrayValue?.compactMap(\.stringValue) ?? [],
                components: (item[5].arrayValue ?? []).compactMap {
                    guard case .array(let pair) = $0 else { return nil }
                    return (pair[0].stringValue ?? "", pair[1].stringValue ?? "")
                },
                url: item[6].stringValue ?? "")
        }
        var compartments: [String: [String: [String]]] = [:]
        for compartment in root["compartments"]?.objectValue?.members ?? [] {
            var byType: [String: [String]] = [:]
            for member in compartment.value.objectValue?.members ?? [] {
                byType[member.key] = member.value.arrayValue?.compactMap(\.stringValue) ?? []
            }
            compartments[compartment.key] = byType
        }
        self.compartments = compartments
        var ancestry: [String: Set<String>] = [:]
        for name in types.keys {
            var ancestors: Set<String> = []
            var current = types[name]?.base ?? ""
            while !current.isEmpty, ancestors.insert(current).inserted {
                current = types[current]?.base ?? ""
            }
            ancestry[name] = ancestors
        }
        self.ancestry = ancestry
    }

    public func type(_ name: String) -> TypeDefinition? { types[name] }

    public func isResourceType(_ name: String) -> Bool { types[name]?.kind == .resource }

    /// Whether `name` is `ancestor` or derives from it (Age → Quantity,
    /// Patient → DomainResource → Resource).
    public func isType(_ name: String, a ancestor: String) -> Bool {
        name == ancestor || (ancestry[name]?.contains(ancestor) ?? false)
    }

    /// Every type's ancestors (Patient: DomainResource, Resource), computed once.
    private let ancestry: [String: Set<String>]

    /// The search parameters that apply to a resource type (its own and
    /// those declared on Resource and DomainResource).
    public func searchParameters(for resourceType: String) -> [SearchParameterDefinition] {
        FHIRSchema.indexCache[resourceType] ?? []
    }

    /// The search parameter with this canonical URL (a composite's components name theirs).
    public func searchParameter(url: String) -> SearchParameterDefinition? {
        FHIRSchema.byURL[url]
    }

    private static let byURL: [String: SearchParameterDefinition] = Dictionary(
        FHIRSchema.r4.searchParameters.map { ($0.url, $0) }, uniquingKeysWith: { first, _ in first })

    private static let indexCache: [String: [SearchParameterDefinition]] = {
        var index: [String: [SearchParameterDefinition]] = [:]
        let schema = FHIRSchema.r4
        for parameter in schema.searchParameters {
            for base in parameter.base {
                if base == "Resource" || base == "DomainResource" {
                    for (name, type) in schema.types where type.kind == .resource && !type.isAbstract
                        && schema.isType(name, a: base) {
                        index[name, default: []].append(parameter)
                    }
                } else {
                    index[base, default: []].append(parameter)
                }
            }
        }
        return index
    }()
}

extension JSON {
    var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }
}
